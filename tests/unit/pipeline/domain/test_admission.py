"""Admission control's rules, on an in-memory ledger: buckets refill with time, a call larger
than a minute's tokens still gets in, a model call waits rather than throttles, and an item's
end gives back only its own slots."""

from __future__ import annotations

import pytest

from pipeline.adapters.model import ImageBlock, ModelReply, ModelRequest, TextBlock
from pipeline.config import ModelQuota, Quotas
from pipeline.domain.admission import (
    AdmittedModel,
    Bucket,
    estimated_tokens,
    holder,
    release_item,
    take_slot,
)
from pipeline.errors import CapacityUnavailable
from tests.fakes import MemoryLedger

QUOTA = ModelQuota(requests_per_minute=60, tokens_per_minute=6_000)


def test_a_full_bucket_admits_a_quarter_minute_and_an_empty_one_says_how_long() -> None:
    # 6,000 tokens a minute: a full bucket holds 1,500 and refills 75 a second
    bucket = Bucket("b", QUOTA, tokens=750)
    level, wait = bucket.take(None, now=0.0)
    assert wait == 0
    assert level is not None
    assert level.tokens == 750
    level, _ = bucket.take(level, now=0.0)
    assert level is not None
    assert level.tokens == 0
    refused, wait = bucket.take(level, now=0.0)
    assert refused is None
    assert wait == pytest.approx(10.0)
    again, wait = bucket.take(level, now=10.0)
    assert again is not None
    assert wait == 0


def test_no_sixty_seconds_admit_more_than_the_quota() -> None:
    # Given callers that take whatever the bucket gives, one request each, for five minutes
    bucket = Bucket("b", ModelQuota(requests_per_minute=60, tokens_per_minute=10**6), tokens=1)
    level, admitted, now = None, [], 0.0
    while now < 300:
        taken, _ = bucket.take(level, now)
        if taken is not None:
            level = taken
            admitted.append(now)
        now += 0.05
    # Then no window of a minute holds more than the 60 requests of the quota
    assert max(sum(1 for t in admitted if start <= t < start + 60) for start in admitted) <= 60
    # And the sustained rate is three quarters of it
    assert len(admitted) >= 0.75 * 60 * 5 - 1


def test_a_call_larger_than_a_full_bucket_gets_in_and_leaves_the_bucket_in_debt() -> None:
    # 6,000 tokens a minute: a full bucket holds 1,500 and refills 75 a second
    bucket = Bucket("b", QUOTA, tokens=3_000)
    level, wait = bucket.take(None, now=0.0)
    assert wait == 0
    assert level is not None
    assert level.tokens == -1_500
    # The next call waits until the bucket has refilled the debt and its own tokens
    small = Bucket("b", QUOTA, tokens=750)
    refused, wait = small.take(level, now=0.0)
    assert refused is None
    assert wait == pytest.approx(30.0)


@pytest.mark.parametrize(("per_minute", "tokens"), [(2, 10), (60, 10), (600, 40_000)])
def test_no_sixty_seconds_admit_more_than_the_quota_even_for_large_calls(
    per_minute: int, tokens: int
) -> None:
    quota = ModelQuota(requests_per_minute=per_minute, tokens_per_minute=100_000)
    bucket = Bucket("b", quota, tokens=tokens)
    level, admitted, now = None, [], 0.0
    while now < 600:
        taken, _ = bucket.take(level, now)
        if taken is not None:
            level = taken
            admitted.append(now)
        now += 0.25
    windows = [[t for t in admitted if start <= t < start + 60] for start in admitted]
    assert max(len(w) for w in windows) <= per_minute
    assert max(len(w) * tokens for w in windows) <= 100_000 + tokens  # one call in debt


def test_estimated_tokens_count_text_images_and_the_answer() -> None:
    request = ModelRequest(
        model_id="m",
        system="s" * 400,
        content=[TextBlock(text="t" * 400), ImageBlock(format="png", data=b"x")],
        max_tokens=500,
    )
    assert estimated_tokens(request) == 200 + 1_600 + 500


class CountingModel:
    def __init__(self) -> None:
        self.calls = 0

    def converse(self, request: ModelRequest) -> ModelReply:
        self.calls += 1
        return ModelReply(text="{}", model_id=request.model_id, provider="local")


def test_a_model_call_waits_for_capacity_instead_of_being_throttled() -> None:
    model, ledger, now = CountingModel(), MemoryLedger(), [0.0]
    quotas = Quotas(bedrock={"m": ModelQuota(requests_per_minute=2, tokens_per_minute=10**6)})
    admitted = AdmittedModel(model, ledger, quotas, lambda: now[0])
    request = ModelRequest(model_id="m", system="", content=[TextBlock(text="hi")])
    admitted.converse(request)
    # 2 requests a minute: one at once, then one every 40 s (never more than 2 in a minute)
    with pytest.raises(CapacityUnavailable, match="about 40 s"):
        admitted.converse(request)
    assert model.calls == 1
    now[0] = 40.0
    admitted.converse(request)
    assert model.calls == 2


def test_a_model_the_table_does_not_name_gets_the_default_quota() -> None:
    quotas = Quotas()
    assert quotas.model("eu.some-model") == quotas.bedrock_default
    assert quotas.model("us.amazon.nova-lite-v1:0").requests_per_minute == 2000


def test_a_full_pool_makes_the_step_wait() -> None:
    ledger = MemoryLedger()
    take_slot(ledger, "slots#transcribe", holder("a", "job"), 1)
    with pytest.raises(CapacityUnavailable, match="slots#transcribe"):
        take_slot(ledger, "slots#transcribe", holder("b", "job"), 1)


def test_an_items_end_gives_back_only_its_own_slots() -> None:
    ledger = MemoryLedger()
    for name in (holder("item", "job1"), holder("item", "job2"), holder("item-2", "job1")):
        take_slot(ledger, "slots#transcribe", name, 10)
    take_slot(ledger, "slots#sagemaker#ml.m5.large", holder("item", "align"), 4)
    freed = release_item(ledger, "item")
    assert sorted(freed) == [
        "slots#sagemaker#ml.m5.large:item/align",
        "slots#transcribe:item/job1",
        "slots#transcribe:item/job2",
    ]
    assert ledger.holders("slots#transcribe") == {"item-2/job1"}
