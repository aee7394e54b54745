"""Cut a finished item into the pieces search finds: one vector each.

A hit should point at something a person can open at the right place, so pieces follow what
the branches produced: each image (its pixels, and the model's description of it, words
printed on it included), each keyframe of a video with its time span, a stretch of a
transcript or of captions (`window_s` at most) with its time span, each chunk of a text (the
chunks the vision branch already cut), a document's description, and the item's fused
summary. The pieces are read from the record about to be written (`ItemResult`), from the
work files the branches left, and from the plan's assets; nothing is embedded here.
"""

from __future__ import annotations

import itertools
import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipeline.adapters.storage import ObjectMissing, ObjectStore, parse_s3_uri
from pipeline.config import SearchSettings
from pipeline.domain.alignment_review import read_report
from pipeline.domain.captions import CaptionsUnparsable, caption_cues
from pipeline.domain.text_tools import chunk_text, clip, decoded_text, readable_text
from pipeline.errors import AlignmentFailed
from pipeline_contracts.item import Asset, ItemPlan
from pipeline_contracts.naming import WorkFiles
from pipeline_contracts.records import ItemResult
from pipeline_contracts.search import MAX_SNIPPET_CHARS, ImageFormat, SearchModality
from pipeline_contracts.work.alignment import TimelineEntry
from pipeline_contracts.work.transcript import Transcript
from pipeline_contracts.work.vision import VisionResult

SUMMARY_ASSET = "item"
# The most of a captions or text file read for search (a feature film's captions are ~100 KB;
# the item's pieces are capped by `max_pieces_per_item` anyway).
MAX_CAPTIONS_BYTES = 2_000_000
MAX_TEXT_BYTES = 2_000_000


@dataclass(frozen=True)
class Piece:
    """One thing to embed: words (`text`) or an image (`image_uri`), and where it is."""

    asset_id: str
    modality: SearchModality
    snippet: str
    text: str | None = None
    image_uri: str | None = None
    image_format: ImageFormat | None = None
    start_s: float | None = None
    end_s: float | None = None
    chunk: int | None = None


@dataclass(frozen=True)
class Pieces:
    pieces: list[Piece]
    left_out: int  # over `max_pieces_per_item`


def pieces_of(
    result: ItemResult,
    plan: ItemPlan,
    store: ObjectStore,
    settings: SearchSettings,
    processed_bucket: str,
) -> Pieces:
    work = WorkFiles(plan.work_prefix)
    # What says most about the item comes first; the long kinds share what the cap leaves,
    # in turn, so a long text cannot push a video's speech out of the index.
    first = [
        *_summary_piece(result),
        *_visual_pieces(result.vision, plan, work, processed_bucket),
    ]
    long_kinds = [
        list(_keyframe_pieces(result, plan, store)),
        list(_transcript_pieces(result.transcripts, settings.window_s)),
        list(_caption_pieces(plan.assets, store, settings.window_s, result)),
        list(_text_pieces(plan.assets, store, settings)),
    ]
    found = first + [
        piece for turn in itertools.zip_longest(*long_kinds) for piece in turn if piece is not None
    ]
    limit = settings.max_pieces_per_item
    return Pieces(pieces=found[:limit], left_out=max(0, len(found) - limit))


def _visual_pieces(
    results: list[VisionResult],
    plan: ItemPlan,
    work: WorkFiles,
    bucket: str,
) -> Iterator[Piece]:
    assets = {asset.asset_id: asset for asset in plan.assets}
    for vision in results:
        asset = assets.get(vision.asset_id)
        if asset is None:
            continue
        modality = _search_modality(asset)
        if asset.modality == "image":
            # The pixels as the model saw them (resized, orientation fixed, no metadata).
            prepared = f"s3://{bucket}/{work.prepared(asset.asset_id)}.jpg"
            yield Piece(
                asset_id=asset.asset_id,
                modality="image",
                snippet=_snippet(vision.analysis.summary if vision.analysis else asset.path),
                image_uri=prepared,
                image_format="jpeg",
            )
        if vision.analysis is not None and asset.modality != "text":
            # (a text asset's own words are its pieces: _text_pieces)
            analysis = vision.analysis
            words = [analysis.summary]
            if analysis.text_in_media:
                words.append(f"Text in it: {analysis.text_in_media}")
            if analysis.objects:
                words.append("Shows: " + ", ".join(analysis.objects))
            if analysis.tags:
                words.append("Tags: " + ", ".join(analysis.tags))
            described = "\n".join(words)
            yield Piece(
                asset_id=asset.asset_id,
                modality=modality,
                snippet=_snippet(described),
                text=described,
            )


def _text_pieces(
    assets: list[Asset], store: ObjectStore, settings: SearchSettings
) -> Iterator[Piece]:
    """Every text asset (a description, an article, a transcript file), cleaned as the vision
    branch cleans it and cut into search-sized chunks with overlap, so a hit names a passage.
    A text that only accompanies an image in the model's prompt is findable too."""
    for asset in assets:
        if asset.modality != "text":
            continue
        try:
            data = store.read_bytes(asset.source, max_bytes=MAX_TEXT_BYTES)
        except ObjectMissing:
            continue
        text, _ = readable_text(data, asset.media_format)
        for chunk in chunk_text(text, settings.chunk_chars, settings.chunk_overlap):
            if chunk.text.strip():
                yield Piece(
                    asset_id=asset.asset_id,
                    modality="text",
                    snippet=_snippet(chunk.text),
                    text=chunk.text,
                    chunk=chunk.index,
                )


def _keyframe_pieces(result: ItemResult, plan: ItemPlan, store: ObjectStore) -> Iterator[Piece]:
    """Each scene's keyframe, with the scene's time span and video, from the job's report (the
    record's timeline is cut short for long media; the report has every scene)."""
    if result.alignment is None:
        return
    try:
        report = read_report(store, result.alignment.output_uri)
    except (AlignmentFailed, ValueError):
        return
    base = result.alignment.output_uri.rstrip("/") + "/"
    videos = {posixpath.basename(asset.path): asset.asset_id for asset in plan.assets}
    words = [e for e in report.timeline if e.kind in ("word", "cue", "segment")]
    for scene in report.scenes:
        if not scene.keyframe:
            continue
        said = " ".join(e.text or "" for e in _within(words, scene.start_s, scene.end_s))
        yield Piece(
            asset_id=videos.get(posixpath.basename(scene.media_path), "video"),
            modality="video",
            snippet=_snippet(said or f"scene at {scene.start_s:.1f} s"),
            image_uri=base + scene.keyframe,
            image_format="jpeg",
            start_s=scene.start_s,
            end_s=scene.end_s,
        )


def _within(entries: list[TimelineEntry], start: float, end: float) -> list[TimelineEntry]:
    return [e for e in entries if e.start_s < end and e.end_s > start]


def _transcript_pieces(transcripts: list[Transcript], window_s: float) -> Iterator[Piece]:
    for transcript in transcripts:
        spans: list[tuple[float, float, str]]
        if transcript.segments:
            spans = [(s.start_s, s.end_s, s.text) for s in transcript.segments]
        elif transcript.words:
            spans = [(w.start_s, w.end_s, w.text) for w in transcript.words]
        elif transcript.text.strip():
            # No timings: passages of about 300 words, each spanning the whole recording.
            words = transcript.text.split()
            spans = [
                (0.0, transcript.duration_s or 0.0, " ".join(words[i : i + 300]))
                for i in range(0, len(words), 300)
            ]
        else:
            continue
        timed = bool(transcript.segments or transcript.words)
        for start, end, text in _windows(spans, window_s) if timed else spans:
            yield Piece(
                asset_id=transcript.asset_id,
                modality="speech",
                snippet=_snippet(text),
                text=text,
                start_s=start,
                end_s=end,
            )


def _caption_pieces(
    assets: list[Asset], store: ObjectStore, window_s: float, result: ItemResult
) -> Iterator[Piece]:
    """Each captions file's cues in windows: the corrected file when alignment wrote one (its
    times match the media), else the file as uploaded."""
    corrected = {
        posixpath.basename(path): uri
        for path, uri in (
            result.alignment.corrected_caption_uris if result.alignment else {}
        ).items()
    }
    for asset in assets:
        if asset.modality != "captions":
            continue
        fixed = corrected.get(posixpath.basename(asset.path))
        try:
            source = parse_s3_uri(fixed) if fixed else asset.source
            data = store.read_bytes(source, max_bytes=MAX_CAPTIONS_BYTES)
            # The file as written (readable_text would keep only the spoken words).
            text, _ = decoded_text(data)
            cues = caption_cues(text, asset.media_format)
        except (ObjectMissing, CaptionsUnparsable, UnicodeDecodeError):
            continue
        spans = [(c.start_s, c.end_s, " ".join(c.lines)) for c in cues if c.lines]
        for start, end, words in _windows(spans, window_s):
            yield Piece(
                asset_id=asset.asset_id,
                modality="captions",
                snippet=_snippet(words),
                text=words,
                start_s=start,
                end_s=end,
            )


def _summary_piece(result: ItemResult) -> Iterator[Piece]:
    fused = result.fused
    if fused is None:
        return
    text = "\n".join([fused.title, fused.summary, *fused.key_points])
    yield Piece(asset_id=SUMMARY_ASSET, modality="summary", snippet=_snippet(text), text=text)


def _windows(
    spans: Iterable[tuple[float, float, str]], window_s: float
) -> Iterator[tuple[float, float, str]]:
    """Consecutive spans joined while the joined span stays within `window_s`."""
    start: float | None = None
    end = 0.0
    words: list[str] = []
    for span_start, span_end, text in spans:
        if start is not None and span_end - start > window_s:
            yield start, end, " ".join(words)
            start, words = None, []
        if start is None:
            start = span_start
        end = max(end if words else span_end, span_end)
        words.append(text.strip())
    if start is not None and any(words):
        yield start, end, " ".join(words)


def _search_modality(asset: Asset) -> SearchModality:
    if asset.modality in ("image", "video", "text", "document"):
        return asset.modality
    return "text"


def _snippet(text: str) -> str:
    return clip(" ".join(text.split()), MAX_SNIPPET_CHARS)


def image_bytes(store: ObjectStore, uri: str, max_bytes: int) -> bytes | None:
    """The image a piece names, or None when it was never written (a failed preparation)."""
    try:
        return store.read_bytes(parse_s3_uri(uri), max_bytes=max_bytes)
    except ObjectMissing:
        return None
