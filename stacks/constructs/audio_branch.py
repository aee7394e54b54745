"""The audio branch: speech to a checked transcript, with Amazon Transcribe.

In the state machine ("Transcribe each audio asset") it owns "Extract audio track"
(ExtractAudio), "Transcribe audio" (StartTranscription, a waitForTaskToken task), "Check the
job once more" (RecoverTranscription) and "Check transcript quality" (TranscriptGate).

The wait is not a polling loop: StartTranscription parks the task token in the task-tokens
table, keyed by job name, and Transcribe's "Job State Change" event reaches the Callback,
which takes the token and answers the waiting task. A lost event ends the wait at its timeout,
and RecoverTranscription asks Transcribe once.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from pipeline_contracts.naming import NAME_PREFIX
from stacks.constructs.encrypted import encrypted_table
from stacks.constructs.grants import (
    TRANSCRIPTION_JOB_PREFIX,
    grant_item_access,
    grant_missing_object_checks,
    grant_object_read,
    grant_transcription_jobs,
    grant_work_files,
    iam_acknowledgment,
)
from stacks.constructs.pipeline_function import (
    PipelineFunction,
    TaskFunctions,
)

# What each user of the task-tokens table calls (single items only).
PARK_TOKENS = ("dynamodb:PutItem", "dynamodb:DeleteItem")  # park; forget after a late answer
FORGET_TOKENS = ("dynamodb:DeleteItem",)  # a token whose task timed out
TAKE_TOKENS = ("dynamodb:GetItem", "dynamodb:DeleteItem")  # take, then forget


class AudioBranch(TaskFunctions):
    # Built by resume_waiting_tasks_of(), once the state machine exists.
    callback: PipelineFunction
    rule: events.Rule

    def _build(self) -> None:
        self.task_tokens = self._build_task_tokens_table()
        self.extract_audio = self._build_extract_audio()
        self.start_transcription = self._build_start_transcription()
        self.recover_transcription = self._build_recover_transcription()
        self.transcript_gate = self._build_transcript_gate()

    @property
    def tasks(self) -> list[PipelineFunction]:
        """The functions the state machine invokes for the audio branch."""
        return [
            self.start_transcription,
            self.recover_transcription,
            self.extract_audio,
            self.transcript_gate,
        ]

    def resume_waiting_tasks_of(
        self, state_machine: sfn.IStateMachine, *, dead_letter_queue: sqs.IQueue
    ) -> None:
        """Answer `state_machine`'s waiting "Transcribe audio" tasks when their jobs end."""
        self.callback = self._build_callback(state_machine)
        self.rule = self._build_job_state_change_rule(dead_letter_queue)

    def _build_task_tokens_table(self) -> dynamodb.Table:
        # job name -> Step Functions task token, so the Transcribe state-change event can
        # resume the waiting execution without any polling.
        return encrypted_table(self, "TranscribeTaskTokens", self._storage.key, "job_name")

    def _build_extract_audio(self) -> PipelineFunction:
        extract_audio = self._task(
            "ExtractAudio",
            "extract_audio",
            "Copies the audio of a container Transcribe does not take into one it does",
            memory_mb=2048,
            timeout=Duration.minutes(15),
            ephemeral_storage_mb=10240,
        )
        ingest, key = self._storage.ingest, self._storage.key
        grant_object_read(
            extract_audio.role, ingest, self._config.ingest_prefix, key, versions=True
        )
        # Reads the item's plan (the state names the asset by id) and writes the audio.
        grant_work_files(extract_audio.role, self._storage.processed, key)
        return extract_audio

    def _build_start_transcription(self) -> PipelineFunction:
        start = self._task(
            "StartTranscription",
            "start_transcription",
            "Starts a Transcribe job and parks the task token until its state-change event",
        )
        key = self._storage.key
        grant_item_access(self.task_tokens, start.role, key, PARK_TOKENS)
        # Transcribe reads the media (or the audio extracted from a MOV/MKV into work/) and
        # writes its output with the permissions of this function, its caller.
        grant_object_read(start.role, self._storage.ingest, self._config.ingest_prefix, key)
        grant_work_files(start.role, self._storage.processed, key)
        grant_transcription_jobs(
            start.role,
            [
                "transcribe:StartTranscriptionJob",
                "transcribe:GetTranscriptionJob",
                "transcribe:TagResource",
            ],
        )
        stack = Stack.of(self)
        # A retried or duplicated start finds its job already ended and answers the waiting
        # task itself. These actions have no resource-level permissions, and naming the state
        # machine here would be a dependency cycle (it names this function).
        start.role.add_to_policy(
            iam.PolicyStatement(
                actions=["states:SendTaskSuccess", "states:SendTaskFailure"], resources=["*"]
            )
        )
        start.role.add_to_policy(
            iam.PolicyStatement(
                actions=["transcribe:CreateVocabulary", "transcribe:GetVocabulary"],
                resources=[
                    stack.format_arn(
                        service="transcribe", resource="vocabulary", resource_name=f"{NAME_PREFIX}*"
                    )
                ],
            )
        )
        Validations.of(start.role).acknowledge(
            iam_acknowledgment(
                self,
                "Resource::arn:<AWS::Partition>:transcribe:<AWS::Region>:<AWS::AccountId>:"
                "vocabulary/mmp-*",
                "Vocabulary names are derived from each manifest's phrases at run time.",
            ),
            iam_acknowledgment(
                self,
                "Resource::*",
                "states:SendTaskSuccess/SendTaskFailure have no resource-level permissions; "
                "X-Ray PutTraceSegments/PutTelemetryRecords neither.",
            ),
        )
        start.add_environment("TASK_TOKENS_TABLE", self.task_tokens.table_name)
        return start

    def _build_recover_transcription(self) -> PipelineFunction:
        recover = self._task(
            "RecoverTranscription",
            "recover_transcription",
            "After a callback wait timed out, checks the Transcribe job once (a lost event)",
            memory_mb=256,
        )
        grant_item_access(self.task_tokens, recover.role, self._storage.key, FORGET_TOKENS)
        grant_transcription_jobs(recover.role, ["transcribe:GetTranscriptionJob"])
        recover.add_environment("TASK_TOKENS_TABLE", self.task_tokens.table_name)
        return recover

    def _build_transcript_gate(self) -> PipelineFunction:
        gate = self._task(
            "TranscriptGate",
            "transcript_gate",
            "Normalises the Transcribe output and checks confidence, coverage and language",
            memory_mb=1024,
        )
        processed = self._storage.processed
        grant_work_files(gate.role, processed, self._storage.key)
        # Subtitles are optional output: probing for them needs a 404 when absent.
        grant_missing_object_checks(gate.role, processed)
        self._thresholds.grant_read(gate.role)
        return gate

    def _build_callback(self, state_machine: sfn.IStateMachine) -> PipelineFunction:
        key = self._storage.key
        callback = PipelineFunction(
            self,
            "Callback",
            handler="transcription_callback",
            description="Sends the parked task token back when a Transcribe job ends",
            shared=self._shared,
            key=key,
            config=self._config,
            environment={"TASK_TOKENS_TABLE": self.task_tokens.table_name},
            memory_mb=256,
        )
        grant_item_access(self.task_tokens, callback.role, key, TAKE_TOKENS)
        # Success or failure of the waiting task; it never sends heartbeats (CDK's
        # grant_task_response would add SendTaskHeartbeat).
        callback.role.add_to_policy(
            iam.PolicyStatement(
                actions=["states:SendTaskSuccess", "states:SendTaskFailure"],
                resources=[state_machine.state_machine_arn],
            )
        )
        # It asks Transcribe for the job's final state rather than trusting the event.
        grant_transcription_jobs(callback.role, ["transcribe:GetTranscriptionJob"])
        return callback

    def _build_job_state_change_rule(self, dead_letter_queue: sqs.IQueue) -> events.Rule:
        return events.Rule(
            self,
            "TranscriptionJobStateChange",
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
