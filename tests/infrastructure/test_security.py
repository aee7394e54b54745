"""Encryption, TLS and public access: properties a security review checks first."""

from __future__ import annotations

from typing import Any

from pipeline.environment import ENVIRONMENTS
from tests.infrastructure.conftest import resources_of


def _kms_encrypted_bucket(bucket: dict[str, Any]) -> bool:
    rules = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    return all(r["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms" for r in rules)


def test_data_buckets_are_kms_encrypted_versioned_private_and_logged(template):
    # Given the synthesized buckets
    buckets = resources_of(template, "AWS::S3::Bucket")
    data = {n: b for n, b in buckets.items() if "AccessLogs" not in n}
    # Then ingest and processed exist and each is KMS-encrypted, versioned, private, logged
    assert any("Ingest" in n for n in data), sorted(data)
    assert any("Processed" in n for n in data), sorted(data)
    for name, bucket in data.items():
        properties = bucket["Properties"]
        assert _kms_encrypted_bucket(bucket), name
        assert properties["VersioningConfiguration"]["Status"] == "Enabled", name
        assert all(properties["PublicAccessBlockConfiguration"].values()), name
        assert "LoggingConfiguration" in properties, name
        assert bucket["DeletionPolicy"] == "Retain", name


def test_every_bucket_policy_denies_plain_http(template):
    policies = resources_of(template, "AWS::S3::BucketPolicy")
    # Every bucket has its policy
    assert {p["Properties"]["Bucket"]["Ref"] for p in policies.values()} == set(
        resources_of(template, "AWS::S3::Bucket")
    )
    for name, policy in policies.items():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        ), name


def test_queues_tables_topic_and_logs_use_the_customer_key(template):
    (key_id,) = set(resources_of(template, "AWS::KMS::Key"))  # one customer key for all

    def uses_key(value: Any) -> bool:
        return key_id in str(value)

    for name, queue in resources_of(template, "AWS::SQS::Queue").items():
        assert uses_key(queue["Properties"]["KmsMasterKeyId"]), name
    for name, table in resources_of(template, "AWS::DynamoDB::Table").items():
        assert uses_key(table["Properties"]["SSESpecification"]["KMSMasterKeyId"]), name
    for name, topic in resources_of(template, "AWS::SNS::Topic").items():
        assert uses_key(topic["Properties"]["KmsMasterKeyId"]), name
    for name, group in resources_of(template, "AWS::Logs::LogGroup").items():
        assert uses_key(group["Properties"]["KmsKeyId"]), name


def test_key_rotates(template):
    (key,) = resources_of(template, "AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True


def test_functions_trace_and_run_on_one_pinned_runtime(template):
    functions = {
        n: f
        for n, f in resources_of(template, "AWS::Lambda::Function").items()
        if "BucketNotificationsHandler" not in n
    }
    # Every handler is deployed once, and every function runs one of the pipeline's handlers
    handlers = sorted(f["Properties"]["Handler"] for f in functions.values())
    assert handlers == sorted(ENVIRONMENTS)
    for name, function in functions.items():
        properties = function["Properties"]
        assert properties["Runtime"] == "python3.14", name
        assert properties["TracingConfig"] == {"Mode": "Active"}, name
        assert properties["Handler"].startswith("pipeline.handlers."), name
        assert "PIPELINE_CONFIG" in properties["Environment"]["Variables"], name
