"""The quotas admission control does not plan for, emulated end to end: Lambda's account
concurrency and StartExecution's rate, lowered for a run with `--inject quota=...`. Past them
the services refuse as AWS does, the state machine's and the SDK's retries absorb it, and the
run's summary says how many calls waited on which quota."""

from __future__ import annotations

import json
from pathlib import Path


def test_a_run_under_a_small_lambda_concurrency_still_ends_every_item(
    run_local, demo: Path
) -> None:
    # Given an account that runs three functions at once (Lambda refuses the fourth with
    # TooManyRequestsException; Step Functions retries Lambda.TooManyRequestsException)
    report = run_local([demo], inject="quota=lambda:3")

    # Then invocations were refused, and every item still ended in exactly one place
    assert report.quota_refusals.get("lambda", 0) > 0
    assert report.ok
    assert report.counts()["failed"] == 0
    summary = json.loads((report.out_dir / "summary.json").read_text())
    assert summary["quota_refusals"]["lambda"] == report.quota_refusals["lambda"]
    assert "quota=lambda:3" in summary["faults"]


def test_start_execution_past_its_bucket_is_throttled_and_retried(run_local, demo: Path) -> None:
    # Given a StartExecution bucket of one token, refilled at one a second, at real time
    # (time scale 1): at x0.01 a token came back every 10 ms, and a loaded machine's
    # dispatcher started items slower than that, so nothing was refused and the test failed
    # on CPU speed alone
    report = run_local([demo], inject="quota=sfn:1", time_scale=1.0)

    # Then the dispatcher's starts were throttled and retried, and every item still ended
    assert report.quota_refusals.get("stepfunctions", 0) > 0
    assert report.ok
