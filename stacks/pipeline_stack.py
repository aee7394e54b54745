"""The Multimodal Pipeline stack: composes one construct per concern, nothing else."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from pipeline.config import PipelineConfig
from stacks.constructs.alignment_job import AlignmentJob
from stacks.constructs.catalog import ResultsCatalog
from stacks.constructs.execution_endings import ExecutionEndings
from stacks.constructs.ingestion import Ingestion, encrypted_queue
from stacks.constructs.monitoring import Monitoring
from stacks.constructs.pipeline_function import SharedLambdaCode
from stacks.constructs.pipeline_functions import PipelineFunctions
from stacks.constructs.state_machine import PipelineStateMachine
from stacks.constructs.storage import Storage
from stacks.constructs.tables import Tables
from stacks.constructs.thresholds import ThresholdParameters
from stacks.constructs.transcription_events import TranscriptionEvents
from stacks.nag import acknowledge_findings


class MultimodalPipelineStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: PipelineConfig, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        storage = Storage(self, "Storage", config=config)
        shared = SharedLambdaCode(self, "LambdaCode")
        tables = Tables(self, "Tables", key=storage.key)
        thresholds = ThresholdParameters(self, "Thresholds", thresholds=config.thresholds)
        failed_items = encrypted_queue(self, "FailedItems", storage.key)
        # ItemProcessed events that could not be sent after the result was written.
        unsent_events = encrypted_queue(self, "UnsentEvents", storage.key)
        functions = PipelineFunctions(
            self,
            "Functions",
            config=config,
            shared=shared,
            key=storage.key,
            ingest_bucket=storage.ingest,
            processed_bucket=storage.processed,
            tables=tables,
            thresholds=thresholds,
        )
        alignment_job = AlignmentJob(
            self,
            "AlignmentJob",
            config=config,
            key=storage.key,
            ingest_bucket=storage.ingest,
            processed_bucket=storage.processed,
        )
        pipeline = PipelineStateMachine(
            self,
            "Pipeline",
            config=config,
            key=storage.key,
            functions=functions,
            alignment_job=alignment_job,
            failed_items_queue=failed_items,
            unsent_events_queue=unsent_events,
        )
        ingestion = Ingestion(
            self,
            "Ingestion",
            config=config,
            ingest_bucket=storage.ingest,
            key=storage.key,
            shared=shared,
            state_machine=pipeline.state_machine,
            processed_bucket=storage.processed,
            failed_items_queue=failed_items,
        )
        transcription = TranscriptionEvents(
            self,
            "TranscriptionEvents",
            config=config,
            shared=shared,
            key=storage.key,
            tables=tables,
            state_machine=pipeline.state_machine,
            dead_letter_queue=ingestion.dead_letter_queue,
        )
        endings = ExecutionEndings(
            self,
            "ExecutionEndings",
            config=config,
            shared=shared,
            key=storage.key,
            processed_bucket=storage.processed,
            state_machine=pipeline.state_machine,
            failed_items_queue=failed_items,
            dead_letter_queue=ingestion.dead_letter_queue,
        )
        ResultsCatalog(self, "Catalog", processed_bucket=storage.processed)
        monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            key=storage.key,
            state_machine=pipeline.state_machine,
            functions=[
                *functions.all,
                ingestion.dispatcher,
                ingestion.recorder,
                transcription.callback,
                endings.recorder,
            ],
            dead_letter_queues={
                "IngestDeadLetters": ingestion.dead_letter_queue,
                "FailedItems": failed_items,
                "UnsentEvents": unsent_events,
            },
            waiting_queues={"Undispatched": ingestion.undispatched},
        )
        acknowledge_findings(self, failed_items, unsent_events)

        CfnOutput(
            self,
            "IngestBucketName",
            value=storage.ingest.bucket_name,
            description=f"Drop files under s3://<this>/{config.ingest_prefix}",
        )
        CfnOutput(self, "ProcessedBucketName", value=storage.processed.bucket_name)
        CfnOutput(self, "StateMachineArn", value=pipeline.state_machine.state_machine_arn)
        CfnOutput(self, "AlarmTopicArn", value=monitoring.topic.topic_arn)
        CfnOutput(self, "FailedItemsQueueUrl", value=failed_items.queue_url)
        CfnOutput(self, "UnsentEventsQueueUrl", value=unsent_events.queue_url)
