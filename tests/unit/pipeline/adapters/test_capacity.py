"""The capacity ledger on DynamoDB (moto): slots never oversubscribe, a retried take does not
take twice, and a model's bucket admits no more in a minute than its quota, under races."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from mmpipe.local.moto_patches.dynamodb_atomic import atomic_writes
from pipeline.adapters.capacity import DynamoDbCapacity
from pipeline.config import ModelQuota
from pipeline.domain.admission import Bucket


@pytest.fixture
def ledger() -> Iterator[DynamoDbCapacity]:
    # Conditional writes are atomic on AWS; atomic_writes makes moto's so too (local mode
    # installs the same patch), or racing takers would pass one condition together.
    with mock_aws(), atomic_writes():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="capacity",
            KeySchema=[{"AttributeName": "quota", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "quota", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield DynamoDbCapacity("capacity", dynamodb=dynamodb)


def test_slots_stop_at_the_limit_and_free_on_release(ledger: DynamoDbCapacity) -> None:
    assert ledger.take_slot("slots#transcribe", "a/job1", 2)
    assert ledger.take_slot("slots#transcribe", "b/job1", 2)
    assert not ledger.take_slot("slots#transcribe", "c/job1", 2)
    assert ledger.release_slot("slots#transcribe", "a/job1")
    assert ledger.take_slot("slots#transcribe", "c/job1", 2)
    assert ledger.holders("slots#transcribe") == {"b/job1", "c/job1"}


def test_a_retried_take_holds_one_slot_not_two(ledger: DynamoDbCapacity) -> None:
    assert ledger.take_slot("slots#transcribe", "a/job1", 2)
    assert ledger.take_slot("slots#transcribe", "a/job1", 2)  # the task's retry
    assert ledger.take_slot("slots#transcribe", "b/job1", 2)
    assert not ledger.take_slot("slots#transcribe", "c/job1", 2)


def test_a_slot_is_given_back_once(ledger: DynamoDbCapacity) -> None:
    ledger.take_slot("slots#transcribe", "a/job1", 1)
    assert ledger.release_slot("slots#transcribe", "a/job1")
    assert not ledger.release_slot("slots#transcribe", "a/job1")
    assert ledger.take_slot("slots#transcribe", "b/job1", 1)
    assert not ledger.take_slot("slots#transcribe", "c/job1", 1)


def test_racing_takers_never_oversubscribe(ledger: DynamoDbCapacity) -> None:
    won: list[str] = []

    def take(name: str) -> None:
        if ledger.take_slot("slots#sagemaker#ml.m5.large", name, 3):
            won.append(name)

    threads = [threading.Thread(target=take, args=(f"item{i}/job",)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 3
    assert ledger.holders("slots#sagemaker#ml.m5.large") == set(won)


def test_pools_lists_slot_pools_only(ledger: DynamoDbCapacity) -> None:
    ledger.take_slot("slots#transcribe", "a/j", 1)
    bucket = Bucket("rate#bedrock#m", ModelQuota(requests_per_minute=10, tokens_per_minute=100), 5)
    ledger.take_from_bucket(bucket, now=1000.0)
    assert ledger.pools() == ["slots#transcribe"]


def test_a_bucket_admits_a_full_bucket_then_asks_to_wait(ledger: DynamoDbCapacity) -> None:
    # 20 requests a minute: a full bucket holds 5, and one refills every 4 s
    quota = ModelQuota(requests_per_minute=20, tokens_per_minute=1_000_000)
    bucket = Bucket("rate#bedrock#m", quota, tokens=100)
    admitted = [ledger.take_from_bucket(bucket, now=1000.0) for _ in range(7)]
    assert admitted[:5] == [0.0] * 5
    assert admitted[5] == pytest.approx(4.0)
    assert ledger.take_from_bucket(bucket, now=1004.5) == 0.0


def test_racing_callers_share_one_bucket(ledger: DynamoDbCapacity) -> None:
    quota = ModelQuota(requests_per_minute=16, tokens_per_minute=1_000_000)  # 4 at once
    bucket = Bucket("rate#bedrock#m", quota, tokens=10)
    admitted: list[float] = []

    def call() -> None:
        admitted.append(ledger.take_from_bucket(bucket, now=5000.0))

    threads = [threading.Thread(target=call) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert admitted.count(0.0) <= 4
    assert all(wait > 0 for wait in admitted if wait != 0.0)
