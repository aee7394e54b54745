"""`--inject`: the pipeline's own Retry/Catch handles each fault; nothing hangs, and every
item still ends in exactly one terminal place."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.conftest import outcome_for


def _result(outcome) -> dict:
    return json.loads(outcome.record_file.read_text())


def test_scattered_bedrock_throttling_is_absorbed(run_local, demo: Path) -> None:
    # Given 30 % of the model requests throttled
    # When an image and a bundle run
    report = run_local([demo / "poster.png", demo / "product"], inject="bedrock-throttle=0.3")

    # Then the SDK's and the state machine's retries absorbed it: both processed
    assert report.ok
    assert {o.place for o in report.outcomes} == {"processed"}


def test_a_throttling_burst_is_retried_by_the_state_machine(run_local, demo: Path) -> None:
    # Given the first 12 model requests throttled: more than the SDK retries on its own
    # When one image runs
    report = run_local([demo / "poster.png"], inject="bedrock-throttle-burst=12")

    # Then the handler raised ServiceThrottled, the state machine retried, the item processed
    poster = outcome_for(report, "poster.png")
    assert poster.place == "processed"
    failures = [
        e
        for e in poster.history
        if e["type"] == "LambdaFunctionFailed"
        and e["lambdaFunctionFailedEventDetails"]["error"] == "ServiceThrottled"
    ]
    assert failures, "expected the state machine to retry a throttled call"


def test_transcribe_throttling_is_retried(run_local, demo: Path) -> None:
    report = run_local([demo / "speech.wav"], inject="transcribe-throttle=0.3")
    assert report.ok
    assert outcome_for(report, "speech.wav").place == "processed"


def test_failing_transcribe_job_degrades_the_item(run_local, demo: Path) -> None:
    # Given every Transcribe job fails
    report = run_local([demo / "speech.wav"], inject="transcribe-fail")

    # Then the audio branch records the failure and the item continues, degraded
    speech = outcome_for(report, "speech.wav")
    assert speech.place == "degraded"
    result = _result(speech)
    assert "audio" in result["degraded_branches"]
    audio = next(b for b in result["branches"] if b["branch"] == "audio")
    assert audio["status"] == "failed"
    assert audio["failure"]["error"] == "TranscriptionFailed"


def test_failing_alignment_job_degrades_the_item(run_local, demo: Path) -> None:
    report = run_local([demo / "lecture"], inject="sagemaker-fail")
    lecture = outcome_for(report, "lecture")
    assert lecture.place == "degraded"
    result = _result(lecture)
    assert "alignment" in result["degraded_branches"]
    alignment = next(b for b in result["branches"] if b["branch"] == "alignment")
    assert alignment["failure"]["error"] == "States.TaskFailed"


def test_malformed_model_output_is_flagged_not_crashed(run_local, demo: Path) -> None:
    # Given a model that never answers with the JSON asked for
    report = run_local([demo / "poster.png"], inject="model-malformed")

    # Then the gates flag it (after the one repair attempt) and the item is degraded
    poster = outcome_for(report, "poster.png")
    assert poster.place == "degraded"
    result = _result(poster)
    assert any(not g["passed"] for g in result["gates"])
    assert result["fused"] is None


def test_a_raising_lambda_fails_the_item_with_a_record(run_local, demo: Path) -> None:
    # Given the fusion Lambda raises
    report = run_local([demo / "poster.png", demo / "broken.png"], inject="lambda-raise=fusion")

    # Then the item fails, with a failure record naming the state and the error
    poster = outcome_for(report, "poster.png")
    assert poster.place == "failed"
    assert poster.status == "FAILED"
    record = _result(poster)
    assert record["failed_state"] == "Fuse modalities"
    assert record["failure"]["error"] == "InjectedFault"
    # And the quarantined item is unaffected; the counts still add up
    assert outcome_for(report, "broken.png").place == "quarantined"
    assert report.ok
    assert sum(report.counts().values()) == 2


def test_an_ending_the_state_machine_could_not_record_is_recorded_by_its_status_change(
    run_local, demo: Path
) -> None:
    # Given fusion fails and so does the state machine's own failure recorder
    report = run_local(
        [demo / "poster.png"], inject="lambda-raise=fusion,lambda-raise=failure_recorder"
    )

    # Then the execution's FAILED status-change event reached the endings recorder: the item
    # ends failed with exactly one record, which says how the execution ended
    poster = outcome_for(report, "poster.png")
    assert (poster.status, poster.place) == ("FAILED", "failed")
    record = json.loads(poster.record_file.read_text())
    assert record["failed_state"] == "execution FAILED"
    assert report.ok


def test_a_failed_item_without_a_failure_record_is_not_a_terminal_place(
    run_local, demo: Path
) -> None:
    # Given fusion fails and so do both recorders: the execution fails, no record
    report = run_local(
        [demo / "poster.png"],
        inject="lambda-raise=fusion,"
        "lambda-raise=failure_recorder,"
        "lambda-raise=record_execution_ending",
    )

    # Then the run does not count it as ended: one record per item is the promise
    poster = outcome_for(report, "poster.png")
    assert poster.status == "FAILED"
    assert (poster.place, poster.error) == (None, "NoRecord")
    assert not report.ok
    assert sum(report.counts().values()) == 0


def test_an_event_that_cannot_be_sent_leaves_the_item_processed(run_local, demo: Path) -> None:
    # Given EventBridge refuses the pipeline's ItemProcessed events
    report = run_local([demo / "poster.png"], inject="events-fail")

    # Then the item keeps its one record, processed; the event waits in the outbox queue
    poster = outcome_for(report, "poster.png")
    assert (poster.status, poster.place) == ("SUCCEEDED", "processed")
    states = [e.get("stateEnteredEventDetails", {}).get("name") for e in poster.history]
    assert "Keep the unsent announcement" in states
    assert "Record failure" not in states
    kept = [
        e
        for e in poster.history
        if e["type"] == "TaskSucceeded" and e["taskSucceededEventDetails"]["resourceType"] == "sqs"
    ]
    assert kept, "the unsent event should have been kept in its queue"


def test_a_failure_after_the_result_is_written_keeps_the_item_processed(
    run_local, demo: Path
) -> None:
    # Given the result writer writes the result, then fails (a timeout right after, say)
    report = run_local([demo / "poster.png"], inject="lambda-raise-after=result_writer")

    # Then the failure recorder finds the result and records nothing: one record, processed
    poster = outcome_for(report, "poster.png")
    assert (poster.status, poster.place) == ("SUCCEEDED", "processed")
    states = [e.get("stateEnteredEventDetails", {}).get("name") for e in poster.history]
    assert "Was the item processed after all?" in states
    assert not (report.out_dir / "failures").exists()


def test_throttling_past_the_retry_budget_still_ends_in_one_record(run_local, demo: Path) -> None:
    # Given every model call throttled, for longer than the hours the state machine waits
    # (run at a time scale where its 80 attempts, up to 5 minutes apart, take seconds)
    report = run_local(
        [demo / "poster.png", demo / "speech.wav"],
        inject="bedrock-throttle=1.0",
        time_scale=0.0002,
        timeout_s=300,
    )

    # Then nothing hangs and each item has exactly one record
    assert report.ok
    assert sum(report.counts().values()) == 2
    # And the image, whose every model call was refused, is degraded, never shown processed:
    # its vision branch failed with the throttling named, and it has no fused answer
    poster = _result(outcome_for(report, "poster.png"))
    assert poster["status"] == "degraded"
    vision = next(b for b in poster["branches"] if b["branch"] == "vision")
    assert vision["failure"]["error"] == "ServiceThrottled"
    assert poster["fused"] is None
    # And the speech, whose transcript was fine but whose fusion was refused, failed there
    speech = outcome_for(report, "speech.wav")
    assert speech.place == "failed"
    record = json.loads(speech.record_file.read_text())
    assert record["failed_state"] == "Fuse modalities"
    assert record["failure"]["error"] == "ServiceThrottled"
