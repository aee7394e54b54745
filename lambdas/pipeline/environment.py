"""Each function's environment, as a pydantic model per handler, validated at cold start.

A handler reads its model with `FusionEnvironment.current()`: read and validated once per
cold start, so a missing or malformed variable stops the first invocation with the
variable's name, not a KeyError mid-item.
`PipelineFunction` validates the environment it deploys against the same model at synth
(`ENVIRONMENTS`), so a function missing a variable fails `cdk synth`. Every function gets the
same variable for the same thing, so local mode can host all handlers in one process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, Self, cast

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.config import PipelineConfig


class FunctionEnvironment(BaseModel):
    """What every pipeline function gets. Field `x` is the variable `X`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    pipeline_config: PipelineConfig

    @field_validator("pipeline_config", mode="before")
    @classmethod
    def _parse_json(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    @classmethod
    def variables(cls) -> list[str]:
        return [name.upper() for name in cls.model_fields]

    @classmethod
    def current(cls) -> Self:
        """This function's environment, validated on first use and then kept."""
        if cls not in _LOADED:
            _LOADED[cls] = cls.load()
        return cast(Self, _LOADED[cls])

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Self:
        source = os.environ if environ is None else environ
        return cls.model_validate(
            {name: source[name.upper()] for name in cls.model_fields if name.upper() in source}
        )


_LOADED: dict[type[Any], FunctionEnvironment] = {}


def forget_environments() -> None:
    """Read the environment again on next use (local mode sets it after importing handlers)."""
    _LOADED.clear()


class _Processed(FunctionEnvironment):
    processed_bucket: str = Field(min_length=1)


class _Gate(_Processed):
    """Gates read their thresholds from SSM, cached this long per warm function (local mode
    sets 0: its handlers share one process, and each must read with its own role)."""

    thresholds_parameter_path: str = Field(min_length=1)
    thresholds_max_age_s: int = Field(default=300, ge=0)


class _Admitted(FunctionEnvironment):
    """Functions that take (or give back) the account's quotas through admission control."""

    capacity_table: str = Field(min_length=1)


class _Indexed(FunctionEnvironment):
    """Functions that read or change the search index (S3 Vectors)."""

    vector_bucket_name: str = Field(min_length=1)
    vector_index_name: str = Field(min_length=1)


class _Searchable(_Indexed):
    """And its ledger: the embedding cache and which item holds which vectors (DynamoDB)."""

    search_table: str = Field(min_length=1)


class DispatcherEnvironment(FunctionEnvironment):
    state_machine_arn: str = Field(min_length=1)


class UndispatchedEnvironment(_Processed):
    state_machine_arn: str = Field(min_length=1)
    failed_items_queue_url: str = Field(min_length=1)


class BundleFileEnvironment(_Processed):
    ingest_bucket: str = Field(min_length=1)


class IntakeEnvironment(_Processed):
    ingest_bucket: str = Field(min_length=1)


class QuarantineEnvironment(_Processed):
    pass


class ExtractAudioEnvironment(_Processed):
    pass


class StartTranscriptionEnvironment(_Processed, _Admitted):
    task_tokens_table: str = Field(min_length=1)


class TranscriptionEventsEnvironment(_Admitted):
    """The callback, and "Check the job once more": both settle a parked task token."""

    task_tokens_table: str = Field(min_length=1)


class TranscriptGateEnvironment(_Gate):
    pass


class PrepareMediaEnvironment(_Processed):
    pass


class AnalyzeMediaEnvironment(_Processed, _Admitted):
    pass


class VisionGateEnvironment(_Gate):
    pass


class ReserveInstanceEnvironment(_Admitted):
    pass


class AlignmentGateEnvironment(_Gate, _Admitted):
    pass


class FusionEnvironment(_Processed, _Admitted):
    pass


class FinalGateEnvironment(_Gate):
    pass


class LambdaMemory(BaseModel):
    """Memory (MB) of the functions an item runs, for its bill: by the state that invokes
    each (the stack reads them off the definition), and those that run for it outside the
    execution. A state the map does not name is billed at `default`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    states: dict[str, int] = Field(default_factory=dict)
    dispatcher: int = Field(default=256, ge=128)
    transcription_callback: int = Field(default=256, ge=128)
    default: int = Field(default=512, ge=128)

    def of(self, state: str) -> int:
        return self.states.get(state, self.default)


class ResultWriterEnvironment(_Processed):
    idempotency_table: str = Field(min_length=1)
    lambda_memory_mb: LambdaMemory
    # Set by the Lambda runtime (and local mode): the region whose prices bill the item.
    aws_region: str = Field(default="us-east-1", min_length=1)

    @field_validator("lambda_memory_mb", mode="before")
    @classmethod
    def _parse_memory(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value


class FailureRecorderEnvironment(_Processed):
    pass


class ExecutionEndingsEnvironment(_Processed):
    failed_items_queue_url: str = Field(min_length=1)


class ReleaseCapacityEnvironment(_Admitted):
    pass


class IndexForSearchEnvironment(_Processed, _Admitted, _Searchable):
    pass


class SearchEnvironment(_Indexed):
    pass


class ForgetVectorsEnvironment(_Searchable):
    pass


# handler path (as deployed: "pipeline.handlers.<module>.handler") -> its environment model
_BY_MODULE: dict[str, type[FunctionEnvironment]] = {
    "dispatcher": DispatcherEnvironment,
    "record_undispatched": UndispatchedEnvironment,
    "bundle_file": BundleFileEnvironment,
    "intake_gate": IntakeEnvironment,
    "quarantine": QuarantineEnvironment,
    "extract_audio": ExtractAudioEnvironment,
    "start_transcription": StartTranscriptionEnvironment,
    "transcription_callback": TranscriptionEventsEnvironment,
    "recover_transcription": TranscriptionEventsEnvironment,
    "transcript_gate": TranscriptGateEnvironment,
    "prepare_media": PrepareMediaEnvironment,
    "analyze_media": AnalyzeMediaEnvironment,
    "vision_gate": VisionGateEnvironment,
    "reserve_alignment_instance": ReserveInstanceEnvironment,
    "alignment_gate": AlignmentGateEnvironment,
    "fusion": FusionEnvironment,
    "final_gate": FinalGateEnvironment,
    "result_writer": ResultWriterEnvironment,
    "failure_recorder": FailureRecorderEnvironment,
    "record_execution_ending": ExecutionEndingsEnvironment,
    "release_capacity": ReleaseCapacityEnvironment,
    "index_for_search": IndexForSearchEnvironment,
    "search": SearchEnvironment,
    "forget_search_vectors": ForgetVectorsEnvironment,
}
ENVIRONMENTS: dict[str, type[FunctionEnvironment]] = {
    f"pipeline.handlers.{module}.handler": model for module, model in _BY_MODULE.items()
}
