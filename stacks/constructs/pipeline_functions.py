"""The Lambda functions the state machine calls, each with exactly the access it needs."""

from __future__ import annotations

from aws_cdk import Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from pipeline.config import PipelineConfig
from stacks.constructs.grants import (
    grant_missing_object_checks,
    grant_object_read,
    grant_object_write,
    grant_transcription_jobs,
    iam_acknowledgment,
)
from stacks.constructs.pipeline_function import PipelineFunction, SharedLambdaCode
from stacks.constructs.tables import (
    FORGET_TOKENS,
    IDEMPOTENCY_RECORDS,
    PARK_TOKENS,
    Tables,
    grant_item_access,
)
from stacks.constructs.thresholds import ThresholdParameters

# Work files of running items (plans, prepared media, transcripts, model answers).
WORK = "work/"
# Model ids that start with these name cross-region inference profiles.
CROSS_REGION_PREFIXES = ("us", "eu", "apac", "global", "jp", "au", "ca")


class PipelineFunctions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        shared: SharedLambdaCode,
        key: kms.IKey,
        ingest_bucket: s3.IBucket,
        processed_bucket: s3.IBucket,
        tables: Tables,
        thresholds: ThresholdParameters,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config, self._shared, self._key = config, shared, key
        self._env = {
            "INGEST_BUCKET": ingest_bucket.bucket_name,
            "PROCESSED_BUCKET": processed_bucket.bucket_name,
            "THRESHOLDS_PARAMETER_PATH": thresholds.path,
        }
        ingest = config.ingest_prefix

        self.intake_gate = self._function(
            "IntakeGate",
            "intake_gate",
            "Sniffs, decode-checks and plans an item (or rejects it)",
            memory_mb=1769,
            timeout=Duration.minutes(5),
            ephemeral_storage_mb=10240,
        )
        grant_object_read(self.intake_gate.role, ingest_bucket, ingest, key, versions=True)
        # OBJECT_NOT_FOUND, MISSING_ASSET and the NFC/NFD name lookup need a 404, not a 403.
        grant_missing_object_checks(self.intake_gate.role, ingest_bucket)
        grant_object_write(self.intake_gate.role, processed_bucket, WORK, key)

        self.bundle_file = self._function(
            "BundleFile",
            "bundle_file",
            "Finds the manifest that takes a bundle file (or quarantines the file)",
            memory_mb=256,
        )
        # Reads the manifests above the file; a 404 (not a 403) says one has not arrived.
        grant_object_read(self.bundle_file.role, ingest_bucket, config.bundle_prefix, key)
        grant_missing_object_checks(self.bundle_file.role, ingest_bucket)

        self.quarantine = self._function(
            "Quarantine", "quarantine", "Copies rejected input to quarantine with its reason"
        )
        grant_object_read(self.quarantine.role, ingest_bucket, ingest, key, versions=True)
        # A rejected object may be gone already (OBJECT_NOT_FOUND): still write the record.
        grant_missing_object_checks(self.quarantine.role, ingest_bucket)
        grant_object_write(self.quarantine.role, processed_bucket, "quarantine/", key)

        self.recover_transcription = self._function(
            "RecoverTranscription",
            "recover_transcription",
            "After a callback wait timed out, checks the Transcribe job once (a lost event)",
            memory_mb=256,
        )
        grant_item_access(tables.task_tokens, self.recover_transcription.role, key, FORGET_TOKENS)
        grant_transcription_jobs(
            self.recover_transcription.role, ["transcribe:GetTranscriptionJob"]
        )
        self.recover_transcription.function.add_environment(
            "TASK_TOKENS_TABLE", tables.task_tokens.table_name
        )

        self.start_transcription = self._function(
            "StartTranscription",
            "start_transcription",
            "Starts a Transcribe job and parks the task token until its state-change event",
        )
        grant_item_access(tables.task_tokens, self.start_transcription.role, key, PARK_TOKENS)
        # Transcribe reads the media (or the audio extracted from a MOV/MKV into work/) and
        # writes its output with the permissions of this function, its caller.
        grant_object_read(self.start_transcription.role, ingest_bucket, ingest, key)
        self._grant_work(self.start_transcription.role, processed_bucket)
        grant_transcription_jobs(
            self.start_transcription.role,
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
        self.start_transcription.role.add_to_policy(
            iam.PolicyStatement(
                actions=["states:SendTaskSuccess", "states:SendTaskFailure"], resources=["*"]
            )
        )
        self.start_transcription.role.add_to_policy(
            iam.PolicyStatement(
                actions=["transcribe:CreateVocabulary", "transcribe:GetVocabulary"],
                resources=[
                    stack.format_arn(
                        service="transcribe", resource="vocabulary", resource_name="mmp-*"
                    )
                ],
            )
        )
        Validations.of(self.start_transcription.role).acknowledge(
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
        self.start_transcription.function.add_environment(
            "TASK_TOKENS_TABLE", tables.task_tokens.table_name
        )

        self.extract_audio = self._function(
            "ExtractAudio",
            "extract_audio",
            "Copies the audio of a container Transcribe does not take into one it does",
            memory_mb=2048,
            timeout=Duration.minutes(15),
            ephemeral_storage_mb=10240,
        )
        grant_object_read(self.extract_audio.role, ingest_bucket, ingest, key, versions=True)
        # Reads the item's plan (the state names the asset by id) and writes the audio.
        self._grant_work(self.extract_audio.role, processed_bucket)

        self.transcript_gate = self._function(
            "TranscriptGate",
            "transcript_gate",
            "Normalises the Transcribe output and checks confidence, coverage and language",
            memory_mb=1024,
        )
        self._grant_work(self.transcript_gate.role, processed_bucket)
        # Subtitles are optional output: probing for them needs a 404 when absent.
        grant_missing_object_checks(self.transcript_gate.role, processed_bucket)
        thresholds.grant_read(self.transcript_gate.role)

        self.prepare_media = self._function(
            "PrepareMedia",
            "prepare_media",
            "Orients, resizes and strips images; chunks text; for the model",
            memory_mb=2048,
            timeout=Duration.minutes(3),
            ephemeral_storage_mb=4096,
        )
        grant_object_read(self.prepare_media.role, ingest_bucket, ingest, key, versions=True)
        self._grant_work(self.prepare_media.role, processed_bucket)
        # An asset deleted since intake, or an unreadable plan, degrades one asset only.
        grant_missing_object_checks(self.prepare_media.role, ingest_bucket)
        grant_missing_object_checks(self.prepare_media.role, processed_bucket)

        self.analyze_media = self._function(
            "AnalyzeMedia",
            "analyze_media",
            "Asks Bedrock (Converse) about one asset, for JSON",
            timeout=Duration.minutes(5),
        )
        # PDFs are read by version; Bedrock reads a video by its S3 location with this role.
        grant_object_read(self.analyze_media.role, ingest_bucket, ingest, key, versions=True)
        self._grant_work(self.analyze_media.role, processed_bucket)
        self._allow_bedrock(self.analyze_media.role, config)

        self.vision_gate = self._function(
            "VisionGate",
            "vision_gate",
            "Validates the model's JSON against its schema, with one repair attempt",
            timeout=Duration.minutes(5),
        )
        self._grant_work(self.vision_gate.role, processed_bucket)
        self._allow_bedrock(self.vision_gate.role, config)
        thresholds.grant_read(self.vision_gate.role)

        self.alignment_gate = self._function(
            "AlignmentGate",
            "alignment_gate",
            "Reads the alignment report and checks sync score and media quality",
        )
        self._grant_work(self.alignment_gate.role, processed_bucket)
        # A job that wrote no report is AlignmentFailed, not an access error.
        grant_missing_object_checks(self.alignment_gate.role, processed_bucket)
        thresholds.grant_read(self.alignment_gate.role)

        self.fusion = self._function(
            "Fusion",
            "fusion",
            "Merges branch results and reasons across modalities (Bedrock)",
            memory_mb=1024,
            timeout=Duration.minutes(5),
        )
        self._grant_work(self.fusion.role, processed_bucket)
        # A branch result that was never written is reported in the record, not a crash.
        grant_missing_object_checks(self.fusion.role, processed_bucket)
        self._allow_bedrock(self.fusion.role, config)

        self.final_gate = self._function(
            "FinalGate", "final_gate", "Decides processed or degraded from every gate's verdict"
        )
        grant_object_read(self.final_gate.role, processed_bucket, WORK, key)
        thresholds.grant_read(self.final_gate.role)

        self.result_writer = self._function(
            "ResultWriter",
            "result_writer",
            "Writes derived files, then the ItemResult, its one record (idempotent)",
            memory_mb=1024,
            timeout=Duration.minutes(2),
        )
        grant_object_read(self.result_writer.role, processed_bucket, WORK, key)
        grant_object_write(self.result_writer.role, processed_bucket, "results/", key)
        grant_object_write(self.result_writer.role, processed_bucket, "derived/", key)
        # Derived files a job was asked for but did not write are skipped, not fatal.
        grant_missing_object_checks(self.result_writer.role, processed_bucket)
        grant_item_access(tables.idempotency, self.result_writer.role, key, IDEMPOTENCY_RECORDS)
        self.result_writer.function.add_environment(
            "IDEMPOTENCY_TABLE", tables.idempotency.table_name
        )

        self.failure_recorder = self._function(
            "FailureRecorder", "failure_recorder", "Writes the failure record of a failed item"
        )
        grant_object_write(self.failure_recorder.role, processed_bucket, "failures/", key)
        # It records nothing for an item that already has its result (one record per item).
        grant_object_read(self.failure_recorder.role, processed_bucket, "results/", key)
        grant_missing_object_checks(self.failure_recorder.role, processed_bucket)

    @property
    def all(self) -> list[PipelineFunction]:
        return [
            self.intake_gate,
            self.bundle_file,
            self.quarantine,
            self.start_transcription,
            self.recover_transcription,
            self.extract_audio,
            self.transcript_gate,
            self.prepare_media,
            self.analyze_media,
            self.vision_gate,
            self.alignment_gate,
            self.fusion,
            self.final_gate,
            self.result_writer,
            self.failure_recorder,
        ]

    def _function(
        self, construct_id: str, handler: str, description: str, **sizing: object
    ) -> PipelineFunction:
        return PipelineFunction(
            self,
            construct_id,
            handler=handler,
            description=description,
            shared=self._shared,
            key=self._key,
            config=self._config,
            environment=dict(self._env),
            **sizing,  # type: ignore[arg-type]
        )

    def _grant_work(self, role: iam.IRole, processed_bucket: s3.IBucket) -> None:
        grant_object_read(role, processed_bucket, WORK, self._key)
        grant_object_write(role, processed_bucket, WORK, self._key)

    @staticmethod
    def _allow_bedrock(role: iam.IRole, config: PipelineConfig) -> None:
        stack = Stack.of(role)
        model_ids = sorted(
            {
                config.models.image,
                config.models.document,
                config.models.text,
                config.models.video,
                config.models.fusion,
            }
        )
        resources: list[str] = []
        for model_id in model_ids:
            if model_id.split(".", 1)[0] in CROSS_REGION_PREFIXES:
                # A cross-region inference profile, and the foundation model it routes to
                # in whichever region it picks.
                resources.append(
                    stack.format_arn(
                        service="bedrock", resource="inference-profile", resource_name=model_id
                    )
                )
                resources.append(
                    f"arn:{stack.partition}:bedrock:*::foundation-model/{model_id.split('.', 1)[1]}"
                )
            else:
                resources.append(
                    f"arn:{stack.partition}:bedrock:{stack.region}::foundation-model/{model_id}"
                )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=resources)
        )
        Validations.of(role).acknowledge(
            *[
                iam_acknowledgment(
                    role,
                    "Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/"
                    + model_id.split(".", 1)[1],
                    "A cross-region inference profile routes to this model in any of its regions.",
                )
                for model_id in model_ids
                if model_id.split(".", 1)[0] in CROSS_REGION_PREFIXES
            ]
        )
