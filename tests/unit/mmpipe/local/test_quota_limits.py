"""Lambda's concurrency and StartExecution's token bucket, emulated as AWS answers past them,
and `--inject quota=SERVICE:N`, which lowers any emulated quota for a run."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from botocore.credentials import ReadOnlyCredentials

from mmpipe.local.faults import Faults, FaultSpecError, parse_faults
from mmpipe.local.moto_patches.shared import asynchronous_invocation
from mmpipe.local.quotas import EmulatedQuotas, QuotaRefused
from mmpipe.local.run.lambda_host import LambdaHost
from pipeline.config import Quotas

RELEASE = threading.Event()
ENTERED = threading.Event()


def blocking_handler(event: Any, context: Any) -> dict[str, Any]:
    """A handler that holds its execution environment until the test releases it."""
    ENTERED.set()
    RELEASE.wait(10)
    return {"ok": event}


def _quotas(**lowered: int) -> Quotas:
    return parse_faults(",".join(f"quota={k}:{v}" for k, v in lowered.items())).lowered_quotas(
        Quotas()
    )


def test_lambda_refuses_an_invocation_past_the_concurrency_until_one_ends() -> None:
    quotas = EmulatedQuotas(_quotas(**{"lambda": 1}), lambda: 0.0)
    quotas.lambda_invocation_started()
    with pytest.raises(QuotaRefused) as refused:
        quotas.lambda_invocation_started()
    assert (refused.value.error_type, refused.value.code) == ("TooManyRequestsException", 429)
    assert refused.value.message == "Rate Exceeded."
    quotas.lambda_invocation_ended()
    quotas.lambda_invocation_started()
    assert quotas.refused["lambda"] == 1


def test_an_asynchronous_invocation_waits_for_a_slot_instead() -> None:
    quotas = EmulatedQuotas(_quotas(**{"lambda": 1}), lambda: 0.0)
    quotas.lambda_invocation_started()
    waited = threading.Thread(target=quotas.lambda_invocation_started, kwargs={"wait": True})
    waited.start()
    waited.join(0.2)
    assert waited.is_alive()  # still waiting: the one slot is taken
    quotas.lambda_invocation_ended()
    waited.join(5)
    assert not waited.is_alive()
    assert quotas.refused["lambda"] == 0


def test_the_lambda_host_refuses_past_the_concurrency_and_runs_again_when_one_ends() -> None:
    # Given a host whose account runs one function at a time, and one invocation running
    quotas = EmulatedQuotas(_quotas(**{"lambda": 1}), lambda: 0.0)
    credentials = {"fn": ReadOnlyCredentials("AKIDLOCAL", "secret", None)}
    host = LambdaHost({}, credentials, Faults(), quotas)
    handler = f"{__name__}.blocking_handler"
    RELEASE.clear()
    ENTERED.clear()
    first = threading.Thread(target=host, args=("fn", handler, {"n": 1}))
    first.start()
    assert ENTERED.wait(10)

    # When another arrives, it is refused as Lambda refuses it
    with pytest.raises(QuotaRefused):
        host("fn", handler, {"n": 2})

    # And once the first ends, the next one runs
    RELEASE.set()
    first.join(10)
    assert host("fn", handler, {"n": 3}) == {"ok": {"n": 3}}
    assert quotas.refused["lambda"] == 1


def test_an_event_delivery_waits_in_the_lambda_host() -> None:
    quotas = EmulatedQuotas(_quotas(**{"lambda": 1}), lambda: 0.0)
    quotas.lambda_invocation_started()  # the account's one slot is taken
    host = LambdaHost({}, {"fn": ReadOnlyCredentials("AKIDLOCAL", "s", None)}, Faults(), quotas)
    RELEASE.set()
    results: list[Any] = []

    def deliver() -> None:
        token = asynchronous_invocation.set(True)
        try:
            results.append(host("fn", f"{__name__}.blocking_handler", {"e": 1}))
        finally:
            asynchronous_invocation.reset(token)

    delivery = threading.Thread(target=deliver)
    delivery.start()
    delivery.join(0.2)
    assert delivery.is_alive()
    quotas.lambda_invocation_ended()
    delivery.join(10)
    assert results == [{"ok": {"e": 1}}]


def test_start_execution_is_throttled_when_the_bucket_is_empty_then_refills() -> None:
    now = [0.0]
    quotas = EmulatedQuotas(_quotas(sfn=2), lambda: now[0])
    quotas.execution_start()
    quotas.execution_start()
    with pytest.raises(QuotaRefused) as refused:
        quotas.execution_start()
    assert refused.value.error_type == "ThrottlingException"
    now[0] = 0.5  # half a second at two tokens a second: one token back
    quotas.execution_start()
    with pytest.raises(QuotaRefused):
        quotas.execution_start()
    now[0] = 10.0  # refilled, but never past the burst
    quotas.execution_start()
    quotas.execution_start()
    with pytest.raises(QuotaRefused):
        quotas.execution_start()
    assert quotas.refused["stepfunctions"] == 3


def test_quota_faults_lower_the_configured_quotas() -> None:
    faults = parse_faults(
        "quota=bedrock:5,quota=bedrock-tokens:900,quota=transcribe:2,quota=sagemaker:1,"
        "quota=lambda:3,quota=sfn:4"
    )
    lowered = faults.lowered_quotas(Quotas())
    assert lowered.model("us.amazon.nova-lite-v1:0").requests_per_minute == 5
    assert lowered.model("any.other-model").tokens_per_minute == 900
    assert lowered.transcribe_concurrent_jobs == 2
    assert lowered.sagemaker_processing_instances == 1
    assert lowered.lambda_concurrent_executions == 3
    assert (lowered.sfn_start_execution_burst, lowered.sfn_start_execution_per_second) == (4, 4)
    assert "quota=transcribe:2" in faults.describe()
    assert Faults().lowered_quotas(Quotas()) == Quotas()


def test_quota_faults_mix_with_the_other_faults() -> None:
    faults = parse_faults("bedrock-throttle=0.3,deny=s3:PutObject,quota=transcribe:2,events-fail")
    assert faults.bedrock_throttle == 0.3
    assert faults.deny == frozenset({"s3:PutObject"})
    assert faults.events_fail
    assert faults.quotas == {"transcribe": 2}


@pytest.mark.parametrize("spec", ["quota=transcribe", "quota=nothing:2", "quota=lambda:0"])
def test_a_quota_fault_needs_a_known_service_and_a_count(spec: str) -> None:
    with pytest.raises(FaultSpecError, match="quota needs SERVICE:N"):
        parse_faults(spec)
