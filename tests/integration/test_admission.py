"""Admission control end to end: with the account's quotas lowered (configuration, at synth),
a burst of items waits for capacity and then proceeds; none is degraded by quotas."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from mmpipe.local.faults import parse_faults
from mmpipe.local.run.report import RunReport
from mmpipe.local.run.runner import LocalRun
from mmpipe.local.synth import synthesized
from mmpipe.local.waits import waits_in

LOWERED = {
    "quotas": {
        "transcribe_concurrent_jobs": 1,
        "sagemaker_processing_instances": 1,
        "bedrock": {
            "us.amazon.nova-lite-v1:0": {"requests_per_minute": 3, "tokens_per_minute": 10**6},
            "us.amazon.nova-pro-v1:0": {"requests_per_minute": 3, "tokens_per_minute": 10**6},
        },
    }
}


@pytest.fixture(scope="module")
def lowered_quotas() -> Path:
    path, _ = synthesized(pipeline=LOWERED)
    return path


def _run(cdk_out: Path, out: Path, paths: list[Path]) -> RunReport:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    return LocalRun(cdk_out, out, providers="stub", faults=parse_faults(None), timeout_s=300).run(
        paths
    )


def test_a_burst_waits_for_transcribe_slots_and_all_of_it_proceeds(
    lowered_quotas: Path, demo: Path, tmp_path: Path
) -> None:
    # Given four recordings at once and one concurrent Transcribe job for the whole account
    inputs = tmp_path / "in"
    inputs.mkdir()
    for index in range(4):
        shutil.copy(demo / "speech.wav", inputs / f"call{index}.wav")

    # When they run
    report = _run(lowered_quotas, tmp_path / "out", [inputs])

    # Then the jobs waited for each other's slot (admission control said so) ...
    waits = waits_in(report.out_dir / "executions")
    assert waits.attempts[("transcribe", "admission")] >= 1
    assert len(waits.items[("transcribe", "admission")]) >= 1
    # ... and every item was processed, none degraded: waiting is not failing
    assert report.ok
    assert report.counts()["processed"] == 4
    assert report.counts()["degraded"] == 0


def test_a_slot_an_item_still_holds_at_its_end_is_given_back(run_local, demo: Path) -> None:
    # Given a lecture whose alignment job fails after its instance was reserved (its gate never
    # gives it back), and whose item then fails in fusion (which would have)
    report = run_local([demo / "lecture"], inject="sagemaker-fail,lambda-raise=fusion")

    # Then the item ends failed, and its execution's end gave the instance back
    assert report.ok
    assert report.counts()["failed"] == 1
    logs = [
        json.loads(line)
        for line in (report.out_dir / "lambda-logs.jsonl").read_text().splitlines()
        if "Gave back capacity" in line
    ]
    assert len(logs) == 1
    (freed,) = logs[0]["freed"]
    assert freed.startswith(f"slots#sagemaker#ml.m5.large:{report.outcomes[0].item_id}/mmp-align-")


def test_a_burst_of_images_waits_for_the_models_quota_and_never_exceeds_it(
    lowered_quotas: Path, demo: Path, tmp_path: Path
) -> None:
    # Given six images at once and three model requests a minute per model for the account
    inputs = tmp_path / "in"
    inputs.mkdir()
    for index in range(6):
        shutil.copy(demo / "poster.png", inputs / f"poster{index}.png")

    # When they run (the emulated Bedrock throttles past the quota, on the run's clock)
    report = _run(lowered_quotas, tmp_path / "out", [inputs])

    # Then the model calls waited for capacity, and Bedrock never had to throttle one
    waits = waits_in(report.out_dir / "executions")
    assert waits.attempts[("bedrock", "admission")] >= 3
    assert report.quota_refusals.get("bedrock", 0) == 0
    # And every image was processed
    assert report.ok
    assert report.counts()["processed"] == 6
