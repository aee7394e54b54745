"""S3 events -> EventBridge rule -> SQS buffer -> dispatcher -> state machine.

The buffer absorbs bursts; the dispatcher starts one execution per object with a name
derived from bucket + key + version, so a duplicate event cannot start a second execution.
An event the dispatcher fails on at every delivery, or that EventBridge cannot deliver,
goes to the Undispatched queue, whose recorder writes the object's failure record: no
object under the ingest prefix is left without one. A message the recorder itself cannot
take stays in that queue, and its age is alarmed.
"""

from __future__ import annotations

from typing import cast

from aws_cdk import Acknowledgment, ArnFormat, CfnElement, Duration, Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from pipeline.config import PipelineConfig
from stacks.constructs.grants import (
    grant_failure_recording,
    grant_key_encrypt,
    grant_missing_object_checks,
    grant_object_read,
    iam_acknowledgment,
)
from stacks.constructs.pipeline_function import PipelineFunction, SharedLambdaCode

# SQS visibility must exceed the consumer's timeout (AWS recommends six times).
DISPATCHER_TIMEOUT = Duration.seconds(60)
RECORDER_TIMEOUT = Duration.seconds(60)


def encrypted_queue(
    scope: Construct, construct_id: str, key: kms.IKey, **kwargs: object
) -> sqs.Queue:
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
        **kwargs,  # type: ignore[arg-type]
    )


def _cfn(state_machine: sfn.StateMachine) -> CfnElement:
    return cast(CfnElement, state_machine.node.default_child)


class Ingestion(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        ingest_bucket: s3.IBucket,
        key: kms.IKey,
        shared: SharedLambdaCode,
        state_machine: sfn.StateMachine,
        processed_bucket: s3.IBucket,
        failed_items_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = encrypted_queue(self, "BufferDeadLetters", key)
        Validations.of(self.dead_letter_queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason="The dead-letter queue of the pipeline's EventBridge rule targets "
                "(events a target could not take after its retries); alarmed when not empty.",
            )
        )
        # No redrive of its own: a message its recorder cannot take stays (14 days) and the
        # age of the oldest one is alarmed; moving it on would only hide it again.
        self.undispatched = encrypted_queue(
            self,
            "Undispatched",
            key,
            visibility_timeout=Duration.seconds(RECORDER_TIMEOUT.to_seconds() * 6),
        )
        self.buffer = encrypted_queue(
            self,
            "Buffer",
            key,
            visibility_timeout=Duration.seconds(DISPATCHER_TIMEOUT.to_seconds() * 6),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=self.undispatched),
        )
        self.rule = self._build_rule(config, ingest_bucket, key)
        self.dispatcher = self._build_dispatcher(config, ingest_bucket, key, shared, state_machine)
        self.recorder = self._build_recorder(
            config, key, shared, state_machine, processed_bucket, failed_items_queue
        )
        # It decodes event keys as the dispatcher does (so it names the same item): HeadObject
        # on the ingest prefix, and a 404 for the form that does not exist.
        grant_object_read(self.recorder.role, ingest_bucket, config.ingest_prefix, key)
        grant_missing_object_checks(self.recorder.role, ingest_bucket)

    def _build_rule(
        self, config: PipelineConfig, ingest_bucket: s3.IBucket, key: kms.IKey
    ) -> events.Rule:
        rule = events.Rule(
            self,
            "ObjectCreated",
            description="New objects under the ingest prefix go to the buffer queue",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [ingest_bucket.bucket_name]},
                    "object": {"key": [{"prefix": config.ingest_prefix}]},
                },
            ),
            targets=[targets.SqsQueue(self.buffer, dead_letter_queue=self.undispatched)],
        )
        # EventBridge must encrypt into the KMS-protected queue. Scoped to this account's
        # rules (naming the rule's ARN here would make the key depend on the rule: a cycle).
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],  # in a key policy "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        return rule

    def _build_dispatcher(
        self,
        config: PipelineConfig,
        ingest_bucket: s3.IBucket,
        key: kms.IKey,
        shared: SharedLambdaCode,
        state_machine: sfn.IStateMachine,
    ) -> PipelineFunction:
        dispatcher = PipelineFunction(
            self,
            "Dispatcher",
            handler="dispatcher",
            description="Starts one pipeline execution per ingested item (idempotent by name)",
            shared=shared,
            key=key,
            config=config,
            environment={
                "STATE_MACHINE_ARN": state_machine.state_machine_arn,
                "INGEST_BUCKET": ingest_bucket.bucket_name,
            },
            timeout=DISPATCHER_TIMEOUT,
            memory_mb=256,
        )
        dispatcher.function.add_event_source(
            sources.SqsEventSource(
                self.buffer,
                batch_size=10,
                max_batching_window=Duration.seconds(5),
                report_batch_item_failures=True,
                # Caps the start rate so a burst cannot throttle StartExecution.
                max_concurrency=5,
            )
        )
        state_machine.grant_start_execution(dispatcher.role)
        # The state machine is encrypted with the key: StartExecution encrypts the input.
        grant_key_encrypt(dispatcher.role, key)
        # HeadObject only (it needs s3:GetObject), to resolve URL-encoded keys; telling the
        # decoded key from the raw one needs a 404 for the one that does not exist.
        grant_object_read(dispatcher.role, ingest_bucket, config.ingest_prefix, key)
        grant_missing_object_checks(dispatcher.role, ingest_bucket)
        return dispatcher

    def _build_recorder(
        self,
        config: PipelineConfig,
        key: kms.IKey,
        shared: SharedLambdaCode,
        state_machine: sfn.StateMachine,
        processed_bucket: s3.IBucket,
        failed_items_queue: sqs.IQueue,
    ) -> PipelineFunction:
        recorder = PipelineFunction(
            self,
            "UndispatchedRecorder",
            handler="record_undispatched",
            description="Writes the failure record of objects no execution was started for",
            shared=shared,
            key=key,
            config=config,
            environment={
                "STATE_MACHINE_ARN": state_machine.state_machine_arn,
                "PROCESSED_BUCKET": processed_bucket.bucket_name,
                "FAILED_ITEMS_QUEUE_URL": failed_items_queue.queue_url,
            },
            timeout=RECORDER_TIMEOUT,
            memory_mb=256,
        )
        recorder.function.add_event_source(
            sources.SqsEventSource(
                self.undispatched, batch_size=10, report_batch_item_failures=True
            )
        )
        role = recorder.role
        # Was an execution started after all? Then it writes the record, not this function.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution"],
                resources=[
                    Stack.of(self).format_arn(
                        service="states",
                        resource="execution",
                        resource_name=f"{state_machine.state_machine_name}:*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        Validations.of(role).acknowledge(
            iam_acknowledgment(
                self,
                "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
                f"execution:<{Stack.of(self).get_logical_id(_cfn(state_machine))}"
                ".Name>:*",
                "Executions are named per object at run time; all belong to this state machine.",
            )
        )
        grant_failure_recording(role, processed_bucket, failed_items_queue, key)
        return recorder
