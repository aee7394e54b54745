"""Video in containers Transcribe does not take (MOV, MKV) gets its audio extracted first,
so the audio branch transcribes it instead of failing after the wait."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pipeline.domain.audio_extraction import extract_audio, transcribe_takes
from tests.integration.conftest import outcome_for


def _clip(target: Path, audio_codec: str) -> Path:
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=2:size=160x120:rate=10",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=300:duration=2",
            "-c:v",
            "mpeg4",
            "-c:a",
            audio_codec,
            "-shortest",
            str(target),
        ],
        check=True,
    )
    return target


@pytest.mark.parametrize(
    ("name", "codec", "media_format", "remuxed"),
    [
        ("talk.mov", "aac", "m4a", True),
        ("talk.mkv", "libopus", "ogg", True),
        ("talk-ac3.mov", "ac3", "flac", False),
        ("talk-pcm.mkv", "pcm_s24le", "flac", False),
    ],
)
def test_audio_lands_in_a_container_transcribe_takes(
    tmp_path, name, codec, media_format, remuxed
) -> None:
    extracted = extract_audio(_clip(tmp_path / name, codec), tmp_path)
    assert transcribe_takes(extracted.media_format)
    assert (extracted.media_format, extracted.remuxed) == (media_format, remuxed)


@pytest.mark.parametrize("name", ["talk.mov", "talk.mkv"])
def test_a_video_transcribe_does_not_take_is_transcribed(run_local, tmp_path, name) -> None:
    # Given a video whose container Transcribe refuses
    clip = _clip(tmp_path / name, "aac" if name.endswith(".mov") else "libopus")

    # When it runs through the pipeline
    report = run_local([clip])

    # Then its audio was extracted, transcribed, and the item processed
    outcome = outcome_for(report, name)
    assert outcome.place == "processed", outcome.cause
    states = [e.get("stateEnteredEventDetails", {}).get("name") for e in outcome.history]
    assert "Extract audio track" in states
    result = json.loads(outcome.record_file.read_text())
    assert result["transcripts"][0]["text"]
