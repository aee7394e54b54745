"""Admission control: work waits for the account's quotas instead of failing on them.

Every execution runs on the same account quotas (config `quotas`), so a burst of files would
otherwise meet them as throttling and, once retries ran out, as degraded items. Before a call
that spends a quota, a step takes what the call needs from a ledger shared by all executions
(adapters/capacity.py); when it is not there, the step raises `CapacityUnavailable` and the
state machine retries it with backoff for hours. Two kinds of quota:

- slots, held while work runs elsewhere: Transcribe's concurrent jobs (taken when a job
  starts, given back when its completion event arrives, or at once when the job did not
  start) and SageMaker's processing instances (taken before the job, given back by the
  alignment gate, or by fusion after a failed job). Any slot an item still holds when
  its execution ends, however it ends, is given back by `release_capacity`.
- rates, which refill with time: Bedrock's requests and tokens per minute per model, taken
  just before each Converse call (`AdmittedModel`), as Bedrock counts them: the input and the
  most the answer may use; and before each embedding (`AdmittedEmbedder`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pipeline.adapters.embeddings import Embedder, Embedding, Purpose
from pipeline.adapters.model import (
    DocumentBlock,
    ImageBlock,
    ModelClient,
    ModelReply,
    ModelRequest,
    TextBlock,
)
from pipeline.config import ModelQuota, PipelineConfig, Quotas
from pipeline.errors import CapacityUnavailable
from pipeline_contracts.item import PlanSummary
from pipeline_contracts.search import ImageFormat
from pipeline_contracts.states.reserve_an_alignment_instance import InstanceReserved

TRANSCRIBE_POOL = "slots#transcribe"
# Nova counts an image as about 1,300 tokens at most at the sizes prepare_media sends (its
# longest edge is resized to at most 1,568 px); a video by its length, which is unknown here.
_IMAGE_TOKENS = 1_600
_VIDEO_TOKENS = 40_000
_CHARS_PER_TOKEN = 4


def sagemaker_pool(instance_type: str) -> str:
    return f"slots#sagemaker#{instance_type}"


def holder(item_id: str, unit: str) -> str:
    """A slot's holder: the item first, so whatever it still holds can be found at its end."""
    return f"{item_id}/{unit}"


@dataclass(frozen=True)
class BucketLevel:
    requests: float
    tokens: float
    at: float


# A bucket holds a quarter of a minute's quota and refills the other three quarters over the
# minute: in any 60 s window it admits at most the quota (a full bucket plus its refill), the
# way Bedrock counts, at the price of a quarter of the quota in sustained throughput.
BURST_SHARE = 0.25


@dataclass(frozen=True)
class Bucket:
    """One model's per-minute quotas as a token bucket (requests and tokens together)."""

    name: str
    quota: ModelQuota
    tokens: int

    def _capacity(self) -> tuple[float, float]:
        return (
            self.quota.requests_per_minute * BURST_SHARE,
            self.quota.tokens_per_minute * BURST_SHARE,
        )

    def take(self, level: BucketLevel | None, now: float) -> tuple[BucketLevel | None, float]:
        """(the level after taking, 0) or (None, seconds until there is enough)."""
        max_requests, max_tokens = self._capacity()
        per_s_requests = self.quota.requests_per_minute * (1 - BURST_SHARE) / 60
        per_s_tokens = self.quota.tokens_per_minute * (1 - BURST_SHARE) / 60
        if level is None:
            requests, tokens, at = max_requests, max_tokens, now
        else:
            # A caller whose clock runs behind refills nothing, and never moves time back.
            at = max(now, level.at)
            elapsed = at - level.at
            requests = min(max_requests, level.requests + elapsed * per_s_requests)
            tokens = min(max_tokens, level.tokens + elapsed * per_s_tokens)
        # A call larger than a full bucket gets in when the bucket is full and leaves it in
        # debt for the rest: it never waits forever, and the quota still holds over a minute.
        ready_requests = min(1.0, max_requests)
        ready_tokens = min(float(self.tokens), max_tokens)
        # (with a hair of slack: a refill computed to the instant it completes may round down)
        if requests + 1e-9 >= ready_requests and tokens + 1e-6 >= ready_tokens:
            return BucketLevel(requests - 1.0, tokens - self.tokens, at), 0.0
        wait = max(
            (ready_requests - requests) / per_s_requests,
            (ready_tokens - tokens) / per_s_tokens,
            0.0,
        )
        return None, wait


class CapacityLedger(Protocol):
    def take_slot(self, pool: str, holder: str, limit: int) -> bool: ...
    def release_slot(self, pool: str, holder: str) -> bool: ...
    def holders(self, pool: str) -> set[str]: ...
    def pools(self) -> list[str]: ...
    def take_from_bucket(self, bucket: Bucket, now: float) -> float: ...


def take_slot(ledger: CapacityLedger, pool: str, holder_name: str, limit: int) -> None:
    """Hold a slot of `pool`, or raise CapacityUnavailable (the state retries later)."""
    if not ledger.take_slot(pool, holder_name, limit):
        raise CapacityUnavailable(f"all {limit} slots of {pool} are in use; waiting for one")


def release_item(ledger: CapacityLedger, item_id: str) -> list[str]:
    """Give back every slot the item still holds (its execution has ended); what was freed."""
    prefix = holder(item_id, "")
    freed: list[str] = []
    for pool in ledger.pools():
        for name in sorted(ledger.holders(pool)):
            if name.startswith(prefix) and ledger.release_slot(pool, name):
                freed.append(f"{pool}:{name}")
    return freed


def estimated_tokens(request: ModelRequest) -> int:
    """Input and output tokens as Bedrock reserves them when a call is admitted: the input
    (text at about 4 characters a token, images and documents by size) plus max_tokens."""
    chars = len(request.system)
    count = 0
    for block in request.content:
        if isinstance(block, TextBlock):
            chars += len(block.text)
        elif isinstance(block, ImageBlock):
            count += _IMAGE_TOKENS
        elif isinstance(block, DocumentBlock):
            chars += len(block.data)
        else:
            count += _VIDEO_TOKENS
    if request.response_schema:
        chars += len(str(request.response_schema))
    return count + math.ceil(chars / _CHARS_PER_TOKEN) + request.max_tokens


def admit_model_call(
    ledger: CapacityLedger, quotas: Quotas, now: float, model_id: str, tokens: int
) -> None:
    """Take one request and `tokens` from the model's bucket, or raise CapacityUnavailable."""
    bucket = Bucket(name=f"rate#bedrock#{model_id}", quota=quotas.model(model_id), tokens=tokens)
    wait = ledger.take_from_bucket(bucket, now)
    if wait > 0:
        raise CapacityUnavailable(
            f"{model_id}: its requests or tokens per minute are spent; "
            f"capacity for this call in about {wait:.0f} s"
        )


class AdmittedModel:
    """A ModelClient that takes the call's requests and tokens from the shared ledger first."""

    def __init__(
        self,
        model: ModelClient,
        ledger: CapacityLedger,
        quotas: Quotas,
        clock: Callable[[], float],
    ) -> None:
        self._model = model
        self._ledger = ledger
        self._quotas = quotas
        self._clock = clock

    def converse(self, request: ModelRequest) -> ModelReply:
        admit_model_call(
            self._ledger, self._quotas, self._clock(), request.model_id, estimated_tokens(request)
        )
        return self._model.converse(request)


class AdmittedEmbedder:
    """An Embedder that takes each call's request and tokens from the shared ledger first
    (embedding models have per-minute quotas of their own)."""

    def __init__(
        self,
        embedder: Embedder,
        ledger: CapacityLedger,
        quotas: Quotas,
        clock: Callable[[], float],
    ) -> None:
        self._embedder = embedder
        self._ledger = ledger
        self._quotas = quotas
        self._clock = clock
        self.model_id = embedder.model_id
        self.dimension = embedder.dimension

    def _admit(self, tokens: int) -> None:
        admit_model_call(self._ledger, self._quotas, self._clock(), self.model_id, tokens)

    def embed_text(self, text: str, purpose: Purpose) -> Embedding:
        self._admit(math.ceil(len(text) / _CHARS_PER_TOKEN))
        return self._embedder.embed_text(text, purpose)

    def embed_image(self, image: bytes, image_format: ImageFormat, purpose: Purpose) -> Embedding:
        self._admit(_IMAGE_TOKENS)
        return self._embedder.embed_image(image, image_format, purpose)


def reserve_alignment_instance(
    ledger: CapacityLedger, plan: PlanSummary, config: PipelineConfig
) -> InstanceReserved:
    """One of the account's processing instances of the job's type, held until the alignment
    gate (or the item's end) gives it back; CapacityUnavailable while all are in use."""
    pool = sagemaker_pool(config.alignment.instance_type)
    name = holder(plan.item_id, plan.alignment_job_name)
    take_slot(ledger, pool, name, config.quotas.sagemaker_processing_instances)
    return InstanceReserved(pool=pool, holder=name)


def release_alignment_instance(
    ledger: CapacityLedger, plan: PlanSummary, config: PipelineConfig
) -> bool:
    return ledger.release_slot(
        sagemaker_pool(config.alignment.instance_type),
        holder(plan.item_id, plan.alignment_job_name),
    )
