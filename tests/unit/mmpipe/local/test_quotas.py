"""The emulated quotas answer past the limit as the services do, and accept again when the
emulated minute has passed or a slot has been given back."""

from __future__ import annotations

import time

import pytest

from mmpipe.local.quotas import EmulatedClock, EmulatedQuotas, QuotaRefused
from pipeline.config import ModelQuota, Quotas

LOW = Quotas(
    bedrock={"m": ModelQuota(requests_per_minute=2, tokens_per_minute=1_000)},
    transcribe_concurrent_jobs=1,
    sagemaker_processing_instances=1,
)


def test_bedrock_throttles_past_the_requests_of_a_minute_then_accepts_again() -> None:
    now = [0.0]
    quotas = EmulatedQuotas(LOW, lambda: now[0])
    quotas.bedrock_call("m", 10)
    quotas.bedrock_call("m", 10)
    with pytest.raises(QuotaRefused) as refused:
        quotas.bedrock_call("m", 10)
    assert (refused.value.error_type, refused.value.code) == ("ThrottlingException", 429)
    now[0] = 60.5
    quotas.bedrock_call("m", 10)
    assert quotas.refused["bedrock"] == 1


def test_bedrock_throttles_past_the_tokens_of_a_minute() -> None:
    quotas = EmulatedQuotas(LOW, lambda: 0.0)
    quotas.bedrock_call("m", 900)
    with pytest.raises(QuotaRefused):
        quotas.bedrock_call("m", 200)


def test_transcribe_refuses_a_job_past_the_concurrent_jobs_until_one_ends() -> None:
    quotas = EmulatedQuotas(LOW, lambda: 0.0)
    quotas.transcribe_job_started("job-1")
    quotas.transcribe_job_started("job-1")  # the same name again: the service's conflict
    with pytest.raises(QuotaRefused) as refused:
        quotas.transcribe_job_started("job-2")
    assert refused.value.error_type == "LimitExceededException"
    quotas.transcribe_job_ended("job-1")
    quotas.transcribe_job_started("job-2")


def test_sagemaker_refuses_an_instance_past_the_quota_until_one_is_free() -> None:
    quotas = EmulatedQuotas(LOW, lambda: 0.0)
    assert quotas.processing_instance_started("ml.m5.large") is None
    refusal = quotas.processing_instance_started("ml.m5.large")
    assert refusal is not None
    assert "'ml.m5.large for processing job usage' is 1 Instances" in refusal
    quotas.processing_instance_ended()
    assert quotas.processing_instance_started("ml.m5.large") is None


def test_the_emulated_clock_runs_at_the_time_scale() -> None:
    clock = EmulatedClock(0.01)
    first = clock()
    time.sleep(0.05)
    assert clock() - first >= 4.9  # 0.05 s of real time is 5 emulated seconds
