"""Transcribe's "Job State Change" events resume the waiting execution: no polling loop."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from pipeline.config import PipelineConfig
from stacks.constructs.pipeline_function import PipelineFunction, SharedLambdaCode
from stacks.constructs.tables import Tables, grant_item_access


class TranscriptionEvents(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        shared: SharedLambdaCode,
        key: kms.IKey,
        tables: Tables,
        state_machine: sfn.IStateMachine,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.callback = PipelineFunction(
            self,
            "Callback",
            handler="transcription_callback",
            description="Sends the parked task token back when a Transcribe job ends",
            shared=shared,
            key=key,
            config=config,
            environment={"TASK_TOKENS_TABLE": tables.task_tokens.table_name},
            memory_mb=256,
        )
        grant_item_access(tables.task_tokens, self.callback.role, key)
        state_machine.grant_task_response(self.callback.role)
        self.rule = events.Rule(
            self,
            "JobStateChange",
            description="Transcribe jobs of this pipeline that completed or failed",
            event_pattern=events.EventPattern(
                source=["aws.transcribe"],
                detail_type=["Transcribe Job State Change"],
                detail={
                    "TranscriptionJobName": [{"prefix": "mmp-"}],
                    "TranscriptionJobStatus": ["COMPLETED", "FAILED"],
                },
            ),
            targets=[
                targets.LambdaFunction(
                    self.callback.function,
                    dead_letter_queue=dead_letter_queue,
                    retry_attempts=8,
                    max_event_age=Duration.hours(6),
                )
            ],
        )
