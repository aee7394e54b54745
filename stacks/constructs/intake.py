"""Intake: how an upload becomes an item, or is turned away.

S3 events -> EventBridge rule -> SQS buffer -> dispatcher -> state machine. The buffer absorbs
bursts; the dispatcher starts one execution per object with a name derived from bucket + key +
version, so a duplicate event cannot start a second execution. An event the dispatcher fails
on at every delivery, or that EventBridge cannot deliver, goes to the Undispatched queue, whose
recorder writes the object's failure record: no object under the ingest prefix is left without
one. A message the recorder itself cannot take stays in that queue, and its age is alarmed.

Inside the state machine, intake owns "Find the file's manifest" and "Look again for the
file's manifest" (BundleFile), "Check intake" (IntakeGate) and "Quarantine item" (Quarantine).

It also keeps the dead-letter queue of the pipeline's EventBridge rule targets (a Transcribe
state change, an execution ending that a Lambda target could not take).
"""

from __future__ import annotations

from typing import cast

from aws_cdk import Acknowledgment, ArnFormat, CfnElement, Duration, Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from pipeline_contracts.naming import QUARANTINE_PREFIX, WORK_PREFIX
from stacks.constructs.encrypted import encrypted_queue
from stacks.constructs.grants import (
    grant_failure_recording,
    grant_key_encrypt,
    grant_missing_object_checks,
    grant_object_read,
    grant_object_write,
    iam_acknowledgment,
)
from stacks.constructs.pipeline_function import (
    PipelineFunction,
    TaskFunctions,
)

# SQS visibility must exceed the consumer's timeout (AWS recommends six times).
DISPATCHER_TIMEOUT = Duration.seconds(60)
RECORDER_TIMEOUT = Duration.seconds(60)


class Intake(TaskFunctions):
    # Built by dispatch_to(), once the state machine exists: the route from an upload to an
    # execution names the state machine, whose definition names the intake tasks.
    undispatched: sqs.Queue
    buffer: sqs.Queue
    rule: events.Rule
    dispatcher: PipelineFunction
    undispatched_recorder: PipelineFunction

    def _build(self) -> None:
        self.event_dead_letters = self._build_event_dead_letters()
        self.bundle_file = self._build_bundle_file()
        self.intake_gate = self._build_intake_gate()
        self.quarantine = self._build_quarantine()

    @property
    def tasks(self) -> list[PipelineFunction]:
        """The functions the state machine invokes for intake."""
        return [self.intake_gate, self.bundle_file, self.quarantine]

    def dispatch_to(
        self, state_machine: sfn.StateMachine, *, failed_items_queue: sqs.IQueue
    ) -> None:
        """Route new objects under the ingest prefix to `state_machine`, one execution each,
        and record the objects no execution was started for."""
        self.undispatched = self._build_undispatched_queue()
        self.buffer = self._build_buffer()
        self.rule = self._build_object_created_rule()
        self.dispatcher = self._build_dispatcher(state_machine)
        self.undispatched_recorder = self._build_undispatched_recorder(
            state_machine, failed_items_queue
        )

    def _build_event_dead_letters(self) -> sqs.Queue:
        queue = encrypted_queue(self, "EventDeadLetters", self._storage.key)
        Validations.of(queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason="The dead-letter queue of the pipeline's EventBridge rule targets "
                "(events a target could not take after its retries); alarmed when not empty.",
            )
        )
        return queue

    # --- the state machine's intake tasks ---------------------------------------------------

    def _build_bundle_file(self) -> PipelineFunction:
        bundle_file = self._task(
            "BundleFile",
            "bundle_file",
            "Finds the manifest that takes a bundle file (or quarantines the file)",
            memory_mb=256,
        )
        ingest, key = self._storage.ingest, self._storage.key
        # Reads the manifests above the file; a 404 (not a 403) says one has not arrived.
        grant_object_read(bundle_file.role, ingest, self._config.bundle_prefix, key)
        grant_missing_object_checks(bundle_file.role, ingest)
        return bundle_file

    def _build_intake_gate(self) -> PipelineFunction:
        gate = self._task(
            "IntakeGate",
            "intake_gate",
            "Sniffs, decode-checks and plans an item (or rejects it)",
            memory_mb=1769,
            timeout=Duration.minutes(5),
            ephemeral_storage_mb=10240,
        )
        ingest, processed, key = self._storage.ingest, self._storage.processed, self._storage.key
        grant_object_read(gate.role, ingest, self._config.ingest_prefix, key, versions=True)
        # OBJECT_NOT_FOUND, MISSING_ASSET and the NFC/NFD name lookup need a 404, not a 403.
        grant_missing_object_checks(gate.role, ingest)
        grant_object_write(gate.role, processed, WORK_PREFIX, key)
        return gate

    def _build_quarantine(self) -> PipelineFunction:
        quarantine = self._task(
            "Quarantine", "quarantine", "Copies rejected input to quarantine with its reason"
        )
        ingest, processed, key = self._storage.ingest, self._storage.processed, self._storage.key
        grant_object_read(quarantine.role, ingest, self._config.ingest_prefix, key, versions=True)
        # A rejected object may be gone already (OBJECT_NOT_FOUND): still write the record.
        grant_missing_object_checks(quarantine.role, ingest)
        grant_object_write(quarantine.role, processed, QUARANTINE_PREFIX, key)
        return quarantine

    # --- the route from an upload to an execution, and the record of those never started -

    def _build_undispatched_queue(self) -> sqs.Queue:
        # No redrive of its own: a message its recorder cannot take stays (14 days) and the
        # age of the oldest one is alarmed; moving it on would only hide it again.
        return encrypted_queue(
            self,
            "Undispatched",
            self._storage.key,
            visibility_timeout=Duration.seconds(RECORDER_TIMEOUT.to_seconds() * 6),
        )

    def _build_buffer(self) -> sqs.Queue:
        return encrypted_queue(
            self,
            "Buffer",
            self._storage.key,
            visibility_timeout=Duration.seconds(DISPATCHER_TIMEOUT.to_seconds() * 6),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=self.undispatched),
        )

    def _build_object_created_rule(self) -> events.Rule:
        rule = events.Rule(
            self,
            "ObjectCreated",
            description="New objects under the ingest prefix go to the buffer queue",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [self._storage.ingest.bucket_name]},
                    "object": {"key": [{"prefix": self._config.ingest_prefix}]},
                },
            ),
            targets=[targets.SqsQueue(self.buffer, dead_letter_queue=self.undispatched)],
        )
        # EventBridge must encrypt into the KMS-protected queue. Scoped to this account's
        # rules (naming the rule's ARN here would make the key depend on the rule: a cycle).
        self._storage.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],  # in a key policy "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        return rule

    def _build_dispatcher(self, state_machine: sfn.IStateMachine) -> PipelineFunction:
        ingest, key = self._storage.ingest, self._storage.key
        dispatcher = PipelineFunction(
            self,
            "Dispatcher",
            handler="dispatcher",
            description="Starts one pipeline execution per ingested item (idempotent by name)",
            shared=self._shared,
            key=key,
            config=self._config,
            environment={
                "STATE_MACHINE_ARN": state_machine.state_machine_arn,
                "INGEST_BUCKET": ingest.bucket_name,
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
        grant_object_read(dispatcher.role, ingest, self._config.ingest_prefix, key)
        grant_missing_object_checks(dispatcher.role, ingest)
        return dispatcher

    def _build_undispatched_recorder(
        self, state_machine: sfn.StateMachine, failed_items_queue: sqs.IQueue
    ) -> PipelineFunction:
        ingest, processed, key = self._storage.ingest, self._storage.processed, self._storage.key
        recorder = PipelineFunction(
            self,
            "UndispatchedRecorder",
            handler="record_undispatched",
            description="Writes the failure record of objects no execution was started for",
            shared=self._shared,
            key=key,
            config=self._config,
            environment={
                "STATE_MACHINE_ARN": state_machine.state_machine_arn,
                "PROCESSED_BUCKET": processed.bucket_name,
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
        state_machine_resource = cast(CfnElement, state_machine.node.default_child)
        Validations.of(role).acknowledge(
            iam_acknowledgment(
                self,
                "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
                f"execution:<{Stack.of(self).get_logical_id(state_machine_resource)}"
                ".Name>:*",
                "Executions are named per object at run time; all belong to this state machine.",
            )
        )
        grant_failure_recording(role, processed, failed_items_queue, key)
        # It decodes event keys as the dispatcher does (so it names the same item): HeadObject
        # on the ingest prefix, and a 404 for the form that does not exist.
        grant_object_read(role, ingest, self._config.ingest_prefix, key)
        grant_missing_object_checks(role, ingest)
        return recorder
