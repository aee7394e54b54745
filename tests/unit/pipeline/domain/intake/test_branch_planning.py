"""Branch planning: which parallel branches get which assets."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.domain.intake import plan_branches
from pipeline_contracts.item import Asset, ObjectRef

_FORMATS = {
    "image": "png",
    "audio": "wav",
    "video": "mp4",
    "text": "txt",
    "document": "pdf",
    "captions": "srt",
}


def _asset(name: str, modality: str, **fields: Any) -> Asset:
    media_format = fields.pop("media_format", _FORMATS[modality])
    return Asset(
        asset_id=f"a1-{name}",
        path=f"{name}.{media_format}",
        source=ObjectRef(bucket="b", key=f"k/{name}"),
        modality=modality,
        media_format=media_format,
        mime_type="application/octet-stream",
        size_bytes=1,
        **fields,
    )


def _paths(assets: list[Asset]) -> list[str]:
    return [asset.path for asset in assets]


def test_a_single_image_goes_to_vision_only():
    # Given one image
    # When branches are planned
    plan = plan_branches([_asset("photo", "image")])
    # Then only vision has work: its quality is measured there, no alignment job starts
    assert (_paths(plan.vision), plan.audio, plan.alignment) == (["photo.png"], [], False)


def test_audio_goes_to_transcription_only():
    # Given one audio file
    # When branches are planned
    plan = plan_branches([_asset("call", "audio", has_audio=True)])
    # Then it is transcribed, not sent to vision, and has nothing to align
    assert (_paths(plan.audio), plan.vision, plan.alignment) == (["call.wav"], [], False)


_SPEECH = {"has_audio": True}
_TALK = {"has_audio": True, "has_video": True}


@pytest.mark.parametrize(
    ("assets", "aligned"),
    [
        # Nothing to align: no SageMaker job
        ([("photo", "image", {})], False),
        ([("call", "audio", _SPEECH)], False),
        ([("notes", "text", {})], False),
        ([("talk", "captions", {})], False),
        ([("photo", "image", {}), ("description", "text", {"role": "description"})], False),
        ([("a", "image", {}), ("b", "image", {}), ("c", "document", {})], False),
        ([("call", "audio", _SPEECH), ("notes", "text", {"role": "transcript"})], False),
        ([("slides", "image", {"role": "slides"})], False),
        ([("slides", "document", {"role": "slides"}), ("notes", "text", {})], False),
        ([("photo", "image", {}), ("call", "audio", _SPEECH)], False),
        # Captions with two recordings and no `syncs_with`: nothing says which to sync with
        ([("talk", "captions", {}), ("a", "audio", _SPEECH), ("b", "audio", _SPEECH)], False),
        # Something to align
        ([("talk", "captions", {}), ("talk", "video", _TALK)], True),
        ([("talk", "captions", {}), ("call", "audio", _SPEECH)], True),
        ([("talk", "video", _TALK)], True),
        ([("silent", "video", {"has_video": True})], True),
        ([("slides", "image", {"role": "slides"}), ("talk", "audio", _SPEECH)], True),
        ([("slides", "document", {"role": "slides"}), ("talk", "audio", _SPEECH)], True),
        (
            [
                ("words", "text", {"role": "transcript", "media_format": "json"}),
                ("call", "audio", _SPEECH),
            ],
            True,
        ),
        (
            [
                ("talk", "captions", {"syncs_with": "b.wav"}),
                ("a", "audio", _SPEECH),
                ("b", "audio", _SPEECH),
            ],
            True,
        ),
    ],
    ids=[
        "image-only",
        "audio-only",
        "text",
        "captions-alone",
        "image-and-description",
        "images-and-a-pdf",
        "audio-and-plain-transcript",
        "slides-without-narration",
        "pdf-slides-and-notes",
        "photo-beside-a-recording",
        "captions-with-two-recordings",
        "captions-and-video",
        "captions-and-audio",
        "video-alone",
        "silent-video",
        "slides-and-narration",
        "pdf-slides-and-narration",
        "timed-transcript-and-audio",
        "captions-naming-one-of-two-recordings",
    ],
)
def test_alignment_runs_only_when_there_is_something_to_align(assets, aligned):
    # Given an item's assets
    given = [_asset(name, modality, **fields) for name, modality, fields in assets]
    # When branches are planned
    plan = plan_branches(given)
    # Then the alignment job runs only for captions or a transcript to sync with their speech,
    # slides with narration, or a video's scene timeline
    assert plan.alignment is aligned


def test_captions_nothing_says_how_to_time_are_read_by_the_model():
    # Given captions beside two recordings, with no `syncs_with` to choose between them
    captions = _asset("talk", "captions")
    plan = plan_branches(
        [captions, _asset("a", "audio", has_audio=True), _asset("b", "audio", has_audio=True)]
    )
    # Then no job aligns them, so the model reads them as text: they are not lost
    assert (_paths(plan.vision), plan.alignment) == (["talk.srt"], False)


def test_video_with_sound_goes_everywhere_but_silent_video_is_not_transcribed():
    # Given a video with sound and one without
    talking = _asset("talk", "video", has_audio=True, has_video=True)
    silent = _asset("silent", "video", has_audio=False, has_video=True)
    # When branches are planned
    plan = plan_branches([talking, silent])
    # Then only the one with sound is transcribed; both are seen by the model
    assert _paths(plan.audio) == ["talk.mp4"]
    assert _paths(plan.vision) == ["talk.mp4", "silent.mp4"]
    assert plan.alignment is True


def test_text_alone_goes_to_vision_and_needs_no_alignment():
    # Given a text file alone
    # When branches are planned
    plan = plan_branches([_asset("notes", "text")])
    # Then the model reads it, nothing is transcribed or aligned
    assert (_paths(plan.vision), plan.audio, plan.alignment) == (["notes.txt"], [], False)


def test_text_next_to_a_picture_is_a_companion_not_a_vision_input():
    # Given a product photo and its description
    photo = _asset("photo", "image")
    description = _asset("description", "text", role="description")
    # When branches are planned
    plan = plan_branches([photo, description])
    # Then only the photo is a vision input (the text goes into its prompt)
    assert _paths(plan.vision) == ["photo.png"]


def test_text_next_to_a_document_is_a_companion_too():
    # Given slides as a PDF and speaker notes
    plan = plan_branches([_asset("slides", "document"), _asset("notes", "text")])
    # When branches are planned
    # Then the PDF is the vision input; a document alone needs no alignment
    assert _paths(plan.vision) == ["slides.pdf"]
    assert plan.alignment is False


def test_text_next_to_audio_only_is_still_read():
    # Given a recording and its transcript as text
    recording = _asset("call", "audio", has_audio=True)
    transcript = _asset("transcript", "text", role="transcript")
    # When branches are planned
    plan = plan_branches([recording, transcript])
    # Then there is no picture, so the text is a vision (model) input; the role is not audio
    assert _paths(plan.vision) == ["transcript.txt"]
    assert _paths(plan.audio) == ["call.wav"]


def test_audio_with_a_captions_or_transcript_role_is_not_transcribed():
    # Given audio files declared as captions/transcript material
    narrated = _asset("narration", "audio", has_audio=True, role="transcript")
    described = _asset("described", "audio", has_audio=True, role="captions")
    # When branches are planned
    plan = plan_branches([narrated, described])
    # Then they are not transcribed, and with nothing to sync or time, not aligned either
    assert plan.audio == []
    assert plan.alignment is False


def test_manifest_order_is_kept():
    # Given assets in a given order
    assets = [_asset(n, "image") for n in ("c", "a", "b")]
    # When branches are planned
    # Then the vision inputs keep that order
    assert _paths(plan_branches(assets).vision) == ["c.png", "a.png", "b.png"]


def test_captions_on_their_own_are_text_the_model_reads():
    # Given a captions file with no audio or video to time it against
    plan = plan_branches([_asset("talk", "captions")])
    # Then it is analysed as text, not left without a branch
    assert _paths(plan.vision) == ["talk.srt"]
    assert plan.audio == []


def test_captions_beside_their_video_are_for_alignment_not_the_model():
    plan = plan_branches([_asset("talk", "video", has_audio=True), _asset("talk", "captions")])
    assert _paths(plan.vision) == ["talk.mp4"]
    assert plan.alignment
