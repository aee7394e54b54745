"""The dated price table the result writer bills items with (`prices.json`, next to this file).

One table of on-demand list prices per region, validated here when it is loaded (a typo fails
the writer's cold start, and the tests, not an item). `as_of` is the date of its figures: the
record's `cost.prices_as_of` repeats it, so a bill always says which prices made it.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PRICES_PATH = Path(__file__).with_name("prices.json")
DEFAULT_REGION = "us-east-1"
# Model ids that start with these name cross-region inference profiles (as stacks/ grants).
CROSS_REGION_PREFIXES = ("us", "eu", "apac", "global", "jp", "au", "ca")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TokenPrices(_Strict):
    """USD per 1,000 tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class EmbeddingPrices(_Strict):
    per_1k_text_tokens: float = Field(ge=0)
    per_image: float = Field(ge=0)


class RegionPrices(_Strict):
    bedrock_per_1k_tokens: dict[str, TokenPrices] = Field(
        description="By foundation model id (no cross-region inference prefix)."
    )
    transcribe_per_minute: float = Field(ge=0, description="Standard batch, billed per second.")
    transcribe_minimum_s: int = Field(ge=0, description="Billed at least this long per job.")
    sagemaker_processing_per_hour: dict[str, float] = Field(description="By instance type.")
    stepfunctions_per_1k_transitions: float = Field(ge=0)
    lambda_per_gb_s: float = Field(ge=0, description="x86_64, the pipeline's architecture.")
    lambda_per_1m_requests: float = Field(ge=0)
    s3_put_per_1k: float = Field(ge=0, description="PUT, COPY, POST and LIST requests.")
    s3_get_per_1k: float = Field(ge=0, description="GET, HEAD and all other requests.")
    sqs_per_1m_requests: float = Field(ge=0)
    eventbridge_per_1m_custom_events: float = Field(ge=0)
    kms_per_10k_requests: float = Field(ge=0)
    cloudwatch_logs_per_gb: float = Field(ge=0, description="Ingestion (standard logs).")
    embeddings: dict[str, EmbeddingPrices] = Field(description="By embedding model id.")
    s3vectors_put_per_gb: float = Field(ge=0, description="Logical data written.")
    s3vectors_storage_per_gb_month: float = Field(ge=0)
    s3vectors_query_per_1m: float = Field(ge=0, description="QueryVectors requests.")
    s3vectors_query_per_tb: float = Field(ge=0, description="Data processed by queries.")

    def tokens(self, model_id: str) -> TokenPrices | None:
        """The price of a model id or of the inference profile that routes to it."""
        return self.bedrock_per_1k_tokens.get(foundation_model(model_id))


class PriceTable(_Strict):
    as_of: dt.date
    currency: Literal["USD"] = "USD"
    notes: list[str] = Field(default_factory=list, description="Where each figure came from.")
    regions: dict[str, RegionPrices] = Field(min_length=1)

    def for_region(self, region: str) -> tuple[str, RegionPrices]:
        """The region's prices, or us-east-1's for a region the table does not have (the
        record's `cost.region` says which were used)."""
        if region in self.regions:
            return region, self.regions[region]
        fallback = DEFAULT_REGION if DEFAULT_REGION in self.regions else next(iter(self.regions))
        return fallback, self.regions[fallback]


def foundation_model(model_id: str) -> str:
    """`us.amazon.nova-lite-v1:0` -> `amazon.nova-lite-v1:0` (an ARN -> its last part)."""
    base = model_id.rsplit("/", 1)[-1]
    prefix, _, rest = base.partition(".")
    return rest if rest and prefix in CROSS_REGION_PREFIXES else base


@cache
def load_prices(path: Path = PRICES_PATH) -> PriceTable:
    return PriceTable.model_validate_json(path.read_bytes())
