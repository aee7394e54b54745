"""The vision branch: images, documents, text and video, described by a Bedrock model.

In the state machine ("Analyze each visual asset") it owns "Prepare media for the model"
(PrepareMedia), "Analyze with Bedrock" (AnalyzeMedia) and "Check vision output" (VisionGate).
"""

from __future__ import annotations

from aws_cdk import Duration

from stacks.constructs.grants import (
    grant_bedrock_models,
    grant_missing_object_checks,
    grant_object_read,
    grant_work_files,
)
from stacks.constructs.pipeline_function import (
    PipelineFunction,
    TaskFunctions,
)


class VisionBranch(TaskFunctions):
    def _build(self) -> None:
        self.prepare_media = self._build_prepare_media()
        self.analyze_media = self._build_analyze_media()
        self.vision_gate = self._build_vision_gate()

    @property
    def tasks(self) -> list[PipelineFunction]:
        """The functions the state machine invokes for the vision branch."""
        return [self.prepare_media, self.analyze_media, self.vision_gate]

    def _build_prepare_media(self) -> PipelineFunction:
        prepare = self._task(
            "PrepareMedia",
            "prepare_media",
            "Orients, resizes and strips images; chunks text; for the model",
            memory_mb=2048,
            timeout=Duration.minutes(3),
            ephemeral_storage_mb=4096,
        )
        ingest, processed, key = self._storage.ingest, self._storage.processed, self._storage.key
        grant_object_read(prepare.role, ingest, self._config.ingest_prefix, key, versions=True)
        grant_work_files(prepare.role, processed, key)
        # An asset deleted since intake, or an unreadable plan, degrades one asset only.
        grant_missing_object_checks(prepare.role, ingest)
        grant_missing_object_checks(prepare.role, processed)
        return prepare

    def _build_analyze_media(self) -> PipelineFunction:
        analyze = self._task(
            "AnalyzeMedia",
            "analyze_media",
            "Asks Bedrock (Converse) about one asset, for JSON",
            timeout=Duration.minutes(5),
        )
        ingest, processed, key = self._storage.ingest, self._storage.processed, self._storage.key
        # PDFs are read by version; Bedrock reads a video by its S3 location with this role.
        grant_object_read(analyze.role, ingest, self._config.ingest_prefix, key, versions=True)
        grant_work_files(analyze.role, processed, key)
        grant_bedrock_models(analyze.role, self._config)
        return analyze

    def _build_vision_gate(self) -> PipelineFunction:
        gate = self._task(
            "VisionGate",
            "vision_gate",
            "Validates the model's JSON against its schema, with one repair attempt",
            timeout=Duration.minutes(5),
        )
        grant_work_files(gate.role, self._storage.processed, self._storage.key)
        # The repair attempt asks the model again.
        grant_bedrock_models(gate.role, self._config)
        self._thresholds.grant_read(gate.role)
        return gate
