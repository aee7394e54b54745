"""Encryption key and buckets: ingest and processed (versioned, EventBridge on), access logs."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from pipeline.config import PipelineConfig
from pipeline_contracts.naming import RESULTS_PREFIX, WORK_PREFIX


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: PipelineConfig) -> None:
        super().__init__(scope, construct_id)
        self.key = self._build_key()
        self.access_logs = self._build_access_log_bucket()
        self.ingest = self._build_ingest_bucket()
        self.processed = self._build_processed_bucket(config)

    def _build_key(self) -> kms.Key:
        key = kms.Key(
            self,
            "DataKey",
            description="Multimodal Pipeline: buckets, queues, tables, topic and logs",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # CloudWatch Logs encrypts the functions' and state machine's log groups with it.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("logs.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],  # in a key policy "*" means this key
            )
        )
        return key

    def _build_access_log_bucket(self) -> s3.Bucket:
        # S3 server access logging only delivers to SSE-S3 buckets, not SSE-KMS ones.
        return s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _bucket(self, construct_id: str, log_prefix: str, **kwargs: object) -> s3.Bucket:
        return s3.Bucket(
            self,
            construct_id,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=log_prefix,
            removal_policy=RemovalPolicy.RETAIN,
            **kwargs,  # type: ignore[arg-type]
        )

    def _build_ingest_bucket(self) -> s3.Bucket:
        return self._bucket(
            "Ingest",
            "ingest/",
            # S3 -> EventBridge; the intake construct routes the events to SQS.
            event_bridge_enabled=True,
            lifecycle_rules=[
                s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30)),
                s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(7)),
            ],
            cors=None,
        )

    def _build_processed_bucket(self, config: PipelineConfig) -> s3.Bucket:
        rules = [
            s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30)),
            s3.LifecycleRule(prefix=WORK_PREFIX, expiration=Duration.days(30)),
        ]
        if config.results_retention_days:
            rules.append(
                s3.LifecycleRule(
                    prefix=RESULTS_PREFIX, expiration=Duration.days(config.results_retention_days)
                )
            )
        # S3 -> EventBridge: a deleted result takes its item's vectors out of the search index.
        return self._bucket(
            "Processed", "processed/", lifecycle_rules=rules, event_bridge_enabled=True
        )
