"""The pipeline's configuration: one pydantic model, validated at synth and at cold start.

At synth it comes from the `pipeline` key of cdk.json context (overridable with `-c`).
The deployed Lambdas receive the parts they need as environment variables
(see `pipeline.environment`), and the quality thresholds also live in SSM so that
operators can tune them without a redeploy.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

# Intake, the other branches, fusion and the writes around the longest wait.
WORK_AROUND_WAITS_S = 3600
# The most a step waits for capacity before it gives up: the ASL's capacity retrier (80
# attempts, backoff to 5 minutes; tests/infrastructure/test_error_contract.py holds them equal).
CAPACITY_WAIT_S = 22_515


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelRouting(_Strict):
    """Bedrock model ids (or inference profile ids) chosen per input modality."""

    image: str = "us.amazon.nova-lite-v1:0"
    document: str = "us.amazon.nova-lite-v1:0"
    text: str = "us.amazon.nova-lite-v1:0"
    # Nova accepts video input through Converse; Claude models do not.
    video: str = "us.amazon.nova-lite-v1:0"
    fusion: str = "us.amazon.nova-pro-v1:0"
    max_output_tokens: int = Field(default=2048, ge=256, le=8192)

    def for_modality(self, modality: str) -> str:
        if modality in ("image", "document", "text", "video"):
            return str(getattr(self, modality))
        return self.text


class Thresholds(_Strict):
    """Quality-gate thresholds. Also published as SSM parameters (one per field)."""

    transcript_min_confidence: float = Field(default=0.6, ge=0, le=1)
    transcript_min_speech_coverage: float = Field(default=0.05, ge=0, le=1)
    vision_min_fields: int = Field(default=2, ge=1)
    alignment_min_score: float = Field(default=0.5, ge=0, le=1)
    audio_max_clipping_ratio: float = Field(default=0.01, ge=0, le=1)
    image_min_sharpness: float = Field(default=10.0, ge=0)
    final_min_passed_ratio: float = Field(default=0.5, ge=0, le=1)


class Limits(_Strict):
    """Input limits. Anything over a limit is quarantined with the reason, never a crash."""

    # Amazon Transcribe's own limits: 4 hours and 2 GB per file.
    max_media_duration_s: float = Field(default=4 * 3600, gt=0)
    max_media_bytes: int = Field(default=2 * 1024**3, gt=0)
    # Decompression-bomb protection: Pillow refuses images above this many pixels.
    max_image_pixels: int = Field(default=89_478_485, gt=0)
    # Video frames are decoded again and again (the probe, the alignment job's keyframes),
    # so a frame gets its own budget: 12K (12288x6480), the largest frame cameras record.
    # A 6 MB MJPEG of 16000x16000 frames took the alignment job to 4 GB of memory.
    max_video_frame_pixels: int = Field(default=12288 * 6480, gt=0)
    max_image_bytes: int = Field(default=50 * 1024**2, gt=0)
    max_text_bytes: int = Field(default=5 * 1024**2, gt=0)
    # Each asset's outcome (id, result URI, gate verdicts: about 0.5 KB) comes back through
    # the state; 200 keeps the largest state near 100 KB of Step Functions' 256 KB.
    max_bundle_assets: int = Field(default=50, ge=1, le=200)
    max_manifest_bytes: int = Field(default=256 * 1024, gt=0)
    # The bytes of all asset paths a manifest names (path and syncs_with): every path is
    # copied into the plan, the records and the result, so this keeps them bounded.
    max_bundle_path_bytes: int = Field(default=32 * 1024, gt=0)
    text_chunk_chars: int = Field(default=6000, ge=500)
    text_chunk_overlap_chars: int = Field(default=400, ge=0)
    # Longest edge sent to the model; larger images are resized down.
    model_image_max_edge: int = Field(default=1568, ge=256, le=8000)


class AlignmentJob(_Strict):
    """Where the SageMaker Processing job runs (see docs/alignment-container.md)."""

    # None: the SageMaker-managed scikit-learn 1.4-2 Python 3.12 image of the deployment's
    # region; the job installs its pinned wheels offline from the code asset. Set an image URI
    # of your own (with the packages baked in) to skip that step.
    image_uri: str | None = None
    instance_type: str = "ml.m5.large"
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    max_runtime_s: int = Field(default=3600, ge=60, le=432000)


class ModelQuota(_Strict):
    """One Bedrock model's per-minute quotas (cross-Region inference profile)."""

    requests_per_minute: int = Field(ge=1)
    tokens_per_minute: int = Field(ge=1, description="Input and output tokens together.")


class Quotas(_Strict):
    """The account quotas the pipeline spends, as admission control and local mode see them.

    The defaults are the documented defaults for us-east-1 (Service Quotas, 2026-11); an
    account's real values can be lower (new accounts often are) or raised on request: set
    these to what Service Quotas shows for the deploying account. Admission control never
    lets executions together ask for more than this; local mode answers throttling past it.
    """

    bedrock: dict[str, ModelQuota] = Field(
        default_factory=lambda: {
            "us.amazon.nova-lite-v1:0": ModelQuota(
                requests_per_minute=2000, tokens_per_minute=4_000_000
            ),
            "us.amazon.nova-pro-v1:0": ModelQuota(
                requests_per_minute=500, tokens_per_minute=1_000_000
            ),
        }
    )
    # A model the table does not name gets this (the smallest common default).
    bedrock_default: ModelQuota = ModelQuota(requests_per_minute=100, tokens_per_minute=200_000)
    # "Concurrent batch transcription jobs": 250 in us-east-1, us-west-2 and eu-west-1.
    transcribe_concurrent_jobs: int = Field(default=250, ge=1)
    # "<instance type> for processing job usage": instances running at once.
    sagemaker_processing_instances: int = Field(default=4, ge=1)
    # Account concurrency shared by every function in the Region.
    lambda_concurrent_executions: int = Field(default=1000, ge=10)
    # StartExecution (Standard): a token bucket of 1,300 refilled at 300 a second.
    sfn_start_execution_burst: int = Field(default=1300, ge=1)
    sfn_start_execution_per_second: float = Field(default=300, gt=0)

    def model(self, model_id: str) -> ModelQuota:
        return self.bedrock.get(model_id, self.bedrock_default)


# The dimensions each embedding model offers (Nova Multimodal Embeddings; Titan Multimodal
# Embeddings G1): text and images in one vector space, so words find pictures.
EMBEDDING_DIMENSIONS: dict[str, tuple[int, ...]] = {
    "amazon.nova-2-multimodal-embeddings-v1:0": (256, 384, 1024, 3072),
    "amazon.titan-embed-image-v1": (256, 384, 1024),
}


class SearchSettings(_Strict):
    """The search index: the embedding model and dimension (fixed per index: changing either
    creates a new, empty index; reprocess to fill it), and how items are cut into pieces."""

    embedding_model: str = "amazon.nova-2-multimodal-embeddings-v1:0"
    dimension: int = 1024
    # A hit points at a stretch of speech or captions this long at most.
    window_s: float = Field(default=30.0, ge=5, le=300)
    # Text is embedded in chunks of this many characters, overlapping by `chunk_overlap`.
    # (Nova reads up to 8K tokens of text; Titan 256 tokens, about 1,000 characters.)
    chunk_chars: int = Field(default=2000, ge=200, le=8000)
    chunk_overlap: int = Field(default=200, ge=0)
    # An item is cut into at most this many pieces; the rest is left out of search (and
    # counted in the record), so a huge document cannot flood the index or the bill.
    max_pieces_per_item: int = Field(default=400, ge=1, le=5000)

    @model_validator(mode="after")
    def _model_offers_dimension(self) -> SearchSettings:
        offered = EMBEDDING_DIMENSIONS.get(self.embedding_model)
        if offered is None:
            raise ValueError(
                f"embedding_model must be one of {sorted(EMBEDDING_DIMENSIONS)} (a model "
                "that puts text and images in one space)"
            )
        if self.dimension not in offered:
            raise ValueError(f"{self.embedding_model} offers dimensions {offered}")
        if self.chunk_overlap >= self.chunk_chars:
            raise ValueError("chunk_overlap must be smaller than chunk_chars")
        if self.embedding_model.startswith("amazon.titan") and self.chunk_chars > 1000:
            raise ValueError("Titan reads 256 tokens of text at most: chunk_chars <= 1000")
        return self

    @property
    def index_name(self) -> str:
        """Named by model and dimension: vectors of another model cannot share its space."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.embedding_model.lower()).strip("-")
        return f"{slug[:40].rstrip('-')}-{self.dimension}"


class PipelineConfig(_Strict):
    """Everything an operator can set, with sane defaults."""

    ingest_prefix: str = "incoming/"
    bundle_prefix: str = "incoming/bundles/"
    models: ModelRouting = ModelRouting()
    thresholds: Thresholds = Thresholds()
    limits: Limits = Limits()
    alignment: AlignmentJob = AlignmentJob()
    quotas: Quotas = Quotas()
    search: SearchSettings = SearchSettings()
    alarm_email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = (
        None
    )
    log_retention_days: int = Field(default=90, ge=1)
    results_retention_days: int | None = Field(default=None, ge=1)
    # Rejected items per gate evaluation above which the gate-rejection alarm fires.
    gate_rejection_alarm_ratio: float = Field(default=0.2, gt=0, le=1)
    transcribe_timeout_s: int = Field(default=6 * 3600, ge=60)
    # A file under the bundle prefix whose manifest has not arrived after this long is
    # quarantined (MANIFEST_MISSING). Upload manifests last, within this window.
    bundle_manifest_wait_s: int = Field(default=900, ge=0, le=24 * 3600)
    # Every wait must end inside this, or an item ends TIMED_OUT instead of where it belongs.
    # A day: a burst may wait hours for capacity (admission control) before a 6-hour
    # transcription; a Standard execution costs nothing while it waits.
    execution_timeout_s: int = Field(default=24 * 3600, ge=3600, le=365 * 24 * 3600)

    @field_validator("ingest_prefix", "bundle_prefix")
    @classmethod
    def _prefix_shape(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9!_.*'()/-]+/", value) or value.startswith("/"):
            raise ValueError("must be a relative S3 prefix ending in '/'")
        return value

    @model_validator(mode="after")
    def _bundles_under_ingest(self) -> PipelineConfig:
        if not self.bundle_prefix.startswith(self.ingest_prefix):
            raise ValueError("bundle_prefix must sit under ingest_prefix")
        return self

    @model_validator(mode="after")
    def _waits_fit_the_execution(self) -> PipelineConfig:
        """Each wait (with the wait for capacity and the work around it) ends before the
        execution times out."""
        waits = {
            "transcribe_timeout_s": self.transcribe_timeout_s,
            "alignment.max_runtime_s": self.alignment.max_runtime_s,
            "bundle_manifest_wait_s": self.bundle_manifest_wait_s,
        }
        for name, seconds in waits.items():
            # The wait may start only once capacity frees (admission control).
            if seconds + CAPACITY_WAIT_S + WORK_AROUND_WAITS_S > self.execution_timeout_s:
                raise ValueError(
                    f"{name}={seconds} leaves less than {WORK_AROUND_WAITS_S} s of the "
                    f"execution_timeout_s={self.execution_timeout_s} for the rest of the item, "
                    f"after up to {CAPACITY_WAIT_S} s of waiting for capacity"
                )
        return self


def load_config(context: dict[str, object] | None) -> PipelineConfig:
    """Validate the `pipeline` context block; an empty or missing block means all defaults."""
    return PipelineConfig.model_validate(context or {})
