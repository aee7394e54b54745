"""The Multimodal Pipeline stack: composes one construct per business concern, nothing else.

Read top to bottom it is the pipeline: storage, intake, the three branches, results, search
(the index every finished item goes into), the workflow that runs them, admission control
(the quotas every execution takes from), monitoring. The workflow names the branches'
functions and some of them name the workflow's state machine, so those parts are connected
once it exists.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from pipeline.config import PipelineConfig
from stacks.constructs.admission import Admission
from stacks.constructs.alignment_branch import AlignmentBranch
from stacks.constructs.audio_branch import AudioBranch
from stacks.constructs.intake import Intake
from stacks.constructs.monitoring import Monitoring
from stacks.constructs.pipeline_function import SharedLambdaCode
from stacks.constructs.results import Results
from stacks.constructs.search import Search
from stacks.constructs.storage import Storage
from stacks.constructs.thresholds import ThresholdParameters
from stacks.constructs.vision_branch import VisionBranch
from stacks.constructs.workflow import PipelineWorkflow
from stacks.nag import acknowledge_findings


class MultimodalPipelineStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: PipelineConfig, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        storage = Storage(self, "Storage", config=config)
        shared = SharedLambdaCode(self, "LambdaCode")
        thresholds = ThresholdParameters(self, "Thresholds", thresholds=config.thresholds)
        intake = Intake(
            self, "Intake", config=config, shared=shared, storage=storage, thresholds=thresholds
        )
        audio = AudioBranch(
            self,
            "AudioBranch",
            config=config,
            shared=shared,
            storage=storage,
            thresholds=thresholds,
        )
        vision = VisionBranch(
            self,
            "VisionBranch",
            config=config,
            shared=shared,
            storage=storage,
            thresholds=thresholds,
        )
        alignment = AlignmentBranch(
            self,
            "AlignmentBranch",
            config=config,
            shared=shared,
            storage=storage,
            thresholds=thresholds,
        )
        results = Results(
            self, "Results", config=config, shared=shared, storage=storage, thresholds=thresholds
        )
        search = Search(
            self, "Search", config=config, shared=shared, storage=storage, thresholds=thresholds
        )
        # "Pipeline", so that the state machine keeps its logical ID.
        workflow = PipelineWorkflow(
            self,
            "Pipeline",
            config=config,
            key=storage.key,
            intake=intake,
            audio=audio,
            vision=vision,
            alignment=alignment,
            results=results,
            search=search,
        )
        state_machine = workflow.state_machine
        intake.dispatch_to(state_machine, failed_items_queue=results.failed_items)
        audio.resume_waiting_tasks_of(state_machine, dead_letter_queue=intake.event_dead_letters)
        results.record_endings_of(state_machine, dead_letter_queue=intake.event_dead_letters)
        results.bill_items_of(
            state_machine,
            memory_by_state=workflow.memory_by_state,
            dispatcher=intake.dispatcher,
            callback=audio.callback,
        )
        admission = Admission(self, "Admission", config=config, shared=shared, key=storage.key)
        admission.admit(
            audio.start_transcription,
            audio.recover_transcription,
            audio.callback,
            vision.analyze_media,
            alignment.reserve_instance,
            alignment.alignment_gate,
            results.fusion,
            search.indexer,
        )
        admission.release_at_endings_of(state_machine, dead_letter_queue=intake.event_dead_letters)
        search.forget_items_of(state_machine, dead_letter_queue=intake.event_dead_letters)
        monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            key=storage.key,
            state_machine=state_machine,
            functions=[
                *workflow.tasks,
                intake.dispatcher,
                intake.undispatched_recorder,
                audio.callback,
                results.endings_recorder,
                admission.releaser,
                search.search_function,
                search.forgetter,
            ],
            dead_letter_queues={
                "IngestDeadLetters": intake.event_dead_letters,
                "FailedItems": results.failed_items,
                "UnsentEvents": results.unsent_events,
            },
            waiting_queues={"Undispatched": intake.undispatched},
        )
        acknowledge_findings(self)

        CfnOutput(
            self,
            "IngestBucketName",
            value=storage.ingest.bucket_name,
            description=f"Drop files under s3://<this>/{config.ingest_prefix}",
        )
        CfnOutput(self, "ProcessedBucketName", value=storage.processed.bucket_name)
        CfnOutput(self, "StateMachineArn", value=state_machine.state_machine_arn)
        CfnOutput(self, "AlarmTopicArn", value=monitoring.topic.topic_arn)
        CfnOutput(self, "FailedItemsQueueUrl", value=results.failed_items.queue_url)
        CfnOutput(self, "UnsentEventsQueueUrl", value=results.unsent_events.queue_url)
        # Where `mmpipe cost --stack` queries the results (Athena).
        CfnOutput(self, "ResultsDatabaseName", value=results.database.ref)
        CfnOutput(self, "ResultsTableName", value=results.catalog_table.ref)
        # What `mmpipe search --stack` (and applications) invoke.
        CfnOutput(self, "SearchFunctionName", value=search.search_function.function.function_name)
        CfnOutput(self, "VectorIndexArn", value=search.index_arn)
