"""Captions from another cut of the programme: ad breaks inserted into the audio, or present
only in the captions, found and corrected per segment (generated speech, known truth)."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pysubs2 import SSAFile

from benchmarks._breaks import CutCase, Direction, Fill, cut_case
from benchmarks._media import Clip, start_errors, write_captions
from pipeline.config import Thresholds
from pipeline.domain.alignment_review import review
from processing.captions import Cue
from processing.job import run_job
from processing.media import decode_audio
from processing.speech import RATE, SpeechActivity, speech_activity
from processing.sync import Segment, SyncResult, retimed, sync_captions, synchronise
from tests.processing.test_job import _asset, _write_plan


def _case(
    cache: Path,
    clip: Clip,
    plan: list[tuple[Direction, Fill]],
    *,
    noisy: bool,
    offset_s: float = 4.321,
    drift: float = 1.0,
    seed: int = 5,
) -> CutCase:
    rng = np.random.default_rng(seed)
    return cut_case(cache, clip, plan, noisy=noisy, offset_s=offset_s, drift=drift, rng=rng)


def _synced(case: CutCase, folder: Path) -> tuple[SyncResult, Path]:
    captions = write_captions(folder / "captions.srt", case.captions)
    out = folder / "fixed.vtt"
    result, _ = sync_captions(case.audio, captions, out)
    return result, out


def _assert_ordered_without_overlap(corrected: Path) -> None:
    events = [e for e in SSAFile.load(str(corrected)) if not e.is_comment]
    assert all(a.start <= b.start and a.end <= b.start for a, b in itertools.pairwise(events))


def test_a_break_inserted_into_the_audio_gets_a_segment_of_its_own(
    programme, media_cache, tmp_path
):
    # Given a programme with an ad break of 12-30 s that its captions' cut does not have
    case = _case(media_cache, programme, [("inserted", "ad")], noisy=False)
    cut = case.breaks[0]

    # When the captions are synchronised
    result, corrected = _synced(case, tmp_path)

    # Then the captions part in two segments at the break, which is reported as inserted,
    # as long as it is, inside the gap it sits in; every cue is within a tenth of a second
    assert len(result.segments) == 2
    (found,) = result.breaks
    assert found.kind == "inserted"
    assert found.length_s == pytest.approx(cut.length_s, abs=0.1)
    assert cut.at_s < found.audio_s < cut.at_s + cut.length_s
    errors, missing = start_errors(corrected, case.truth)
    assert missing == 0
    assert np.mean(errors) < 0.10
    assert result.score >= 0.8
    _assert_ordered_without_overlap(corrected)


def test_a_scene_only_the_captions_have_is_left_out(noisy_programme, media_cache, tmp_path):
    # Given a noisy programme whose captions come from a cut with an extra scene (captioned
    # speech this audio does not have), 0.4 % fast
    case = _case(
        media_cache, noisy_programme, [("removed", "scene")], noisy=True, drift=1.004, seed=8
    )
    cut = case.breaks[0]
    scene = [i for i, c in enumerate(case.captions) if c.text not in {t.text for t in case.truth}]
    assert scene  # the scene has cues

    # When they are synchronised
    result, corrected = _synced(case, tmp_path)

    # Then the break is reported as removed, as long as the scene, with exactly the scene's
    # cues left out; the rest are within a tenth of a second, in order, without overlap
    (found,) = result.breaks
    assert found.kind == "removed"
    assert found.length_s == pytest.approx(cut.length_s, abs=0.15)
    assert found.left_out == (scene[0], scene[-1])
    assert result.left_out_cues == len(scene)
    assert result.drift == pytest.approx(1 / 1.004, abs=0.0005)
    errors, missing = start_errors(corrected, case.truth)
    assert missing == 0
    assert np.mean(errors) < 0.10
    kept = {e.plaintext.strip() for e in SSAFile.load(str(corrected))}
    assert not kept & {case.captions[i].text for i in scene}
    _assert_ordered_without_overlap(corrected)


def test_two_breaks_one_each_way(programme, media_cache, tmp_path):
    # Given a programme with a silent gap inserted, and later an ad break only its captions
    # have (so the second stretch is late and the third early)
    case = _case(media_cache, programme, [("inserted", "silence"), ("removed", "ad")], noisy=False)

    # When the captions are synchronised
    result, corrected = _synced(case, tmp_path)

    # Then three segments, the two breaks in order with their lengths, every cue in place
    assert len(result.segments) == 3
    assert [b.kind for b in result.breaks] == ["inserted", "removed"]
    for found, cut in zip(result.breaks, case.breaks, strict=True):
        assert found.length_s == pytest.approx(cut.length_s, abs=0.1)
    errors, missing = start_errors(corrected, case.truth)
    assert missing == 0
    assert np.mean(errors) < 0.10
    _assert_ordered_without_overlap(corrected)


def test_captions_of_another_programme_are_not_forced_into_segments(programme, noisy_programme):
    # Given two minutes of speech and the captions of another two-minute programme
    activity = speech_activity(decode_audio(programme.audio, rate=RATE)[0])
    cues = [Cue(c.start_s, c.end_s, c.text) for c in noisy_programme.cues]

    # When they are synchronised
    result = synchronise(activity, cues)

    # Then they are reported as unalignable: a low score, one segment, no breaks
    assert result.score < 0.5
    assert len(result.segments) == 1
    assert result.breaks == ()


def test_cli_json_reports_segments_and_breaks(programme, media_cache, tmp_path):
    # Given captions from a cut without the scene this audio has
    case = _case(media_cache, programme, [("inserted", "scene")], noisy=False, seed=3)
    captions = write_captions(tmp_path / "captions.vtt", case.captions)

    # When the command line tool runs with --json
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "processing.align",
            "sync",
            "--audio",
            str(case.audio),
            "--captions",
            str(captions),
            "--out",
            str(tmp_path / "out.vtt"),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )

    # Then the object keeps its fields and adds the segments (cue range, offset, drift,
    # score) and the breaks (kind, where, how long)
    data = json.loads(proc.stdout)
    assert {"offset_s", "drift", "score", "cues", "agreeing_cues"} <= data.keys()
    first, second = data["segments"]
    assert first["first_cue"] == 0
    assert second["last_cue"] == data["cues"] - 1
    assert second["offset_s"] - first["offset_s"] == pytest.approx(case.breaks[0].length_s, abs=0.1)
    assert {"drift", "score", "agreeing_cues"} <= first.keys()
    (found,) = data["breaks"]
    assert found["kind"] == "inserted"
    assert found["after_cue"] == first["last_cue"]
    assert data["left_out_cues"] == 0


def test_the_job_reports_the_segments_and_the_gate_judges_each(programme, media_cache, tmp_path):
    # Given an item: a programme's audio with an ad break, and captions from the cut without it
    case = _case(media_cache, programme, [("inserted", "ad")], noisy=False, seed=11)
    root = tmp_path / "in"
    (root / "media").mkdir(parents=True)
    shutil.copy(case.audio, root / "media" / "episode.wav")
    write_captions(root / "media" / "episode.en.srt", case.captions)
    _write_plan(
        root,
        [
            _asset("a", "episode.wav", "audio", "wav", has_audio=True),
            _asset(
                "c", "episode.en.srt", "captions", "srt", role="captions", syncs_with="episode.wav"
            ),
        ],
    )

    # When the alignment job runs (as SageMaker runs it, and local mode), and the gate reads it
    report = run_job(root, tmp_path / "out")
    _, gates = review(report, "s3://b/work/alignment/", "job", "local", Thresholds())

    # Then the report carries the segments and the break, the corrected captions are right,
    # and the gate gives the file and each segment a verdict
    (sync,) = report.syncs
    assert len(sync.segments) == 2
    (found,) = sync.breaks
    assert found.kind == "inserted"
    assert found.length_s == pytest.approx(case.breaks[0].length_s, abs=0.1)
    errors, missing = start_errors(
        tmp_path / "out" / "alignment" / str(sync.corrected_captions), case.truth
    )
    assert missing == 0
    assert np.mean(errors) < 0.10
    names = {g.name: g.passed for g in gates if g.name.startswith("caption-sync")}
    first, second = sync.segments
    assert names == {
        "caption-sync:episode.en.srt": True,
        f"caption-sync:episode.en.srt:cues 0-{first.last_cue}": True,
        f"caption-sync:episode.en.srt:cues {second.first_cue}-{second.last_cue}": True,
    }


def test_corrected_cues_keep_order_and_never_overlap_when_segments_are_refined_into_each_other():
    # Given a fit whose second segment, refined to a fraction of a frame, starts 2.5 s
    # earlier than the first one ends (the reviewer's case), with an overlapping cue before it
    cues = [
        Cue(0.0, 1.0, "a"),
        Cue(2.0, 6.0, "b"),
        Cue(4.0, 5.0, "c"),
        Cue(5.5, 6.0, "d"),
        Cue(6.2, 7.0, "e"),
        Cue(8.0, 9.0, "f"),
    ]
    first = Segment(0, 2, 0.0, 1.0, 1.0, 3)
    second = Segment(3, 5, -2.5, 1.0, 1.0, 3)
    fit = SyncResult(0.0, 1.0, 1.0, 6, 6, 0.0, segments=(first, second))

    # When the corrected times are made
    fixed = [c for c in retimed(fit, cues) if c is not None]

    # Then starts never go back, and no cue runs into a later one of another segment
    assert [c.text for c in fixed] == list("abcdef")
    assert all(a.start_s <= b.start_s for a, b in itertools.pairwise(fixed))
    boundary = fixed[3].start_s
    assert all(c.end_s <= boundary for c in fixed[:3])
    assert all(c.end_s >= c.start_s for c in fixed)


def test_audio_too_short_to_segment_is_a_low_score_not_a_crash():
    # Given 30 ms of audio (shorter than one step of the search) and ten cues
    short = np.array([1.0, -1.0, 1.0])
    cues = [Cue(i + 0.2, i + 0.8, "x") for i in range(10)]

    # When they are synchronised, then the line stands with a low score
    result = synchronise(SpeechActivity(robust=short, precise=short), cues)
    assert result.score < 0.5
    assert len(result.segments) == 1
