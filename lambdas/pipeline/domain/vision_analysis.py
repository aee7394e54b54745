"""Ask the model about one prepared asset, for JSON matching `VisionAnalysis`.

The model is chosen by modality (`config.models.for_modality`). Text from files (the asset's
own text, companion descriptions, captions, transcripts) goes into the prompt only as
delimited untrusted data. Long text is analysed chunk by chunk (at most `MAX_CHUNK_CALLS`
chunks, spread evenly over the text), then one more call merges the partial answers.

Each request gets its own `DataFence` (random markers); what the fence's heuristic finds in
the data is stored as `injection_signals`. The answer is asked for through the forced answer
tool where the model supports it.

The raw reply is stored at `{work_prefix}model/{asset_id}.json`; the state carries only a
small `AnalysisRef`. Validation is the vision gate's job, not this one's. The prompts
themselves are written in `vision_prompt`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Literal, cast

from pipeline.adapters.model import (
    ContentBlock,
    DocumentBlock,
    ImageBlock,
    ModelClient,
    ModelReply,
    ModelRequest,
    TextBlock,
    VideoBlock,
)
from pipeline.adapters.storage import ObjectStore, parse_s3_uri, put_json, read_json
from pipeline.config import PipelineConfig
from pipeline.domain.data_fence import DataFence
from pipeline.domain.plans import load_asset
from pipeline.domain.structured_output import Answer, answer_shape
from pipeline.domain.vision_prompt import chunk_prompt, media_prompt, merge_prompt, system_prompt
from pipeline.errors import MediaNotPreparable
from pipeline.observability import logger
from pipeline_contracts.item import Asset
from pipeline_contracts.naming import WorkFiles
from pipeline_contracts.states.analyze_with_bedrock import AnalysisRef, AnalyzeWithBedrockInput
from pipeline_contracts.states.prepare_media_for_the_model import PreparedMedia
from pipeline_contracts.work.vision import (
    Companions,
    CompanionText,
    RawAnalysis,
    TextChunk,
    TextChunks,
    VisionAnalysis,
)

MAX_CHUNK_CALLS = 6
_VIDEO_FORMATS = {"mp4": "mp4", "mov": "mov", "mkv": "mkv", "webm": "webm"}
_DOCUMENT_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9()\[\]-]+")


def analyze_media(
    request: AnalyzeWithBedrockInput,
    store: ObjectStore,
    model: ModelClient,
    config: PipelineConfig,
    processed_bucket: str,
) -> AnalysisRef:
    _, asset = load_asset(store, request.plan_uri, request.asset_id)
    prepared = request.prepared
    model_id = config.models.for_modality(asset.modality)
    max_tokens = config.models.max_output_tokens
    companions = _load_companions(store, prepared)
    task = f"describe one {asset.modality} asset as JSON matching the VisionAnalysis schema"
    replies: list[ModelReply] = []
    fences: list[DataFence] = []

    def ask(media: list[ContentBlock], prompt: Callable[[DataFence], str]) -> ModelReply:
        # A fresh fence per request: its markers appear in this request's prompts only.
        fence = DataFence()
        fences.append(fence)
        content = [*media, TextBlock(text=prompt(fence))]
        return model.converse(
            ModelRequest(
                model_id=model_id,
                system=system_prompt(request.profile, asset.modality, companions, fence, model_id),
                max_tokens=max_tokens,
                content=content,
                **answer_shape(VisionAnalysis),
            )
        )

    chunk_replies: list[str] = []
    chunk_count = chunks_analyzed = 0
    if prepared.kind == "text":
        body = TextChunks.model_validate(read_json(store, prepared.input_uri))
        chunk_count = len(body.chunks)
        chosen = spread(body.chunks, MAX_CHUNK_CALLS)
        chunks_analyzed = len(chosen)
        for chunk in chosen:
            replies.append(ask([], partial(chunk_prompt, chunk, chunk_count, asset.path)))
        if len(replies) > 1:
            chunk_replies = [Answer.of(reply).shown for reply in replies]
            replies.append(ask([], partial(merge_prompt, chunk_replies, chunk_count)))
    else:
        media = _media_blocks(store, asset, prepared)
        replies.append(ask(media, partial(media_prompt, asset.path, companions)))
    final = replies[-1]
    raw = RawAnalysis(
        asset_id=asset.asset_id,
        model_id=final.model_id,
        provider=final.provider,
        task=task,
        text=final.text,
        tool_use=final.tool_use,
        answer_via=final.answer_via,
        injection_signals=list(dict.fromkeys(s for fence in fences for s in fence.signals)),
        stop_reason=final.stop_reason,
        input_tokens=sum(reply.input_tokens for reply in replies),
        output_tokens=sum(reply.output_tokens for reply in replies),
        calls=len(replies),
        chunk_count=chunk_count,
        chunks_analyzed=chunks_analyzed,
        chunk_replies=chunk_replies,
    )
    raw_uri = put_json(
        store,
        processed_bucket,
        WorkFiles(request.work_prefix).model_reply(asset.asset_id),
        raw.model_dump(mode="json"),
    )
    logger.info(
        "Model answered",
        extra={
            "asset_id": asset.asset_id,
            "model_id": final.model_id,
            "calls": raw.calls,
            "stop_reason": final.stop_reason,
            "injection_signals": len(raw.injection_signals),
        },
    )
    return AnalysisRef(
        asset_id=asset.asset_id,
        raw_uri=raw_uri,
        model_id=raw.model_id,
        provider=raw.provider,
        input_tokens=raw.input_tokens,
        output_tokens=raw.output_tokens,
        calls=raw.calls,
        chunk_count=chunk_count,
        chunks_analyzed=chunks_analyzed,
        stop_reason=raw.stop_reason,
    )


# --------------------------------------------------------------------------- inputs


def spread(chunks: list[TextChunk], limit: int) -> list[TextChunk]:
    """At most `limit` chunks, evenly spaced, always including the first and the last."""
    if len(chunks) <= limit:
        return list(chunks)
    if limit == 1:
        return [chunks[0]]
    step = (len(chunks) - 1) / (limit - 1)
    picked = sorted({round(index * step) for index in range(limit)})
    return [chunks[index] for index in picked]


def _load_companions(store: ObjectStore, prepared: PreparedMedia) -> list[CompanionText]:
    if not prepared.companions_uri:
        return []
    return Companions.model_validate(read_json(store, prepared.companions_uri)).companions


def _media_blocks(store: ObjectStore, asset: Asset, prepared: PreparedMedia) -> list[ContentBlock]:
    if prepared.kind == "image":
        data = store.read_bytes(parse_s3_uri(prepared.input_uri))
        return [ImageBlock(format="jpeg", data=data)]
    if prepared.kind == "document":
        if prepared.input_format != "pdf":
            raise MediaNotPreparable(f"documents in {prepared.input_format} are not supported")
        # The exact version the intake gate checked.
        data = store.read_bytes(asset.source)
        return [DocumentBlock(format="pdf", name=document_name(asset.path), data=data)]
    video_format = _VIDEO_FORMATS.get(prepared.input_format)
    if video_format is None:
        raise MediaNotPreparable(f"the model does not accept {prepared.input_format} video")
    literal = cast(Literal["mp4", "mov", "mkv", "webm"], video_format)
    return [VideoBlock(format=literal, s3_uri=prepared.input_uri)]


def document_name(path: str) -> str:
    """Bedrock document names allow letters, digits, spaces, ()[]- and no runs of spaces."""
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    name = _DOCUMENT_NAME_UNSAFE.sub("-", stem).strip("-")[:120]
    return name or "document"
