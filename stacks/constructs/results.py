"""Results: every item ends in exactly one record, and results can be queried.

In the state machine it owns "Fuse modalities" (Fusion), "Check final quality" (FinalGate),
"Write results" (ResultWriter, idempotent through its table), "Keep the unsent announcement"
(the UnsentEvents outbox), "Record failure" (FailureRecorder) and "Send to dead-letter queue"
(the FailedItems queue).

Endings outside the Catch graph are recorded too: Step Functions' own "Execution Status
Change" events (FAILED, TIMED_OUT, ABORTED) reach a recorder that writes the failure record
and dead-letters the item when the state machine could not (an execution timeout, an abort,
a state over 256 KB). Items that already have a record are left alone.

A Glue database and table over results/ let Athena query every ItemResult. Results are
written one JSON object per line under results/dt=YYYY-MM-DD/; partition projection means no
crawler and no MSCK REPAIR: new days are queryable at once.
"""

from __future__ import annotations

import json
from typing import cast

from aws_cdk import Acknowledgment, ArnFormat, CfnElement, Duration, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from pipeline_contracts.naming import (
    DERIVED_PREFIX,
    FAILURES_PREFIX,
    RESULTS_PREFIX,
    WORK_PREFIX,
    day_partition,
)
from stacks.constructs.encrypted import encrypted_queue, encrypted_table
from stacks.constructs.execution_endings import execution_endings_rule
from stacks.constructs.grants import (
    grant_bedrock_models,
    grant_failure_recording,
    grant_item_access,
    grant_missing_object_checks,
    grant_object_read,
    grant_object_write,
    grant_work_files,
    iam_acknowledgment,
)
from stacks.constructs.pipeline_function import (
    PipelineFunction,
    TaskFunctions,
)

# Powertools idempotency: put, read on conflict, complete, release (single items only).
IDEMPOTENCY_RECORDS = (
    "dynamodb:PutItem",
    "dynamodb:GetItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)

CATALOG_COLUMNS = [
    ("schema_version", "string"),
    ("item_id", "string"),
    ("status", "string"),
    ("degraded_branches", "array<string>"),
    ("kind", "string"),
    ("source", "struct<bucket:string,key:string,version_id:string>"),
    ("execution_arn", "string"),
    ("profile", "string"),
    ("modalities", "array<string>"),
    (
        "gates",
        "array<struct<name:string,passed:boolean,score:double,threshold:double,reason:string>>",
    ),
    (
        "fused",
        "struct<profile:string,provider:string,model_id:string,title:string,summary:string,"
        "key_points:array<string>,consistency:string>",
    ),
    ("derived_files", "map<string,string>"),
    ("model_ids", "array<string>"),
    (
        "timings",
        "struct<received_at:string,started_at:string,finished_at:string,duration_s:double>",
    ),
    # What `mmpipe cost --stack` needs beside the cost: each asset's modality and duration.
    (
        "assets",
        "array<struct<asset_id:string,path:string,modality:string,media_format:string,"
        "size_bytes:bigint,duration_s:double,width:int,height:int>>",
    ),
    (
        "search",
        "struct<status:string,vectors:int,embedded:int,cache_hits:int,removed:int,left_out:int,"
        "model_id:string,dimension:int,index_arn:string,put_bytes:bigint,error:string,"
        "cause:string>",
    ),
    (
        "cost",
        "struct<currency:string,total:double,ai:double,orchestration:double,"
        "lines:array<struct<service:string,unit:string,quantity:double,usd:double>>,"
        "prices_as_of:string,region:string>",
    ),
]


class Results(TaskFunctions):
    # Built by record_endings_of(), once the state machine exists.
    endings_recorder: PipelineFunction
    endings_rule: events.Rule

    def _build(self) -> None:
        self.failed_items = self._build_failed_items_queue()
        self.unsent_events = self._build_unsent_events_queue()
        self.idempotency = self._build_idempotency_table()
        self.fusion = self._build_fusion()
        self.final_gate = self._build_final_gate()
        self.result_writer = self._build_result_writer()
        self.failure_recorder = self._build_failure_recorder()
        self.database, self.catalog_table = self._build_catalog()

    @property
    def tasks(self) -> list[PipelineFunction]:
        """The functions the state machine invokes to end an item."""
        return [self.fusion, self.final_gate, self.result_writer, self.failure_recorder]

    def record_endings_of(
        self, state_machine: sfn.IStateMachine, *, dead_letter_queue: sqs.IQueue
    ) -> None:
        """Record the items whose `state_machine` execution ended outside its Catch graph."""
        self.endings_recorder = self._build_endings_recorder()
        self.endings_rule = self._build_execution_ended_rule(state_machine, dead_letter_queue)

    def bill_items_of(
        self,
        state_machine: sfn.StateMachine,
        *,
        memory_by_state: dict[str, int],
        dispatcher: PipelineFunction,
        callback: PipelineFunction,
    ) -> None:
        """Let the result writer bill each item: its functions' memory, and its own
        execution's history (state transitions, Lambda durations, the alignment job)."""
        memory = {
            "states": memory_by_state,
            "dispatcher": dispatcher.memory_mb,
            "transcription_callback": callback.memory_mb,
        }
        writer = self.result_writer
        writer.add_environment("LAMBDA_MEMORY_MB", json.dumps(memory, sort_keys=True))
        # Named by the state machine's logical ID, not its name: the writer's policy must not
        # reference the state machine, which references the writer (a circular dependency).
        # CloudFormation names it "<logical ID>-<suffix>", local mode "<logical ID>".
        stack = Stack.of(self)
        machine = cast(CfnElement, state_machine.node.default_child)
        logical_id = str(stack.resolve(stack.get_logical_id(machine)))
        writer.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["states:GetExecutionHistory"],
                resources=[
                    stack.format_arn(
                        service="states",
                        resource="execution",
                        resource_name=f"{logical_id}*:*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        Validations.of(writer.role).acknowledge(
            iam_acknowledgment(
                writer.role,
                "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
                f"execution:{logical_id}*:*",
                "The writer reads its own execution's history to bill the item; executions are "
                "named per item at run time, and the state machine's name is matched by its "
                "logical ID (its ARN would make the writer's policy and the state machine "
                "depend on each other).",
            )
        )

    # --- queues and table -----------------------------------------------------------------

    def _build_failed_items_queue(self) -> sqs.Queue:
        queue = encrypted_queue(self, "FailedItems", self._storage.key)
        Validations.of(queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason="This queue is itself the dead-letter queue of the pipeline: the state "
                "machine sends every failed item here; nothing consumes it automatically.",
            )
        )
        return queue

    def _build_unsent_events_queue(self) -> sqs.Queue:
        # ItemProcessed events that could not be sent after the result was written.
        queue = encrypted_queue(self, "UnsentEvents", self._storage.key)
        Validations.of(queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason="An outbox, not a work queue: ItemProcessed events that could not be sent "
                "wait here for an operator's redrive; nothing consumes it automatically.",
            )
        )
        return queue

    def _build_idempotency_table(self) -> dynamodb.Table:
        # Powertools idempotency: a retried result write does not publish twice.
        return encrypted_table(self, "Idempotency", self._storage.key, "id")

    # --- the state machine's closing tasks --------------------------------------------------

    def _build_fusion(self) -> PipelineFunction:
        fusion = self._task(
            "Fusion",
            "fusion",
            "Merges branch results and reasons across modalities (Bedrock)",
            memory_mb=1024,
            timeout=Duration.minutes(5),
        )
        processed = self._storage.processed
        grant_work_files(fusion.role, processed, self._storage.key)
        # A branch result that was never written is reported in the record, not a crash.
        grant_missing_object_checks(fusion.role, processed)
        grant_bedrock_models(fusion.role, self._config)
        return fusion

    def _build_final_gate(self) -> PipelineFunction:
        gate = self._task(
            "FinalGate", "final_gate", "Decides processed or degraded from every gate's verdict"
        )
        grant_object_read(gate.role, self._storage.processed, WORK_PREFIX, self._storage.key)
        self._thresholds.grant_read(gate.role)
        return gate

    def _build_result_writer(self) -> PipelineFunction:
        writer = self._task(
            "ResultWriter",
            "result_writer",
            "Writes derived files, then the ItemResult, its one record (idempotent)",
            memory_mb=1024,
            timeout=Duration.minutes(2),
        )
        processed, key = self._storage.processed, self._storage.key
        grant_object_read(writer.role, processed, WORK_PREFIX, key)
        grant_object_write(writer.role, processed, RESULTS_PREFIX, key)
        grant_object_write(writer.role, processed, DERIVED_PREFIX, key)
        # Derived files a job was asked for but did not write are skipped, not fatal.
        grant_missing_object_checks(writer.role, processed)
        grant_item_access(self.idempotency, writer.role, key, IDEMPOTENCY_RECORDS)
        writer.add_environment("IDEMPOTENCY_TABLE", self.idempotency.table_name)
        return writer

    def _build_failure_recorder(self) -> PipelineFunction:
        recorder = self._task(
            "FailureRecorder", "failure_recorder", "Writes the failure record of a failed item"
        )
        processed, key = self._storage.processed, self._storage.key
        grant_object_write(recorder.role, processed, FAILURES_PREFIX, key)
        # It records nothing for an item that already has its result (one record per item).
        grant_object_read(recorder.role, processed, RESULTS_PREFIX, key)
        grant_missing_object_checks(recorder.role, processed)
        return recorder

    # --- endings outside the Catch graph ----------------------------------------------------

    def _build_endings_recorder(self) -> PipelineFunction:
        processed, key = self._storage.processed, self._storage.key
        # Its id names its alarms (RecorderErrors, RecorderThrottles) and its role.
        recorder = PipelineFunction(
            self,
            "Recorder",
            handler="record_execution_ending",
            description="Records items whose execution ended outside the Catch graph",
            shared=self._shared,
            key=key,
            config=self._config,
            environment={
                "PROCESSED_BUCKET": processed.bucket_name,
                "FAILED_ITEMS_QUEUE_URL": self.failed_items.queue_url,
            },
            memory_mb=256,
        )
        grant_failure_recording(recorder.role, processed, self.failed_items, key)
        return recorder

    def _build_execution_ended_rule(
        self, state_machine: sfn.IStateMachine, dead_letter_queue: sqs.IQueue
    ) -> events.Rule:
        return execution_endings_rule(
            self,
            "ExecutionEnded",
            state_machine=state_machine,
            statuses=["FAILED", "TIMED_OUT", "ABORTED"],
            target=self.endings_recorder,
            dead_letter_queue=dead_letter_queue,
            description="Executions of the pipeline that failed, timed out or were aborted",
        )

    # --- the results catalog ----------------------------------------------------------------

    def _build_catalog(self) -> tuple[glue.CfnDatabase, glue.CfnTable]:
        account = Stack.of(self).account
        database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                description="Multimodal Pipeline results"
            ),
        )
        location = f"s3://{self._storage.processed.bucket_name}/{RESULTS_PREFIX}"
        table = glue.CfnTable(
            self,
            "ItemResults",
            catalog_id=account,
            database_name=database.ref,
            table_input=glue.CfnTable.TableInputProperty(
                name="item_results",
                description="One row per processed or degraded item (ItemResult v1)",
                table_type="EXTERNAL_TABLE",
                parameters={
                    "classification": "json",
                    "projection.enabled": "true",
                    "projection.dt.type": "date",
                    "projection.dt.format": "yyyy-MM-dd",
                    "projection.dt.range": "2024-01-01,NOW",
                    "projection.dt.interval": "1",
                    "projection.dt.interval.unit": "DAYS",
                    # Where record_key() writes: results/dt=YYYY-MM-DD/<item>.json
                    "storage.location.template": location + day_partition("${dt}") + "/",
                },
                partition_keys=[glue.CfnTable.ColumnProperty(name="dt", type="string")],
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.openx.data.jsonserde.JsonSerDe",
                        parameters={"ignore.malformed.json": "false"},
                    ),
                    columns=[
                        glue.CfnTable.ColumnProperty(name=name, type=kind)
                        for name, kind in CATALOG_COLUMNS
                    ],
                ),
            ),
        )
        return database, table
