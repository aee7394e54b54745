"""Caption offset and drift correction against generated speech with known cue times."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from benchmarks._media import (
    Clip,
    distorted_cues,
    generate_clip,
    kept_truth,
    mean_start_error,
    write_captions,
)
from processing.captions import Cue
from processing.speech import SpeechActivity
from processing.sync import sync_captions, synchronise

OFFSETS = [-10.0, -4.37, 0.0, 2.5, 10.0]
DRIFTS = [0.995, 1.0, 1.005]


def _as_cues(clip: Clip, offset: float, drift: float) -> list[Cue]:
    return [Cue(c.start_s, c.end_s, c.text) for c in distorted_cues(clip.cues, offset, drift)]


def _error(clip: Clip, cues: list[Cue], distortion: tuple[float, float], fit) -> float:
    """Mean |fitted start - true start| of the cues that survive the distortion."""
    truth = kept_truth(clip.cues, *distortion)
    errors = [
        abs(fit.drift * c.start_s + fit.offset_s - t.start_s)
        for c, t in zip(cues, truth, strict=True)
    ]
    return float(np.mean(errors))


@pytest.mark.parametrize("condition", ["clean", "noisy"])
@pytest.mark.parametrize("drift", DRIFTS)
@pytest.mark.parametrize("offset", OFFSETS)
def test_corrected_cue_starts_are_within_a_tenth_of_a_second(
    condition, offset, drift, clips, activities
):
    # Given speech (clean, or under a music bed and noise) and its captions shifted by
    # `offset` seconds and stretched by `drift`
    clip = clips[condition]
    cues = _as_cues(clip, offset, drift)

    # When the captions are synchronised to the speech
    result = synchronise(activities[condition], cues)

    # Then the corrected cue starts are within 0.10 s of the truth on average, the fitted
    # drift undoes the stretch, the fit is confident, and one offset covers every cue (a
    # linear case is never cut into segments)
    assert _error(clip, cues, (offset, drift), result) < 0.10
    assert result.drift == pytest.approx(1 / drift, abs=0.0015)
    assert result.score >= 0.8
    assert [(s.first_cue, s.last_cue) for s in result.segments] == [(0, len(cues) - 1)]
    assert result.breaks == ()


def test_captions_of_other_speech_get_a_low_score(other_speech_clip, activities):
    # Given captions whose cue times belong to a different recording
    cues = [Cue(c.start_s, c.end_s, c.text) for c in other_speech_clip.cues]

    # When they are synchronised against this clip's speech
    result = synchronise(activities["clean"], cues)

    # Then the score says the timeline cannot be trusted, and they are not cut into segments
    assert result.score < 0.5
    assert len(result.segments) == 1
    assert result.breaks == ()


def test_audio_without_speech_scores_zero(clean_clip):
    # Given silence (no speech activity at all)
    silence = SpeechActivity(robust=np.zeros(4500), precise=np.zeros(4500))

    # When captions are synchronised against it
    result = synchronise(silence, _as_cues(clean_clip, 1.0, 1.0))

    # Then nothing is claimed: no correction, score 0
    assert (result.offset_s, result.drift, result.score) == (0.0, 1.0, 0.0)


@pytest.mark.parametrize("suffix", [".srt", ".vtt"])
def test_sync_writes_corrected_captions_in_either_format(suffix, clean_clip, tmp_path):
    # Given SRT or WebVTT captions 3.2 s late and 0.3 % fast
    offset, drift = 3.2, 1.003
    captions = write_captions(
        tmp_path / f"in{suffix}", distorted_cues(clean_clip.cues, offset, drift)
    )
    out = tmp_path / f"fixed{suffix}"

    # When they are synchronised to the audio file
    result, fixed = sync_captions(clean_clip.audio, captions, out)

    # Then the written file has the corrected times (same cues, same text)
    truth = kept_truth(clean_clip.cues, offset, drift)
    assert mean_start_error(out, truth) < 0.10
    assert [c.text for c in fixed] == [t.text for t in truth]
    assert result.cues == len(truth)


def test_cli_prints_one_json_object_with_the_fit(clean_clip, tmp_path):
    # Given captions 5 s early
    captions = write_captions(tmp_path / "in.vtt", distorted_cues(clean_clip.cues, -5.0, 1.0))
    out = tmp_path / "out.vtt"

    # When the command line tool runs with --json
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "processing.align",
            "sync",
            "--audio",
            str(clean_clip.audio),
            "--captions",
            str(captions),
            "--out",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )

    # Then stdout is one JSON object with the documented fields, and the file is written
    data = json.loads(proc.stdout)
    assert data["offset_s"] == pytest.approx(5.0, abs=0.1)
    assert data["drift"] == pytest.approx(1.0, abs=0.0005)
    assert 0.8 <= data["score"] <= 1.0
    assert data["cues"] == len(kept_truth(clean_clip.cues, -5.0, 1.0))
    assert out.read_text().startswith("WEBVTT")


def test_cli_reports_unparsable_captions_as_an_error(clean_clip, tmp_path):
    # Given a captions file that is not captions
    bad = tmp_path / "bad.srt"
    bad.write_text("this is not a subtitle file\n")

    # When the tool runs on it
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "processing.align",
            "sync",
            "--audio",
            str(clean_clip.audio),
            "--captions",
            str(bad),
            "--out",
            str(tmp_path / "o.srt"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    # Then it exits non-zero with a sentence, not a traceback
    assert proc.returncode == 2
    assert "error:" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("noisy", [False, True])
def test_five_minute_clips_with_large_offset_and_drift(noisy, tmp_path_factory):
    # Given five minutes of speech with captions 8.3 s late and 0.5 % slow
    clip = generate_clip(tmp_path_factory.mktemp("long"), 300, seed=5, noisy=noisy)
    offset, drift = 8.3, 0.995
    captions = write_captions(
        tmp_path_factory.mktemp("cap") / "in.srt", distorted_cues(clip.cues, offset, drift)
    )
    out = captions.with_name("out.srt")

    # When they are synchronised
    sync_captions(clip.audio, captions, out)

    # Then the corrected starts are within 0.10 s of the truth on average
    assert mean_start_error(out, kept_truth(clip.cues, offset, drift)) < 0.10


def test_overlapping_cues_are_synchronised_not_refused(clean_clip, activities):
    # Given captions 2 s late in which every cue overlaps the next (two speakers, or a caption
    # repeated): found by a hostile-input sweep, where the fine search took a square root of
    # a negative coverage and raised
    late = _as_cues(clean_clip, 2.0, 1.0)
    cues = sorted(
        [*late, *(Cue(c.start_s + 0.5, c.end_s + 0.5, f"{c.text} (echo)") for c in late)],
        key=lambda c: c.start_s,
    )

    # When they are synchronised
    result = synchronise(activities["clean"], cues)

    # Then the offset is found as for the plain captions
    assert result.offset_s == pytest.approx(-2.0, abs=0.3)
