"""`mmpipe search`: ask the search function, on a deployment or in a local run's folder, and
print the hits.

Both ways invoke the deployed function the same way an application does (Lambda Invoke with a
`SearchRequest`, IAM-authorized): `--stack` finds it from the stack's outputs, `--local` runs
it in the local emulation over the index the run saved in its folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline_contracts.search import ImageFormat, SearchHit, SearchRequest, SearchResponse


class SearchFailed(RuntimeError):
    """The search function answered with an error."""


def invoke_search(lambda_client: Any, function_name: str, request: SearchRequest) -> SearchResponse:
    answer = lambda_client.invoke(
        FunctionName=function_name,
        InvocationType="RequestResponse",
        Payload=request.model_dump_json(exclude_none=True).encode(),
    )
    payload = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError"):
        error = payload.get("errorType", "Error") if isinstance(payload, dict) else "Error"
        message = payload.get("errorMessage", "") if isinstance(payload, dict) else payload
        raise SearchFailed(f"{error}: {message}")
    return SearchResponse.model_validate(payload)


def stack_search_function(cloudformation: Any, stack_name: str) -> str:
    """The search function's name, from the stack's `SearchFunctionName` output."""
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    for output in stacks[0].get("Outputs", []):
        if output.get("OutputKey") == "SearchFunctionName":
            return str(output["OutputValue"])
    raise SearchFailed(f"stack {stack_name} has no SearchFunctionName output (redeploy it)")


def local_record(out_dir: Path, item_id: str) -> Path | None:
    """Where a local run saved the item's record (results/<item>.json), if it did."""
    path = out_dir / "results" / f"{item_id}.json"
    return path if path.is_file() else None


def where(hit: SearchHit) -> str:
    if hit.start_s is not None and hit.end_s is not None:
        return f"{_clock(hit.start_s)}-{_clock(hit.end_s)}"
    if hit.page is not None:
        return f"page {hit.page}"
    if hit.chunk is not None:
        return f"chunk {hit.chunk}"
    return ""


def _clock(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def hits_as_json(response: SearchResponse, out_dir: Path | None = None) -> list[dict[str, Any]]:
    """The hits, each with a `record` path when a local run's folder holds the item's record."""
    hits = []
    for hit in response.hits:
        entry = hit.model_dump(mode="json")
        if out_dir is not None:
            record = local_record(out_dir, hit.item_id)
            entry["record"] = str(record) if record else None
        hits.append(entry)
    return hits


def run_search(args: Any, console: Any) -> int:
    """`mmpipe search`: 0 with hits or none, 2 for a bad request, 3 when the search failed."""
    import base64  # noqa: PLC0415

    from pydantic import ValidationError  # noqa: PLC0415

    image_format = None
    image_b64 = None
    if args.image is not None:
        if not args.image.is_file():
            console.print(f"[red]no such file: {args.image}[/]")
            return 2
        image = args.image.read_bytes()
        image_format = _image_format(image)
        if image_format is None:
            console.print("[red]--image takes a PNG, JPEG, GIF or WebP file[/]")
            return 2
        image_b64 = base64.b64encode(image).decode("ascii")
    try:
        request = SearchRequest(
            query=args.query,
            image_base64=image_b64,
            image_format=image_format,
            modalities=args.modality or [],
            item_id=args.item,
            top_k=args.top,
        )
    except ValidationError as error:
        console.print(f"[red]{error.errors()[0]['msg']}[/]")
        return 2
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        response = _local(args.local, request) if args.local else _deployed(args, request)
    except (SearchFailed, RuntimeError, BotoCoreError, ClientError, ValidationError) as error:
        console.print(f"[red]search failed: {error}[/]")
        return 3
    if args.json:
        print(json.dumps(hits_as_json(response, args.local), indent=2, ensure_ascii=False))
        return 0
    console.print(_table(response, args.local))
    return 0


def _local(out_dir: Path, request: SearchRequest) -> SearchResponse:
    import logging  # noqa: PLC0415

    from mmpipe.local.run.runner import LocalRun  # noqa: PLC0415
    from mmpipe.local.synth import synthesized  # noqa: PLC0415

    if not (out_dir / "search").is_dir():
        raise SearchFailed(f"{out_dir} holds no search index: run `mmpipe local run` into it")
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    cdk_out, _ = synthesized()
    return LocalRun(cdk_out, out_dir, providers="local").search(request)


def _deployed(args: Any, request: SearchRequest) -> SearchResponse:
    import boto3  # noqa: PLC0415

    session = boto3.session.Session(region_name=args.region)
    function = stack_search_function(session.client("cloudformation"), args.stack)
    return invoke_search(session.client("lambda"), function, request)


def _image_format(data: bytes) -> ImageFormat | None:
    """The image's format as the intake gate sniffs it (libmagic), if the model takes it."""
    from pipeline.domain.sniffing import SNIFF_BYTES, sniff  # noqa: PLC0415

    sniffed = sniff(data[:SNIFF_BYTES], truncated=len(data) > SNIFF_BYTES)
    formats: dict[str, ImageFormat] = {"png": "png", "jpeg": "jpeg", "gif": "gif", "webp": "webp"}
    return formats.get(sniffed.media_format) if sniffed.modality == "image" else None


def _table(response: SearchResponse, out_dir: Path | None) -> Any:
    from rich.table import Table  # noqa: PLC0415

    table = Table(
        title=f"{len(response.hits)} hit(s) · {response.model_id} ({response.dimension} dims) · "
        f"embed {response.embed_ms:.0f} ms, query {response.query_ms:.0f} ms"
    )
    for column in ("score", "item", "asset", "modality", "where", "snippet", "record"):
        table.add_column(column, overflow="fold")
    for hit in response.hits:
        record = local_record(out_dir, hit.item_id) if out_dir else None
        table.add_row(
            f"{hit.score:.3f}",
            hit.item_id,
            hit.asset_id,
            hit.modality,
            where(hit),
            hit.snippet[:160],
            str(record) if record else hit.result_uri,
        )
    return table
