"""`mmpipe cost`: what items cost, per kind, beside Bedrock Data Automation's prices.

Reads the `cost` of each ItemResult: from a local run's folder (`mmpipe cost DIR`), or from a
deployment's results through Athena (`mmpipe cost --stack NAME [--since DATE]`, the Glue
database and table named by the stack's outputs). An item's kind is its one asset's modality
(image, audio, video, text, document) or "bundle". Beside each kind: what Bedrock Data
Automation's standard output would charge for the same items (per image, audio minute, video
minute, document page), the anchors the pipeline is measured against.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline_contracts.records import ItemResult

# Bedrock Data Automation, standard output: USD per unit (the anchors).
BDA_ANCHORS: dict[str, tuple[str, float]] = {
    "image": ("image", 0.003),
    "audio": ("audio minute", 0.006),
    "video": ("video minute", 0.05),
    "document": ("document page", 0.01),
}
KIND_ORDER = ("image", "text", "document", "audio", "video", "bundle")


@dataclass(frozen=True)
class CostRow:
    """One item's cost and what the anchors price it by."""

    item_id: str
    kind: str
    total: float
    ai: float
    orchestration: float
    images: int = 0
    audio_s: float = 0.0
    video_s: float = 0.0
    documents: int = 0
    prices_as_of: str | None = None

    @property
    def bda_usd(self) -> float:
        """What BDA's standard output would charge for the same assets (a document counted
        as one page: the record does not know its pages)."""
        return (
            self.images * BDA_ANCHORS["image"][1]
            + self.audio_s / 60 * BDA_ANCHORS["audio"][1]
            + self.video_s / 60 * BDA_ANCHORS["video"][1]
            + self.documents * BDA_ANCHORS["document"][1]
        )

    @property
    def has_anchor(self) -> bool:
        return bool(self.images or self.audio_s or self.video_s or self.documents)


@dataclass(frozen=True)
class KindSummary:
    kind: str
    items: int
    total_usd: float
    mean_usd: float
    ai_usd: float
    orchestration_usd: float
    orchestration_share: float
    audio_minutes: float
    video_minutes: float
    # For the same items with an anchor: BDA's standard output, and ours.
    bda_usd: float | None
    ours_where_bda_prices: float | None


def summarize(rows: Iterable[CostRow]) -> list[KindSummary]:
    """Per kind (in KIND_ORDER, others after), then "all"."""
    by_kind: dict[str, list[CostRow]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row)
    order = sorted(by_kind, key=lambda k: (KIND_ORDER.index(k) if k in KIND_ORDER else 99, k))
    summaries = [_summary(kind, by_kind[kind]) for kind in order]
    everything = [row for kind in order for row in by_kind[kind]]
    if everything:
        summaries.append(_summary("all", everything))
    return summaries


def _summary(kind: str, rows: list[CostRow]) -> KindSummary:
    total = sum(r.total for r in rows)
    orchestration = sum(r.orchestration for r in rows)
    anchored = [r for r in rows if r.has_anchor]
    return KindSummary(
        kind=kind,
        items=len(rows),
        total_usd=total,
        mean_usd=total / len(rows),
        ai_usd=sum(r.ai for r in rows),
        orchestration_usd=orchestration,
        orchestration_share=orchestration / total if total else 0.0,
        audio_minutes=sum(r.audio_s for r in rows) / 60,
        video_minutes=sum(r.video_s for r in rows) / 60,
        bda_usd=sum(r.bda_usd for r in anchored) if anchored else None,
        ours_where_bda_prices=sum(r.total for r in anchored) if anchored else None,
    )


# --------------------------------------------------------------------------- a local run


def row_of(result: ItemResult) -> CostRow | None:
    if result.cost is None:
        return None
    modalities: list[str] = [asset.modality for asset in result.assets]
    durations = dict.fromkeys(("audio", "video"), 0.0)
    for asset in result.assets:
        if asset.modality in durations:
            durations[asset.modality] += asset.duration_s or 0.0
    return CostRow(
        item_id=result.item_id,
        kind=_kind(result.kind, modalities),
        total=result.cost.total,
        ai=result.cost.ai,
        orchestration=result.cost.orchestration,
        images=modalities.count("image"),
        audio_s=durations["audio"],
        video_s=durations["video"],
        documents=modalities.count("document"),
        prices_as_of=result.cost.prices_as_of,
    )


def _kind(item_kind: str, modalities: list[str]) -> str:
    if item_kind == "bundle" or len(modalities) != 1:
        return "bundle"
    return modalities[0]


def rows_from_dir(folder: Path) -> tuple[list[CostRow], int]:
    """The rows of every ItemResult under `folder` (a run's `--out`, or its results/), and
    how many results carry no cost."""
    root = folder / "results" if (folder / "results").is_dir() else folder
    rows: list[CostRow] = []
    without_cost = 0
    for path in sorted(root.rglob("*.json")):
        try:
            result = ItemResult.model_validate_json(path.read_bytes())
        except (ValidationError, ValueError):
            continue  # not a result record (quarantine, failure, history...)
        row = row_of(result)
        if row is None:
            without_cost += 1
        else:
            rows.append(row)
    return rows, without_cost


# --------------------------------------------------------------------------- a deployment


class AthenaQueryFailed(Exception):
    pass


@dataclass(frozen=True)
class StackResults:
    database: str
    table: str
    processed_bucket: str


def stack_results(cloudformation: Any, stack: str) -> StackResults:
    """The Glue database and table (and the processed bucket) a stack's outputs name."""
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    missing = [
        key
        for key in ("ResultsDatabaseName", "ResultsTableName", "ProcessedBucketName")
        if key not in outputs
    ]
    if missing:
        raise KeyError(f"stack {stack} has no output {', '.join(missing)} (deploy it again)")
    return StackResults(
        outputs["ResultsDatabaseName"], outputs["ResultsTableName"], outputs["ProcessedBucketName"]
    )


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def cost_query(database: str, table: str, since: dt.date | None) -> str:
    """One row per item with a cost: its kind, what the anchors price, its cost."""

    def seconds(modality: str) -> str:
        return (
            f"reduce(filter(assets, a -> a.modality = '{modality}'), CAST(0 AS DOUBLE), "
            "(s, a) -> s + coalesce(a.duration_s, 0), s -> s)"
        )

    where = "cost IS NOT NULL"
    if since is not None:
        where += f" AND dt >= '{since.isoformat()}'"
    return (
        "SELECT item_id, kind, "
        "CASE WHEN kind = 'bundle' OR cardinality(assets) <> 1 THEN 'bundle' "
        "ELSE element_at(transform(assets, a -> a.modality), 1) END AS cost_kind, "
        "cost.total AS total, cost.ai AS ai, cost.orchestration AS orchestration, "
        "cardinality(filter(assets, a -> a.modality = 'image')) AS images, "
        f"{seconds('audio')} AS audio_s, {seconds('video')} AS video_s, "
        "cardinality(filter(assets, a -> a.modality = 'document')) AS documents, "
        "cost.prices_as_of AS prices_as_of "
        f"FROM {_quoted(database)}.{_quoted(table)} WHERE {where}"
    )


def rows_from_athena(
    athena: Any,
    cloudformation: Any,
    stack: str,
    since: dt.date | None = None,
    *,
    workgroup: str = "primary",
    output_location: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    timeout_s: float = 300.0,
) -> list[CostRow]:
    names = stack_results(cloudformation, stack)
    location = output_location or f"s3://{names.processed_bucket}/athena-results/"
    started = athena.start_query_execution(
        QueryString=cost_query(names.database, names.table, since),
        QueryExecutionContext={"Database": names.database},
        WorkGroup=workgroup,
        ResultConfiguration={"OutputLocation": location},
    )
    query_id = started["QueryExecutionId"]
    _wait(athena, query_id, sleep, timeout_s)
    return [_row(values) for values in _result_rows(athena, query_id)]


def _wait(athena: Any, query_id: str, sleep: Callable[[float], None], timeout_s: float) -> None:
    waited, delay = 0.0, 0.5
    while True:
        status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        state = status["State"]
        if state == "SUCCEEDED":
            return
        if state in ("FAILED", "CANCELLED"):
            reason = status.get("StateChangeReason", "")
            raise AthenaQueryFailed(f"the Athena query {query_id} {state.lower()}: {reason}")
        if waited >= timeout_s:
            raise AthenaQueryFailed(f"the Athena query {query_id} is still {state} after {waited}s")
        sleep(delay)
        waited += delay
        delay = min(delay * 2, 5.0)


def _result_rows(athena: Any, query_id: str) -> Iterator[dict[str, str | None]]:
    header: list[str] | None = None
    token: str | None = None
    while True:
        page = athena.get_query_results(
            QueryExecutionId=query_id, **({"NextToken": token} if token else {})
        )
        for row in page["ResultSet"]["Rows"]:
            values = [cell.get("VarCharValue") for cell in row["Data"]]
            if header is None:
                header = [str(v) for v in values]
                continue
            yield dict(zip(header, values, strict=False))
        token = page.get("NextToken")
        if not token:
            return


def _row(values: dict[str, str | None]) -> CostRow:
    def number(name: str) -> float:
        return float(values.get(name) or 0)

    return CostRow(
        item_id=str(values.get("item_id")),
        kind=str(values.get("cost_kind") or "bundle"),
        total=number("total"),
        ai=number("ai"),
        orchestration=number("orchestration"),
        images=int(number("images")),
        audio_s=number("audio_s"),
        video_s=number("video_s"),
        documents=int(number("documents")),
        prices_as_of=values.get("prices_as_of"),
    )


# --------------------------------------------------------------------------- output


def report(rows: list[CostRow], without_cost: int = 0) -> dict[str, Any]:
    return {
        "kinds": [asdict(summary) for summary in summarize(rows)],
        "anchors": {kind: {"per": unit, "usd": usd} for kind, (unit, usd) in BDA_ANCHORS.items()},
        "prices_as_of": sorted({r.prices_as_of for r in rows if r.prices_as_of}),
        "items_without_cost": without_cost,
    }


def as_json(rows: list[CostRow], without_cost: int = 0) -> str:
    return json.dumps(report(rows, without_cost), indent=2)


def usd(value: float | None) -> str:
    if value is None:
        return "-"
    return f"${value:.6f}" if value < 0.01 else f"${value:.4f}"
