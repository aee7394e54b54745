"""The dispatcher against moto: URL-encoded keys, bundles, duplicates and partial failures."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pipeline.adapters import providers
from pipeline.config import PipelineConfig
from pipeline.environment import forget_environments

REGION = "us-east-1"
BUCKET = "ingest-bucket"
# A trivial definition: the dispatcher's job ends at StartExecution.
DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})


class FakeContext:
    function_name = "dispatcher"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:dispatcher"
    aws_request_id = "req-1"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Test")
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        sfn = boto3.client("stepfunctions", region_name=REGION)
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        machine = sfn.create_state_machine(name="pipeline", definition=DEFINITION, roleArn=role)
        monkeypatch.setenv("STATE_MACHINE_ARN", machine["stateMachineArn"])
        monkeypatch.setenv("INGEST_BUCKET", BUCKET)
        monkeypatch.setenv("PIPELINE_CONFIG", PipelineConfig().model_dump_json())
        forget_environments()
        providers.use_providers(None)
        from pipeline.handlers import dispatcher

        yield {"s3": s3, "sfn": sfn, "machine": machine["stateMachineArn"], "module": dispatcher}
        providers.use_providers(None)
        forget_environments()


def _event(key: str, version: str | None = "v1", time: str = "2026-11-22T10:00:00Z") -> str:
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": "123456789012",
            "time": time,
            "region": REGION,
            "resources": [f"arn:aws:s3:::{BUCKET}"],
            "detail": {
                "version": "0",
                "bucket": {"name": BUCKET},
                "object": {
                    "key": key,
                    "size": 3,
                    "etag": "e",
                    "version-id": version,
                    "sequencer": "1",
                },
                "request-id": "r",
                "requester": "123456789012",
                "reason": "PutObject",
            },
        }
    )


def _sqs(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": "h",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1",
                    "SenderId": "s",
                    "ApproximateFirstReceiveTimestamp": "1",
                },
                "messageAttributes": {},
                "md5OfBody": "x",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:buffer",
                "awsRegion": REGION,
            }
            for i, body in enumerate(bodies)
        ]
    }


def _executions(aws: dict[str, Any]) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = aws["sfn"].list_executions(stateMachineArn=aws["machine"])[
        "executions"
    ]
    return listed


def _input(aws: dict[str, Any], execution: dict[str, Any]) -> dict[str, Any]:
    described = aws["sfn"].describe_execution(executionArn=execution["executionArn"])
    document: dict[str, Any] = json.loads(described["input"])
    return document


def test_a_url_encoded_key_with_spaces_and_unicode_starts_one_execution_on_the_real_key(aws):
    # Given an object whose key has spaces and non-ASCII characters
    key = "incoming/Café menu 北京 (1).png"
    aws["s3"].put_object(Bucket=BUCKET, Key=key, Body=b"png")
    encoded = "incoming/Caf%C3%A9+menu+%E5%8C%97%E4%BA%AC+%281%29.png"
    # When its URL-encoded event is dispatched
    response = aws["module"].handler(_sqs(_event(encoded)), FakeContext())
    # Then one execution starts, for the decoded key, under a valid name
    assert response == {"batchItemFailures": []}
    (execution,) = _executions(aws)
    assert _input(aws, execution)["source"]["key"] == key
    assert execution["name"].startswith("Cafe-menu-1-png-")


def test_a_duplicate_event_starts_no_second_execution(aws):
    aws["s3"].put_object(Bucket=BUCKET, Key="incoming/talk.wav", Body=b"wav")
    first = _event("incoming/talk.wav")
    # When the same event arrives twice, and a second event for the same version later
    aws["module"].handler(_sqs(first, first), FakeContext())
    later = _event("incoming/talk.wav", time="2026-11-22T11:00:00Z")
    response = aws["module"].handler(_sqs(later), FakeContext())
    # Then there is one execution, and no message was failed back to the queue
    assert len(_executions(aws)) == 1
    assert response == {"batchItemFailures": []}


def test_a_new_version_of_the_same_key_is_a_new_item(aws):
    aws["module"].handler(
        _sqs(_event("incoming/a.txt", "v1"), _event("incoming/a.txt", "v2")), FakeContext()
    )
    assert len(_executions(aws)) == 2


def test_every_bundle_object_starts_an_execution_of_its_kind(aws):
    response = aws["module"].handler(
        _sqs(
            _event("incoming/bundles/shoe/front.jpg"),
            _event("incoming/bundles/shoe/manifest.json"),
        ),
        FakeContext(),
    )
    assert response == {"batchItemFailures": []}
    started = {_input(aws, e)["kind"]: _input(aws, e) for e in _executions(aws)}
    # The manifest starts the bundle; the file starts an execution that finds its manifest
    assert started["bundle"]["bundle_prefix"] == "incoming/bundles/shoe/"
    assert started["bundle_file"]["source"]["key"] == "incoming/bundles/shoe/front.jpg"
    assert started["bundle_file"]["manifest_wait_s"] == 900


def test_a_malformed_message_fails_only_itself(aws):
    response = aws["module"].handler(_sqs("not json", _event("incoming/ok.txt")), FakeContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert len(_executions(aws)) == 1
