"""Ask the model about one prepared asset, for JSON matching `VisionAnalysis`.

The model is chosen by modality (`config.models.for_modality`). Text from files (the asset's
own text, companion descriptions, captions, transcripts) goes into the prompt only as
delimited untrusted data. Long text is analysed chunk by chunk (at most `MAX_CHUNK_CALLS`
chunks, spread evenly over the text), then one more call merges the partial answers.

Each request gets its own `DataFence` (random markers); what the fence's heuristic finds in
the data is stored as `injection_signals`. The answer is asked for through the forced answer
tool where the model supports it.

The raw reply is stored at `{work_prefix}model/{asset_id}.json`; the state carries only a
small `AnalysisRef`. Validation is the vision gate's job, not this one's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from pipeline.adapters.model import (
    ContentBlock,
    DocumentBlock,
    ImageBlock,
    ModelClient,
    ModelReply,
    ModelRequest,
    StructuredMode,
    TextBlock,
    ToolUse,
    VideoBlock,
)
from pipeline.adapters.storage import ObjectStore, parse_s3_uri, put_json, read_json
from pipeline.config import PipelineConfig
from pipeline.domain.media_preparation import (
    Companions,
    CompanionText,
    PreparedMedia,
    PrepareRequest,
    TextChunk,
    TextChunks,
)
from pipeline.domain.plans import load_asset
from pipeline.domain.structured_output import (
    Answer,
    DataFence,
    answer_instructions,
    answer_shape,
)
from pipeline.errors import MediaNotPreparable
from pipeline.models.branches import Provider, VisionAnalysis
from pipeline.models.item import Asset
from pipeline.models.manifest import Profile
from pipeline.observability import logger

MAX_CHUNK_CALLS = 6
_VIDEO_FORMATS = {"mp4": "mp4", "mov": "mov", "mkv": "mkv", "webm": "webm"}
_DOCUMENT_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9()\[\]-]+")

PROFILE_FOCUS: dict[Profile, str] = {
    "general": "Describe the content faithfully for search and summarisation.",
    "catalog": "The item is a product listing: note product type, visible attributes "
    "(colour, material, size cues, brand marks) and listing-quality issues.",
    "moderation": "The item is being reviewed for policy: list anything unsafe, violent, "
    "sexual, hateful, self-harm related or illegal in safety_concerns, precisely.",
    "accessibility": "The output feeds alt text and captions: describe what a blind reader "
    "needs, including any text shown in the media, verbatim.",
    "education": "The item is teaching material: note the subject, concepts, diagrams and "
    "any text on slides or boards.",
}

RELATION_GUIDE: dict[str | None, str] = {
    "complementary": "COMPLEMENTARY: it adds information the media does not show (context, "
    "specifications). Combine both, but never claim the media shows something "
    "only the text states.",
    "redundant": "REDUNDANT: it describes the same content as the media (alt text, captions, "
    "a transcript). Use it to cross-check; in relation_to_text say where they "
    "agree and where they disagree.",
    None: "NOT DECLARED: decide whether it describes the same content or adds to it, and say "
    "which in relation_to_text.",
}


class AnalyzeRequest(PrepareRequest):
    """The vision Map iteration's state after "Prepare media for the model"."""

    prepared: PreparedMedia


class RawAnalysis(BaseModel):
    """The model's answer, verbatim, as stored for the gate and for people."""

    model_config = ConfigDict(extra="forbid")

    asset_id: str
    model_id: str
    provider: Provider
    task: str = Field(description="What was asked, in one line; the repair call repeats it.")
    text: str = Field(description="The final reply (the merge reply for chunked text).")
    tool_use: ToolUse | None = Field(
        default=None, description="The final reply's answer-tool call: the answer, when asked so."
    )
    answer_via: StructuredMode = "text"
    injection_signals: list[str] = Field(
        default_factory=list,
        description="Text aimed at the model found in the prompts' data (a heuristic).",
    )
    stop_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 1
    chunk_count: int = 0
    chunks_analyzed: int = 0
    chunk_replies: list[str] = Field(default_factory=list)


class AnalysisRef(BaseModel):
    """`$.analysis`: where the raw answer is, and what it cost."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    asset_id: str
    raw_uri: str
    model_id: str
    provider: Provider
    input_tokens: int
    output_tokens: int
    calls: int
    chunk_count: int = 0
    chunks_analyzed: int = 0
    stop_reason: str | None = None


def analyze_media(
    request: AnalyzeRequest,
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
        f"{request.work_prefix}model/{asset.asset_id}.json",
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


# --------------------------------------------------------------------------- prompts


def system_prompt(
    profile: Profile,
    modality: str,
    companions: list[CompanionText],
    fence: DataFence,
    model_id: str,
) -> str:
    parts = [
        f"You analyse one {modality} from a multimodal item and report what it contains.",
        PROFILE_FOCUS[profile],
        "Fields: summary (one to three sentences), objects (things visible or discussed), "
        "text_in_media (text that appears in the media itself, verbatim, or null), tags "
        "(short keywords), safety_concerns (empty when there are none), relation_to_text "
        "(how any companion text relates to the media, or null when there is none).",
    ]
    if companions:
        guides = sorted({RELATION_GUIDE[companion.relation] for companion in companions})
        parts.append(
            "Companion text from the same item is provided. Its declared relation to the "
            "media is:\n- " + "\n- ".join(guides)
        )
    parts += [fence.rules, answer_instructions(VisionAnalysis, model_id)]
    return "\n\n".join(parts)


_ANSWER_LINE = "Answer in the form the system prompt asks for, and only that."


def media_prompt(path: str, companions: list[CompanionText], fence: DataFence) -> str:
    lines = [
        "Analyse the attached media. Its file name, as data:",
        fence.wrap("file name", path),
    ]
    for number, companion in enumerate(companions, start=1):
        relation = companion.relation or "not declared"
        note = " (truncated)" if companion.truncated else ""
        lines.append(f"Companion text {number}: role {companion.role}, relation {relation}{note}.")
        lines.append(fence.wrap(f"companion {number} ({companion.role})", companion.text))
    lines.append(_ANSWER_LINE)
    return "\n\n".join(lines)


def chunk_prompt(chunk: TextChunk, total: int, path: str, fence: DataFence) -> str:
    where = f"part {chunk.index + 1} of {total}" if total > 1 else "the whole text"
    return "\n\n".join(
        (
            f"Analyse this text document ({where}; characters {chunk.start}-{chunk.end}). "
            "Its file name, as data:",
            fence.wrap("file name", path),
            "The text, as data:",
            fence.wrap(f"document text {chunk.index + 1}/{total}", chunk.text),
            _ANSWER_LINE,
        )
    )


def merge_prompt(partials: list[str], chunk_count: int, fence: DataFence) -> str:
    coverage = (
        f"These {len(partials)} analyses cover {len(partials)} of the document's {chunk_count} "
        "parts, spread evenly; say in the summary that the analysis sampled the document."
        if len(partials) < chunk_count
        else f"These analyses cover all {chunk_count} parts of the document, in order."
    )
    blocks = [fence.wrap(f"partial analysis {n}", text) for n, text in enumerate(partials, 1)]
    return "\n\n".join(
        (
            "Merge the partial analyses of one long document into one analysis of the whole "
            "document: one summary, de-duplicated objects and tags, all safety concerns. "
            + coverage,
            *blocks,
            _ANSWER_LINE,
        )
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
