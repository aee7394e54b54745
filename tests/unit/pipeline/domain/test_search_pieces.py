"""What search finds an item by (domain/search_pieces.py): stretches of speech and captions
with their time spans, passages of text, each image twice (pixels and described words),
keyframes with their scene's span, the fused summary; never more than the per-item cap."""

from __future__ import annotations

from pipeline.config import SearchSettings
from pipeline.domain.search_pieces import pieces_of
from pipeline_contracts.item import Asset, ItemPlan, ObjectRef
from pipeline_contracts.records import ItemResult, Timings
from pipeline_contracts.work.alignment import (
    AlignmentReport,
    AlignmentResult,
    Scene,
    TimelineEntry,
)
from pipeline_contracts.work.fusion import GeneralDetails, GeneralFused
from pipeline_contracts.work.transcript import Transcript, TranscriptSegment
from pipeline_contracts.work.vision import VisionAnalysis, VisionResult
from tests.fakes import InMemoryObjectStore

CAPTIONS = """WEBVTT

00:00:01.000 --> 00:00:04.000
Rivers shape the land.

00:00:20.000 --> 00:00:25.000
Water carries sand to the sea.

00:00:40.000 --> 00:00:44.000
Valleys form over many years.
"""


def _asset(store: InMemoryObjectStore, asset_id: str, modality: str, fmt: str, body: bytes):
    source = store.put("ingest", f"incoming/bundles/b/{asset_id}", body)
    return Asset(
        asset_id=asset_id,
        path=asset_id,
        source=source,
        modality=modality,
        media_format=fmt,
        mime_type="x/x",
        size_bytes=len(body),
    )


def _item(store: InMemoryObjectStore) -> tuple[ItemResult, ItemPlan]:
    assets = [
        _asset(store, "talk", "audio", "wav", b"RIFF"),
        _asset(store, "caps", "captions", "webvtt", CAPTIONS.encode()),
        _asset(store, "desc", "text", "plain", ("A blue mug. " * 300).encode()),
        _asset(store, "photo", "image", "png", b"\x89PNG"),
        _asset(store, "film", "video", "mp4", b"mp4"),
    ]
    source = ObjectRef(bucket="ingest", key="incoming/bundles/b/manifest.json")
    plan = ItemPlan(
        item_id="item-1",
        kind="bundle",
        source=source,
        accepted=True,
        alignment_job_name="mmp-align-x",
        plan_uri="s3://processed/work/item-1/job/plan.json",
        job_input_uri="s3://processed/work/item-1/job/",
        work_prefix="work/item-1/",
        media_uri="s3://ingest/incoming/bundles/b/",
        alignment_output_uri="s3://processed/work/item-1/alignment/",
        transcribe_timeout_s=600,
        alignment_max_runtime_s=600,
        alignment_volume_size_gb=1,
        assets=assets,
    )
    segments = [
        TranscriptSegment(start_s=float(t), end_s=float(t) + 9, text=f"words at {t}")
        for t in range(0, 70, 10)
    ]
    result = ItemResult(
        item_id="item-1",
        status="processed",
        kind="bundle",
        source=source,
        profile="general",
        assets=assets,
        modalities=["audio", "captions", "image", "text", "video"],
        branches=[],
        gates=[],
        timings=Timings(received_at="2026-12-01T00:00:00Z", finished_at="2026-12-01T00:01:00Z"),
        transcripts=[
            Transcript(asset_id="talk", provider="local", job_name="j", text="", segments=segments)
        ],
        vision=[
            VisionResult(
                asset_id="photo",
                provider="local",
                model_id="m",
                analysis=VisionAnalysis(
                    summary="A poster", text_in_media="SUMMER SALE", objects=["mug"]
                ),
            )
        ],
        alignment=AlignmentResult(
            provider="local",
            job_name="j",
            output_uri="s3://processed/work/item-1/alignment/",
            keyframe_uris=["s3://processed/work/item-1/alignment/keyframes/scene-000.jpg"],
            timeline=[
                TimelineEntry(
                    start_s=0,
                    end_s=12,
                    kind="scene",
                    ref="keyframes/scene-000.jpg",
                    asset_id="film",
                ),
                TimelineEntry(start_s=2, end_s=3, kind="word", text="rivers"),
            ],
        ),
        fused=GeneralFused(
            provider="local",
            model_id="m",
            title="Rivers",
            summary="How rivers shape land",
            details=GeneralDetails(topics=["geography"]),
        ),
    )
    report = AlignmentReport(
        scenes=[
            Scene(
                media_path="/opt/ml/processing/input/media/film",
                start_s=s,
                end_s=s + 12,
                keyframe=f"keyframes/scene-{n:03d}.jpg",
            )
            for n, s in enumerate(range(0, 600, 12))
        ],
        timeline=[TimelineEntry(start_s=2, end_s=3, kind="word", text="rivers")],
    )
    store.put(
        "processed", "work/item-1/alignment/alignment.json", report.model_dump_json().encode()
    )
    return result, plan


def test_an_item_is_cut_into_pieces_that_say_where_they_are() -> None:
    store = InMemoryObjectStore()
    result, plan = _item(store)
    found = pieces_of(result, plan, store, SearchSettings(chunk_chars=1000), "processed")
    by = {}
    for piece in found.pieces:
        by.setdefault(piece.modality, []).append(piece)
    # Speech: 70 s of segments in windows of at most 30 s, in order, with their spans
    spans = [(p.start_s, p.end_s) for p in by["speech"]]
    assert spans == [(0.0, 29.0), (30.0, 59.0), (60.0, 69.0)]
    assert all(end - start <= 30 for start, end in spans)
    assert by["speech"][0].text == "words at 0 words at 10 words at 20"
    # Captions: cues joined while they stay within 30 s
    assert [(p.start_s, p.end_s) for p in by["captions"]] == [(1.0, 25.0), (40.0, 44.0)]
    assert "Rivers shape the land." in (by["captions"][0].text or "")
    # Text: 3,600 characters in passages of at most 1,000, numbered
    chunks = by["text"]
    assert len(chunks) >= 4
    assert all(len(p.text or "") <= 1000 for p in chunks)
    assert [p.chunk for p in chunks] == list(range(len(chunks)))
    # The image: its prepared pixels, and its description with the words printed on it
    pixels, words = by["image"]
    assert pixels.image_uri == "s3://processed/work/item-1/prepared/photo.jpg"
    assert "SUMMER SALE" in (words.text or "")
    assert words.image_uri is None
    # Every keyframe of the 10-minute video (50 scenes), with its scene's span, its video
    # (from the scene's media path) and what was said in it
    keyframes = by["video"]
    assert len(keyframes) == 50
    first = keyframes[0]
    assert (first.start_s, first.end_s, first.asset_id) == (0, 12, "film")
    assert first.image_uri == "s3://processed/work/item-1/alignment/keyframes/scene-000.jpg"
    assert first.snippet == "rivers"
    assert keyframes[-1].start_s == 588
    # The item's fused summary
    (summary,) = by["summary"]
    assert summary.asset_id == "item"
    assert "How rivers shape land" in (summary.text or "")
    assert found.left_out == 0


def test_the_cap_keeps_the_summary_and_images_and_shares_the_rest_between_kinds() -> None:
    store = InMemoryObjectStore()
    result, plan = _item(store)
    found = pieces_of(result, plan, store, SearchSettings(max_pieces_per_item=11), "processed")
    assert len(found.pieces) == 11
    assert found.left_out > 0
    kinds = [p.modality for p in found.pieces]
    # The summary and the image first, then keyframes, speech, captions and text in turn:
    # 50 keyframes do not push the speech, the captions or the text out
    assert kinds[:3] == ["summary", "image", "image"]
    assert {"video", "speech", "captions", "text"} <= set(kinds[3:])
