"""The local providers: real offline speech recognition (faster-whisper) through the pipeline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.integration.conftest import outcome_for

SPOKEN = (
    "Welcome to the multimodal pipeline. This recording is a short test of speech "
    "recognition. Every file you upload is checked, described and stored safely. Thank you "
    "for listening."
)
# Whisper tiny.en on this sample heard 0.89 to 0.96 of the spoken words across int8, float32
# and int8_float32 compute types, 1 and 2 CPU threads, beam sizes 1 and 5 (ASR output varies
# with the CPU). The threshold keeps a margin of about 0.2 below the worst of those.
MIN_WORD_RECALL = 0.7


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


@pytest.mark.slow
def test_speech_comes_back_as_a_transcript_a_person_would_accept(run_local, demo: Path) -> None:
    # Given the espeak-ng speech sample
    # When it runs with the local providers (faster-whisper tiny.en)
    report = run_local([demo / "speech.wav"], providers="local", timeout_s=300)

    # Then the transcript is the spoken text, within a small word error
    speech = outcome_for(report, "speech.wav")
    assert speech.place == "processed"
    result = json.loads(speech.record_file.read_text())
    transcript = result["transcripts"][0]
    assert transcript["provider"] == "local"
    heard, spoken = set(_words(transcript["text"])), _words(SPOKEN)
    recall = sum(w in heard for w in spoken) / len(spoken)
    assert recall >= MIN_WORD_RECALL, transcript["text"]
    assert transcript["words"]
    assert all(0 <= w["confidence"] <= 1 for w in transcript["words"])
    # And subtitles were written next to the transcript, as Transcribe does
    assert set(transcript["subtitle_uris"]) >= {"vtt", "srt"}
