"""Bundles at the documented limits, through the synthesized pipeline: the state carries ids
and S3 URIs (Step Functions refuses a state over 256 KB), and one bad asset does not blank
the bundle."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from PIL import Image

from pipeline.domain.asset_inspection import asset_id_for
from tests.integration.conftest import DEMO, outcome_for

# The manifest allows 512-character paths; Transcribe allows a 50 KB (51,200-byte) vocabulary.
MAX_PATH_CHARS = 512
VOCABULARY_PHRASES = 1000
# Well under the 256 KB Step Functions allows: the state must not grow with paths or phrases.
STATE_BUDGET_BYTES = 64 * 1024


def _letters(number: int) -> str:
    # Transcribe phrases spell numbers out: letters only.
    return "".join("abcdefghij"[int(digit)] for digit in f"{number:04d}")


def _vocabulary() -> list[str]:
    phrases = [f"term-{_letters(n)}-" + "x" * 39 for n in range(VOCABULARY_PHRASES)]
    assert 49_000 < len("\n".join(phrases).encode()) < 51_200  # just under 50 KB, as sent
    return phrases


def _long_path(number: int, extension: str) -> str:
    """A path near the 512-character limit, spread over three levels of nested folders."""
    folders = ["d" * 119 + str(number % 2), "e" * 119 + str(number % 3), "f" * 119 + "0"]
    name = f"{'n' * 130}-{number:02d}.{extension}"
    path = "/".join([*folders, name])
    assert MAX_PATH_CHARS - 20 < len(path) <= MAX_PATH_CHARS
    return path


def _bundle_at_the_limits(root: Path) -> Path:
    """50 assets (wav, png and txt; one png is the slides the recordings narrate, so audio,
    vision and alignment all run)."""
    folder = root / "limits"
    assets = []
    for number in range(50):
        extension = ("wav", "png", "txt")[number % 3]
        path = _long_path(number, extension)
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if extension == "wav":
            shutil.copyfile(DEMO / "speech.wav", target)
        elif extension == "png":
            shutil.copyfile(DEMO / "poster.png", target)
        else:
            target.write_text(f"Note {number}: the blue kettle boils 1.7 litres in 3 minutes.\n")
        role = {0: "primary", 1: "slides"}.get(number, "supplementary")
        assets.append({"path": path, "role": role})
    manifest = {
        "version": 1,
        "profile": "general",
        "language": "en-US",
        "vocabulary": _vocabulary(),
        "assets": assets,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_a_bundle_at_every_documented_limit_carries_ids_not_payloads(run_local, tmp_path: Path):
    # Given a bundle at every documented limit: 50 assets, paths near 512 characters in
    # nested folders, a vocabulary just under 50 KB, audio, images and text
    bundle = _bundle_at_the_limits(tmp_path)

    # When it runs through the synthesized pipeline
    report = run_local([bundle], timeout_s=240.0)

    # Then it ends with exactly one record, processed or degraded
    assert report.ok
    assert sum(report.counts().values()) == 1
    outcome = outcome_for(report, "limits")
    assert outcome.place in ("processed", "degraded"), (outcome.error, outcome.cause)
    result = json.loads(outcome.record_file.read_text())
    assert len(result["assets"]) == 50
    assert len(result["transcripts"]) == 17
    assert len(result["vision"]) == 17
    assert result["alignment"] is not None
    # And no state came near Step Functions' limit: ids and URIs travel, payloads stay in S3
    # (measured: about 23 KB, in about 25 s; the whole plan alone is over 120 KB)
    summary = json.loads((report.out_dir / "summary.json").read_text())
    print(f"largest state: {report.largest_state_bytes} bytes")
    assert summary["largest_state_bytes"] == report.largest_state_bytes
    assert 0 < report.largest_state_bytes < STATE_BUDGET_BYTES


def test_one_failed_asset_does_not_blank_the_bundle(run_local, tmp_path: Path):
    # Given a bundle of four images, the last of which fails in its own Map iteration
    folder = tmp_path / "four-images"
    folder.mkdir()
    names = [f"photo-{number}.png" for number in range(4)]
    for name in names:
        shutil.copyfile(DEMO / "poster.png", folder / name)
    manifest = {"version": 1, "assets": [{"path": name} for name in names]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    bad = asset_id_for(names[-1])

    # When it runs, with "Prepare media for the model" failing for that asset only
    report = run_local([folder], inject=f"lambda-raise=prepare_media@{bad}")

    # Then the item ends degraded, with its one record
    assert report.ok
    outcome = outcome_for(report, "four-images")
    assert outcome.place == "degraded", (outcome.error, outcome.cause)
    result = json.loads(outcome.record_file.read_text())
    assert result["degraded_branches"] == ["vision"]
    # And the three good images were analysed
    analysed = {v["asset_id"] for v in result["vision"] if v["analysis"] is not None}
    assert analysed == {asset_id_for(name) for name in names[:-1]}
    # And the record says which asset failed, and why
    (vision,) = [b for b in result["branches"] if b["branch"] == "vision"]
    assert vision["status"] == "flagged"
    (failed,) = vision["failed_assets"]
    assert (failed["asset_id"], failed["error"]) == (bad, "InjectedFault")
    assert "prepare_media raised on request" in failed["cause"]
    assert result["fused"] is not None


def test_three_good_images_and_a_pdf_over_the_models_limit_end_degraded_not_blank(
    run_local, tmp_path: Path
):
    # Given three images and a 5 MB PDF: over the 4.5 MB Converse reads in one document
    folder = tmp_path / "spec-sheet"
    folder.mkdir()
    names = [f"photo-{number}.png" for number in range(3)]
    for name in names:
        shutil.copyfile(DEMO / "poster.png", folder / name)
    noise = Image.frombytes("RGB", (1800, 1400), random.Random(7).randbytes(1800 * 1400 * 3))
    noise.save(folder / "spec.pdf", "PDF", quality=100)
    assert (folder / "spec.pdf").stat().st_size > 4_718_592
    manifest = {"version": 1, "assets": [{"path": n} for n in [*names, "spec.pdf"]]}
    (folder / "manifest.json").write_text(json.dumps(manifest))

    # When it runs
    report = run_local([folder])

    # Then the bundle is not quarantined for one asset: the images are analysed, the PDF
    # is marked failed with why, and the item ends degraded with its one record
    assert report.ok
    outcome = outcome_for(report, "spec-sheet")
    assert outcome.place == "degraded", (outcome.error, outcome.cause)
    result = json.loads(outcome.record_file.read_text())
    analysed = {v["asset_id"] for v in result["vision"] if v["analysis"] is not None}
    assert analysed == {asset_id_for(name) for name in names}
    (vision,) = [b for b in result["branches"] if b["branch"] == "vision"]
    (failed,) = vision["failed_assets"]
    assert failed["asset_id"] == asset_id_for("spec.pdf")
    assert failed["error"] == "MediaNotPreparable"
