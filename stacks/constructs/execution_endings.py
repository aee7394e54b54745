"""Endings outside the Catch graph are recorded: Step Functions' own "Execution Status
Change" events (FAILED, TIMED_OUT, ABORTED) reach a recorder that writes the failure record
and dead-letters the item when the state machine could not (an execution timeout, an abort,
a state over 256 KB). Items that already have a record are left alone."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from pipeline.config import PipelineConfig
from stacks.constructs.grants import (
    grant_failure_recording,
)
from stacks.constructs.pipeline_function import PipelineFunction, SharedLambdaCode


class ExecutionEndings(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        shared: SharedLambdaCode,
        key: kms.IKey,
        processed_bucket: s3.IBucket,
        state_machine: sfn.IStateMachine,
        failed_items_queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.recorder = PipelineFunction(
            self,
            "Recorder",
            handler="record_execution_ending",
            description="Records items whose execution ended outside the Catch graph",
            shared=shared,
            key=key,
            config=config,
            environment={
                "PROCESSED_BUCKET": processed_bucket.bucket_name,
                "FAILED_ITEMS_QUEUE_URL": failed_items_queue.queue_url,
            },
            memory_mb=256,
        )
        role = self.recorder.role
        grant_failure_recording(role, processed_bucket, failed_items_queue, key)
        self.rule = events.Rule(
            self,
            "Ended",
            description="Executions of the pipeline that failed, timed out or were aborted",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "stateMachineArn": [state_machine.state_machine_arn],
                    "status": ["FAILED", "TIMED_OUT", "ABORTED"],
                },
            ),
            targets=[self.recorder.event_target(dead_letter_queue)],
        )
