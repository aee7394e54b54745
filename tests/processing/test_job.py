"""The SageMaker Processing job, run in-process and as the container would run it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from benchmarks._media import (
    distorted_cues,
    kept_truth,
    make_video,
    mean_start_error,
    write_captions,
)
from pipeline_contracts.item import Asset, ItemPlan, ObjectRef
from pipeline_contracts.work.alignment import AlignmentReport
from processing.job import run_job
from processing.plan import PlanError, asset_file
from tests.fakes import plan_fields

OFFSET, DRIFT = -2.75, 1.004


def _asset(asset_id: str, path: str, modality: str, fmt: str, **kw) -> Asset:
    return Asset(
        asset_id=asset_id,
        path=path,
        modality=modality,
        media_format=fmt,
        mime_type="application/octet-stream",
        size_bytes=1,
        source=ObjectRef(bucket="ingest", key=f"incoming/bundles/b1/{path}"),
        **kw,
    )


def _write_plan(root: Path, assets: list[Asset], kind: str = "bundle") -> None:
    plan = ItemPlan(
        item_id="item-1",
        kind=kind,
        source=ObjectRef(bucket="ingest", key="incoming/x"),
        accepted=True,
        assets=assets,
        **plan_fields("item-1"),
    )
    (root / "plan").mkdir(parents=True)
    (root / "plan" / "plan.json").write_text(plan.model_dump_json())


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, media_cache, clean_clip):
    """A bundle: a talk video with speech, its late and stretched captions, a slide image."""
    root = tmp_path_factory.mktemp("job-input")
    media = root / "media"
    (media / "subs").mkdir(parents=True)
    video_file = media_cache / "talk.mp4"
    if not video_file.exists():
        make_video(video_file, clean_clip.audio, [15.0, 15.0, 15.0])
    shutil.copy(video_file, media / "talk.mp4")
    write_captions(media / "subs" / "talk.en.srt", distorted_cues(clean_clip.cues, OFFSET, DRIFT))
    Image.effect_mandelbrot((320, 240), (-2, -1.5, 1, 1.5), 100).save(media / "slide.png")
    (media / "words.json").write_text(
        json.dumps(
            {
                "words": [
                    {"start": c.start_s, "end": c.start_s + 0.3, "text": c.text.split()[0]}
                    for c in clean_clip.cues
                ]
            }
        )
    )
    _write_plan(
        root,
        [
            _asset("v", "talk.mp4", "video", "mp4", has_audio=True, has_video=True),
            _asset(
                "c", "subs/talk.en.srt", "captions", "srt", role="captions", syncs_with="talk.mp4"
            ),
            _asset("s", "slide.png", "image", "png", role="slides"),
            _asset("t", "words.json", "text", "json", role="transcript"),
        ],
    )
    return root


@pytest.fixture(scope="module")
def job_output(bundle, tmp_path_factory):
    out = tmp_path_factory.mktemp("job-output")
    return run_job(bundle, out), out / "alignment"


def test_job_synchronises_the_captions_to_the_video(job_output, clean_clip):
    # Given a bundle whose captions are 2.75 s early and 0.4 % fast against the talk video
    report, out = job_output

    # Then the sync is reported with a high score and the corrected captions are right
    (sync,) = report.syncs
    assert (sync.captions_path, sync.media_path) == ("subs/talk.en.srt", "talk.mp4")
    assert sync.score >= 0.8
    assert report.score == sync.score
    assert sync.drift == pytest.approx(1 / DRIFT, abs=0.0015)
    assert sync.corrected_captions == "captions/subs__talk.en.vtt"
    truth = kept_truth(clean_clip.cues, OFFSET, DRIFT)
    assert mean_start_error(out / sync.corrected_captions, truth) < 0.10


def test_job_reports_scenes_quality_and_the_joined_timeline(job_output):
    # Given the same job's report
    report, out = job_output

    # Then three scenes with keyframes, audio quality, the keyframes' quality (not the slide's:
    # images are measured where the vision branch decodes them), and a timeline of all three
    assert [s.start_s for s in report.scenes] == pytest.approx([0, 15, 30], abs=0.12)
    assert all((out / s.keyframe).is_file() for s in report.scenes)
    assert set(report.quality.audio) == {"talk.mp4"}
    assert report.quality.audio["talk.mp4"].clipping_ratio == 0.0
    assert set(report.quality.images) == {s.keyframe for s in report.scenes}
    counts = report.timeline_counts
    assert (counts.scenes, counts.cues) == (3, report.syncs[0].cues)
    assert counts.words > 0
    assert {e.kind for e in report.timeline} == {"scene", "cue", "word"}
    assert sum(1 for _ in (out / "timeline.jsonl").open()) == counts.words + counts.cues + 3
    assert report.warnings == []


def test_alignment_json_round_trips_through_the_model(job_output):
    # Given the written alignment.json
    report, out = job_output

    # When it is read back with the pydantic model
    loaded = AlignmentReport.model_validate_json((out / "alignment.json").read_text())

    # Then it is the same report, schema 1.0
    assert loaded == report
    assert loaded.schema_version == "1.0"


def test_single_object_audio_item_gets_quality_and_no_score(tmp_path, clean_clip):
    # Given a single-object item: one audio file, stored under its key's basename
    root = tmp_path / "in"
    (root / "media").mkdir(parents=True)
    shutil.copy(clean_clip.audio, root / "media" / "call.wav")
    asset = Asset(
        asset_id="a",
        path="call.wav",
        modality="audio",
        media_format="wav",
        mime_type="audio/wav",
        size_bytes=1,
        source=ObjectRef(bucket="ingest", key="incoming/2026/call.wav"),
    )
    _write_plan(root, [asset], kind="object")

    # When the job runs
    report = run_job(root, tmp_path / "out")

    # Then there is nothing to align (score None) but the audio is measured
    assert report.score is None
    assert report.syncs == []
    assert report.quality.audio["call.wav"].silence_ratio > 0.05


def test_captions_with_nothing_to_sync_with_become_a_warning(tmp_path, clean_clip):
    # Given captions whose syncs_with names an asset that is not in the item
    root = tmp_path / "in"
    (root / "media").mkdir(parents=True)
    write_captions(root / "media" / "c.vtt", clean_clip.cues)
    _write_plan(root, [_asset("c", "c.vtt", "captions", "webvtt", syncs_with="missing.mp4")])

    # When the job runs
    report = run_job(root, tmp_path / "out")

    # Then the item is not failed: a warning says why, cues still reach the timeline
    assert report.score is None
    assert any("missing.mp4" in w for w in report.warnings)
    assert report.timeline_counts.cues == len(clean_clip.cues)


def test_missing_plan_is_a_plan_error(tmp_path):
    # Given an input root without plan/plan.json
    # When the job runs / Then it raises PlanError
    with pytest.raises(PlanError):
        run_job(tmp_path, tmp_path / "out")


def test_asset_paths_cannot_escape_the_media_folder(tmp_path):
    # Given an asset path with a parent reference
    asset = _asset("a1-escape", "../plan/plan.json", "captions", "webvtt")

    # When its file is resolved / Then it is refused
    with pytest.raises(PlanError):
        asset_file(tmp_path, asset)


@pytest.mark.parametrize("name", ["5:00pm.png", " clip.png", "clip.png ", "scan\\1.png"])
def test_a_single_object_named_as_s3_allows_is_found(tmp_path, name):
    # Given a single object whose name the manifest's path rule would refuse, staged as is
    (tmp_path / name).write_bytes(b"x")
    asset = _asset("a1-name", name, "image", "png")

    # When its file is resolved, Then it is the staged file (the name leaves nothing)
    assert asset_file(tmp_path, asset) == tmp_path / name


def test_container_entrypoint_runs_the_job_with_root_overrides(bundle, tmp_path):
    # Given the code laid out as the job's code input (the contents of processing/)
    code = tmp_path / "code"
    shutil.copytree(
        Path(__file__).parents[2] / "processing", code, ignore=shutil.ignore_patterns("__pycache__")
    )
    out = tmp_path / "out"

    # When the container entrypoint runs with --input-root/--output-root, on a Python whose
    # packages are present but that cannot see this checkout (-S: no .pth, no editable install)
    site_packages = next(p for p in sys.path if p.endswith("site-packages"))
    proc = subprocess.run(
        [
            sys.executable,
            "-S",
            str(code / "run_in_container.py"),
            "--input-root",
            str(bundle),
            "--output-root",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={"PYTHONPATH": site_packages, "PATH": "/usr/bin:/bin"},
    )

    # Then it exits 0 and writes alignment.json with a score
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["score"] >= 0.8
    assert (out / "alignment" / "alignment.json").is_file()


def test_job_cli_exits_2_on_a_missing_plan(tmp_path):
    # Given an empty input root
    # When the job's command line runs
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "processing.job",
            "--input-root",
            str(tmp_path),
            "--output-root",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    # Then it fails with exit code 2 and says why
    assert proc.returncode == 2
    assert "no plan" in proc.stderr


def test_container_entrypoint_without_packages_or_wheelhouse_says_so(tmp_path):
    # Given the code alone, on a Python that has none of the job's packages
    code = tmp_path / "processing"
    shutil.copytree(
        Path(__file__).parents[2] / "processing",
        code,
        ignore=shutil.ignore_patterns("__pycache__", "wheelhouse"),
    )

    # When the container entrypoint starts
    proc = subprocess.run(
        [sys.executable, "-S", str(code / "run_in_container.py")],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )

    # Then it stops with a sentence naming what is missing and where to look
    assert proc.returncode != 0
    assert "no wheelhouse/" in proc.stderr
    assert "numpy" in proc.stderr
