"""Every object under the ingest prefix ends accounted for: in an item with exactly one record,
or in the bundle whose manifest lists it. Driven through the synthesized pipeline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mmpipe.local.run.report import RunReport


def _record(report: RunReport, name: str) -> dict:
    (outcome,) = [o for o in report.outcomes if Path(o.input).name == name]
    assert outcome.record_file is not None, (name, outcome.error, outcome.cause)
    return json.loads(outcome.record_file.read_text())


def _bundle(folder: Path, manifest_name: str, listed: list[str], files: dict[str, Path]) -> None:
    folder.mkdir(parents=True)
    for name, source in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, folder / name)
    body = {"version": 1, "assets": [{"path": p} for p in listed]}
    (folder / manifest_name).write_text(json.dumps(body))


def test_files_no_bundle_takes_end_quarantined_and_nested_bundles_run(
    run_local, demo: Path, tmp_path: Path
) -> None:
    # Given an ingest prefix laid out as users get it wrong: a photo loose in bundles/, a
    # manifest named Manifest.json, a file its bundle's manifest does not list, and a bundle
    # nested two folders down
    poster = demo / "poster.png"
    root = tmp_path / "ingest"
    bundles = root / "bundles"
    bundles.mkdir(parents=True)
    shutil.copy(poster, bundles / "loose-photo.png")
    _bundle(bundles / "boot", "Manifest.json", ["front.png"], {"front.png": poster})
    _bundle(
        bundles / "shoe", "manifest.json", ["front.png"], {"front.png": poster, "extra.png": poster}
    )
    _bundle(bundles / "outer" / "inner", "manifest.json", ["views/p.png"], {"views/p.png": poster})

    # When the tree is uploaded key for key (manifests last) and runs
    report = run_local([root], tree=True)

    # Then every upload ended: the bundles with their record, the files they list in them,
    # and each file no bundle takes quarantined with its own reason
    assert report.ok, [(o.input, o.error, o.cause) for o in report.unfinished]
    assert _record(report, "loose-photo.png")["reason"]["code"] == "MANIFEST_MISSING"
    assert _record(report, "Manifest.json")["reason"]["code"] == "MISNAMED_MANIFEST"
    assert _record(report, "extra.png")["reason"]["code"] == "NOT_IN_MANIFEST"
    # boot/front.png: its folder's manifest is misnamed, so no manifest takes it
    boot_front = [o for o in report.outcomes if o.input.endswith("boot/front.png")]
    assert [json.loads(o.record_file.read_text())["reason"]["code"] for o in boot_front] == [
        "MANIFEST_MISSING"
    ]
    processed = [o for o in report.outcomes if o.place in ("processed", "degraded")]
    assert sorted(Path(o.input).parent.name for o in processed) == ["inner", "shoe"]
    # shoe/front.png and outer/inner/views/p.png are accounted for by their bundles
    assert report.files_in_bundles == 2
    assert len(report.outcomes) == 6


def test_objects_the_dispatcher_never_starts_get_a_failure_record(run_local, demo: Path) -> None:
    # Given a dispatcher that fails on every delivery
    report = run_local([demo / "poster.png", demo / "product"], inject="lambda-raise=dispatcher")

    # Then each object's event reached the Undispatched queue after the buffer's retries, and
    # its recorder wrote one failure record per object: nothing is left without one
    assert report.ok, [(o.input, o.error, o.cause) for o in report.unfinished]
    assert {o.place for o in report.outcomes} == {"failed"}
    assert {o.error for o in report.outcomes} == {"NotDispatched"}
    assert any(Path(o.input).name == "poster.png" for o in report.outcomes)


def test_a_dispatcher_failing_after_it_started_the_item_leaves_the_record_to_it(
    run_local, demo: Path
) -> None:
    # Given a dispatcher that starts the execution, then fails (a timeout after its call)
    report = run_local([demo / "poster.png"], inject="lambda-raise-after=dispatcher")

    # Then the redelivered event finds the execution (no second one), the recorder finds it
    # too, and the item ends with its own single record
    assert report.ok, [(o.input, o.error, o.cause) for o in report.unfinished]
    assert [o.place for o in report.outcomes] == ["processed"]


def test_a_lost_transcribe_event_resumes_with_the_finished_job(run_local, demo: Path) -> None:
    # Given Transcribe jobs whose completion events never arrive
    report = run_local([demo / "speech.wav"], inject="transcribe-event-lost", callback_floor_s=5)

    # Then the wait timed out, the job was checked once, and the item went on with it
    (speech,) = report.outcomes
    assert speech.place == "processed", (speech.error, speech.cause)
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in speech.history
        if e["type"].endswith("StateEntered")
    ]
    assert "Check the job once more" in entered
