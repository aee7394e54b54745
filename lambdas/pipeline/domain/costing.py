"""The bill of one item (`ItemResult.cost`): its usage, priced with the dated table of the
region it ran in (`pipeline/prices.json`).

Measured: model tokens per model (Converse's `usage`, kept by the vision results and fusion's
draft), Transcribe's media seconds per job, the alignment job's instance seconds, state
transitions and Lambda GB-seconds (the execution's own history, with each function's memory
from the stack), the work files the steps wrote (listed under the item's prefix).
Estimated, and labelled so in the line's unit: what the history cannot show (the states
after the record, the Lambdas that run for the item outside its execution, S3 reads, SQS,
KMS, Lambda log volume). Prices are list prices: free tiers and volume discounts are left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pipeline.adapters.storage import ObjectStore
from pipeline.domain.execution_usage import ExecutionUsage, JobRun, execution_usage
from pipeline.environment import LambdaMemory
from pipeline.prices import PriceTable, RegionPrices, foundation_model
from pipeline_contracts.cost import USD_DECIMALS, CostLine, ItemCost, ModelUsage
from pipeline_contracts.records import ItemResult
from pipeline_contracts.search import SearchIndexing

GB = 1024**3
# "Announce the result" and "Processed" follow the writer: two transitions, when the event
# is sent at the first attempt.
TRANSITIONS_AFTER_THE_RECORD = 2
# The dispatcher (one SQS message per item, up to 10 per invocation) and the Transcribe
# callback (one per job) run outside the execution; their duration is not in its history.
OUTSIDE_RUN_S = 0.25
# START/END/REPORT lines, Powertools' structured logs and the EMF metrics of one invocation.
LOG_BYTES_PER_INVOCATION = 2048
# Per item: EventBridge delivers the upload event to the buffer queue (SendMessage), the
# dispatcher's event source receives and deletes it.
SQS_REQUESTS_PER_ITEM = 3
# Reads of a work file by the steps after the one that wrote it, and of each uploaded asset
# (sniffing, probing, preparing).
GETS_PER_WORK_FILE = 2
GETS_PER_ASSET = 3


class HistorySource(Protocol):
    def events(self, execution_arn: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Billing:
    """What the writer bills an item with: its execution's history, the functions' memory
    (from the stack), the price table and the region the item ran in."""

    history: HistorySource
    memory: LambdaMemory
    prices: PriceTable
    region: str
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class ItemUsage:
    models: list[ModelUsage]
    transcribe_media_s: list[float | None]
    execution: ExecutionUsage
    work_files: int
    derived_files: int
    assets: int
    memory: LambdaMemory = field(default_factory=LambdaMemory)
    search: SearchIndexing | None = None


def bill_item(
    result: ItemResult,
    fusion_usage: list[ModelUsage],
    work_prefix: str,
    billing: Billing,
    store: ObjectStore,
    bucket: str,
) -> ItemCost:
    """The item's cost, measured now: its derived files are copied, its record not written."""
    if result.execution_arn is None:
        raise ValueError("an item is billed from its execution's history: no execution ARN")
    events = billing.history.events(result.execution_arn)
    execution = execution_usage(events, billing.clock())
    work_files = sum(1 for _ in store.list_keys(bucket, work_prefix))
    usage = usage_of(result, fusion_usage, execution, work_files, billing.memory)
    return item_cost(usage, billing.prices, billing.region)


def usage_of(
    result: ItemResult,
    fusion_usage: list[ModelUsage],
    execution: ExecutionUsage,
    work_files: int,
    memory: LambdaMemory,
) -> ItemUsage:
    durations = {asset.asset_id: asset.duration_s for asset in result.assets}
    return ItemUsage(
        models=merged_usage(
            [
                *(
                    ModelUsage(
                        model_id=v.model_id,
                        calls=0,  # a vision result keeps tokens, not calls; calls are not billed
                        input_tokens=v.input_tokens,
                        output_tokens=v.output_tokens,
                    )
                    for v in result.vision
                ),
                *fusion_usage,
            ]
        ),
        transcribe_media_s=[t.duration_s or durations.get(t.asset_id) for t in result.transcripts],
        execution=execution,
        work_files=work_files,
        derived_files=len(result.derived_files),
        assets=len(result.assets),
        memory=memory,
        search=result.search,
    )


def merged_usage(usages: Iterable[ModelUsage]) -> list[ModelUsage]:
    totals: dict[str, ModelUsage] = {}
    for usage in usages:
        before = totals.get(usage.model_id)
        totals[usage.model_id] = (
            usage
            if before is None
            else ModelUsage(
                model_id=usage.model_id,
                calls=before.calls + usage.calls,
                input_tokens=before.input_tokens + usage.input_tokens,
                output_tokens=before.output_tokens + usage.output_tokens,
            )
        )
    return list(totals.values())


def item_cost(usage: ItemUsage, table: PriceTable, region: str) -> ItemCost:
    used_region, prices = table.for_region(region)
    lines = [
        *_bedrock(usage.models, prices),
        *_transcribe(usage.transcribe_media_s, prices),
        *(_processing_job(job, prices) for job in usage.execution.jobs),
        *_step_functions(usage.execution, prices),
        *_lambda(usage, prices),
        *_requests(usage, prices),
        *_search(usage.search, prices),
    ]
    return ItemCost.of(lines, table.as_of.isoformat(), used_region)


def _line(service: str, unit: str, quantity: float, usd: float) -> CostLine:
    return CostLine.model_validate(
        {
            "service": service,
            "unit": unit,
            "quantity": round(quantity, 6),
            "usd": round(usd, USD_DECIMALS),
        }
    )


def _bedrock(models: list[ModelUsage], prices: RegionPrices) -> Iterable[CostLine]:
    for usage in models:
        price = prices.tokens(usage.model_id)
        name = foundation_model(usage.model_id)
        if price is None:
            note = f"{name}; not priced: the price table has no such model"
            yield _line("bedrock", f"1K input tokens, {note}", usage.input_tokens / 1000, 0)
            yield _line("bedrock", f"1K output tokens, {note}", usage.output_tokens / 1000, 0)
            continue
        for direction, tokens, per_1k in (
            ("input", usage.input_tokens, price.input),
            ("output", usage.output_tokens, price.output),
        ):
            yield _line(
                "bedrock", f"1K {direction} tokens, {name}", tokens / 1000, tokens / 1000 * per_1k
            )


def _search(search: SearchIndexing | None, prices: RegionPrices) -> Iterable[CostLine]:
    """Embeddings made for the item (the cache's hits cost nothing, and are counted) and the
    vectors written to S3 Vectors; their storage is monthly, not the item's."""
    if search is None or search.usage is None:
        return
    usage = search.usage
    name = foundation_model(usage.model_id)
    price = prices.embeddings.get(name)
    per_token, per_image = (price.per_1k_text_tokens, price.per_image) if price else (0, 0)
    unpriced = "" if price else "; not priced: the price table has no such model"
    yield _line(
        "bedrock",
        f"1K text tokens embedded, {name} (estimate: 4 characters a token){unpriced}",
        usage.text_tokens / 1000,
        usage.text_tokens / 1000 * per_token,
    )
    yield _line(
        "bedrock",
        f"images embedded, {name}{unpriced}",
        usage.image_calls,
        usage.image_calls * per_image,
    )
    yield _line(
        "bedrock", "pieces found in the embedding cache (not embedded again)", usage.cache_hits, 0
    )
    yield _line(
        "s3",
        "GB written to S3 Vectors (vectors, keys and metadata)",
        search.put_bytes / GB,
        search.put_bytes / GB * prices.s3vectors_put_per_gb,
    )


def _transcribe(media_s: list[float | None], prices: RegionPrices) -> Iterable[CostLine]:
    if not media_s:
        return
    known = [s for s in media_s if s is not None]
    billed = sum(max(prices.transcribe_minimum_s, math.ceil(s)) for s in known)
    billed += prices.transcribe_minimum_s * (len(media_s) - len(known))
    unit = (
        f"billed seconds of {len(media_s)} job(s): media duration, per second, "
        f"{prices.transcribe_minimum_s} s minimum each"
    )
    if len(known) < len(media_s):
        unit += f"; estimate: {len(media_s) - len(known)} of unknown duration at the minimum"
    yield _line("transcribe", unit, billed, billed / 60 * prices.transcribe_per_minute)


def _processing_job(job: JobRun, prices: RegionPrices) -> CostLine:
    per_hour = prices.sagemaker_processing_per_hour.get(job.instance_type)
    how = (
        "ProcessingStartTime to ProcessingEndTime"
        if job.measured
        else "estimate: the task's start to end, instance start-up included"
    )
    unit = f"instance seconds, {job.instance_count} x {job.instance_type or '?'} ({how})"
    seconds = job.seconds * job.instance_count
    if per_hour is None:
        return _line(
            "sagemaker", f"{unit}; not priced: no price for this instance type", seconds, 0
        )
    return _line("sagemaker", unit, seconds, seconds / 3600 * per_hour)


def _step_functions(execution: ExecutionUsage, prices: RegionPrices) -> Iterable[CostLine]:
    per = prices.stepfunctions_per_1k_transitions / 1000
    yield _line(
        "stepfunctions",
        f"state transitions, measured from the execution's history ({execution.retries} retries)",
        execution.transitions,
        execution.transitions * per,
    )
    yield _line(
        "stepfunctions",
        "state transitions after the record is written (estimate: the announcement and the end)",
        TRANSITIONS_AFTER_THE_RECORD,
        TRANSITIONS_AFTER_THE_RECORD * per,
    )


def _outside_runs(usage: ItemUsage) -> list[tuple[str, int]]:
    """(what, MB) of each invocation made for the item outside its execution."""
    return [("dispatcher", usage.memory.dispatcher)] + [
        ("Transcribe callback", usage.memory.transcription_callback)
    ] * len(usage.transcribe_media_s)


def _lambda(usage: ItemUsage, prices: RegionPrices) -> Iterable[CostLine]:
    runs = usage.execution.lambda_runs
    gb_s = sum(run.seconds * usage.memory.of(run.state) / 1024 for run in runs)
    yield _line(
        "lambda",
        f"GB-seconds, {len(runs)} invocations measured from the execution's history "
        "(memory from the stack; the writer's own until its record)",
        gb_s,
        gb_s * prices.lambda_per_gb_s,
    )
    yield _line(
        "lambda",
        "requests, measured from the execution's history",
        len(runs),
        len(runs) * prices.lambda_per_1m_requests / 1e6,
    )
    outside = _outside_runs(usage)
    outside_gb_s = sum(OUTSIDE_RUN_S * mb / 1024 for _, mb in outside)
    names = ", ".join(sorted({name for name, _ in outside}))
    yield _line(
        "lambda",
        f"GB-seconds outside the execution (estimate: {names}, {OUTSIDE_RUN_S} s each)",
        outside_gb_s,
        outside_gb_s * prices.lambda_per_gb_s,
    )
    yield _line(
        "lambda",
        f"requests outside the execution (estimate: {names})",
        len(outside),
        len(outside) * prices.lambda_per_1m_requests / 1e6,
    )


def _requests(usage: ItemUsage, prices: RegionPrices) -> Iterable[CostLine]:
    invocations = len(usage.execution.lambda_runs) + len(_outside_runs(usage))
    # The work files, the record, the derived copies, and the writer's one listing.
    puts = usage.work_files + 1 + usage.derived_files + 1
    yield _line(
        "s3",
        "PUT/COPY/LIST requests (work files counted under the item's prefix, the record, "
        "its derived copies, one listing)",
        puts,
        puts * prices.s3_put_per_1k / 1000,
    )
    gets = GETS_PER_WORK_FILE * usage.work_files + GETS_PER_ASSET * usage.assets
    yield _line(
        "s3",
        f"GET/HEAD requests (estimate: {GETS_PER_WORK_FILE} per work file, "
        f"{GETS_PER_ASSET} per asset)",
        gets,
        gets * prices.s3_get_per_1k / 1000,
    )
    yield _line(
        "sqs",
        "requests (estimate: the upload event's send, receive and delete)",
        SQS_REQUESTS_PER_ITEM,
        SQS_REQUESTS_PER_ITEM * prices.sqs_per_1m_requests / 1e6,
    )
    yield _line(
        "eventbridge",
        "custom events (the ItemProcessed announcement; S3 and service events are free)",
        1,
        prices.eventbridge_per_1m_custom_events / 1e6,
    )
    kms = invocations + len(usage.execution.jobs) + len(usage.transcribe_media_s) + 1
    yield _line(
        "kms",
        "requests (estimate: one data key per invocation, job and execution; bucket keys "
        "and data-key reuse keep it near that)",
        kms,
        kms * prices.kms_per_10k_requests / 10_000,
    )
    history_gb = usage.execution.history_bytes / GB
    yield _line(
        "cloudwatch",
        "GB of logs ingested, the state machine's (level ALL with data: the history's size)",
        history_gb,
        history_gb * prices.cloudwatch_logs_per_gb,
    )
    lambda_gb = invocations * LOG_BYTES_PER_INVOCATION / GB
    yield _line(
        "cloudwatch",
        f"GB of logs ingested, Lambda logs and EMF metrics (estimate: "
        f"{LOG_BYTES_PER_INVOCATION // 1024} KB per invocation)",
        lambda_gb,
        lambda_gb * prices.cloudwatch_logs_per_gb,
    )
