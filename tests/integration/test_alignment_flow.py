"""Where the alignment job runs, and what it sees: only items with something to align pay for
a SageMaker job (and an instance reservation), and the job runs after Transcribe, so the
timeline of speech with captions holds Transcribe's words."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.integration.conftest import outcome_for

JOB_STATES = {"Reserve an alignment instance", "Run alignment job"}


def _entered(report, name: str) -> set[str]:
    history = outcome_for(report, name).history
    return {
        event["stateEnteredEventDetails"]["name"]
        for event in history
        if "stateEnteredEventDetails" in event
    }


def test_only_items_with_something_to_align_enter_the_alignment_job(run_local, demo: Path) -> None:
    # Given the demo: an image, speech alone, an image with its description, and a lecture
    # video with captions
    report = run_local(
        [demo / "poster.png", demo / "speech.wav", demo / "product", demo / "lecture"]
    )
    assert report.ok

    # Then the image, the speech and the catalog bundle never reserve an instance or start a job
    for name in ("poster.png", "speech.wav", "product"):
        entered = _entered(report, name)
        assert "Skip alignment" in entered, name
        assert not entered & JOB_STATES, name
        result = json.loads(outcome_for(report, name).record_file.read_text())
        assert result["alignment"] is None
    # And the video with captions does both
    assert _entered(report, "lecture") >= JOB_STATES


def test_speech_with_captions_gets_a_timeline_with_transcribes_words(
    run_local, demo: Path, tmp_path: Path
) -> None:
    # Given speech and captions for it, without a transcript of their own
    bundle = tmp_path / "talk"
    bundle.mkdir()
    shutil.copy(demo / "speech.wav", bundle / "speech.wav")
    (bundle / "speech.vtt").write_text(
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:02.200\nWelcome to the multimodal pipeline.\n\n"
        "00:00:02.700 --> 00:00:05.600\nThis recording is a short test of speech recognition.\n\n"
        "00:00:06.500 --> 00:00:10.000\nEvery file you upload is checked, described and stored.\n"
    )
    (bundle / "manifest.json").write_text(
        json.dumps(
            {
                "version": 1,
                "profile": "accessibility",
                "assets": [
                    {"path": "speech.wav", "role": "primary"},
                    {"path": "speech.vtt", "role": "captions", "syncs_with": "speech.wav"},
                ],
            }
        )
    )

    # When it runs with the real alignment job and offline speech recognition
    report = run_local([bundle], providers="local", timeout_s=300)

    # Then the item's timeline holds the words Transcribe (its stand-in) heard, timed, and
    # each falls in a caption cue
    outcome = outcome_for(report, "talk")
    assert outcome.place == "processed", (outcome.error, outcome.cause)
    result = json.loads(outcome.record_file.read_text())
    words = [entry for entry in result["timeline"] if entry["kind"] == "word"]
    transcript_words = result["transcripts"][0]["text"].split()
    assert len(words) >= len(transcript_words) // 2
    assert {w["text"].strip(".,").lower() for w in words} & {"welcome", "pipeline", "recording"}
    assert all(w["end_s"] >= w["start_s"] >= 0 for w in words)
    assert sum(1 for w in words if w.get("cue") is not None) >= len(words) // 2
