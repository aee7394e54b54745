"""Transcribe's "Job State Change" events resume the waiting execution: no polling loop."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from pipeline.config import PipelineConfig
from stacks.constructs.grants import TRANSCRIPTION_JOB_PREFIX, grant_transcription_jobs
from stacks.constructs.pipeline_function import PipelineFunction, SharedLambdaCode
from stacks.constructs.tables import TAKE_TOKENS, Tables, grant_item_access


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
        grant_item_access(tables.task_tokens, self.callback.role, key, TAKE_TOKENS)
        # Success or failure of the waiting task; it never sends heartbeats (CDK's
        # grant_task_response would add SendTaskHeartbeat).
        self.callback.role.add_to_policy(
            iam.PolicyStatement(
                actions=["states:SendTaskSuccess", "states:SendTaskFailure"],
                resources=[state_machine.state_machine_arn],
            )
        )
        # It asks Transcribe for the job's final state rather than trusting the event.
        grant_transcription_jobs(self.callback.role, ["transcribe:GetTranscriptionJob"])
        self.rule = events.Rule(
            self,
            "JobStateChange",
            description="Transcribe jobs of this pipeline that completed or failed",
            event_pattern=events.EventPattern(
                source=["aws.transcribe"],
                detail_type=["Transcribe Job State Change"],
                detail={
                    "TranscriptionJobName": [{"prefix": TRANSCRIPTION_JOB_PREFIX}],
                    "TranscriptionJobStatus": ["COMPLETED", "FAILED"],
                },
            ),
            targets=[self.callback.event_target(dead_letter_queue)],
        )
