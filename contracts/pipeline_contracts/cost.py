"""What an item cost: the measured usage of the model calls that fusion and the vision branch
record (`ModelUsage`), and the bill the result writer prices from every measured usage
(`ItemCost`, the record's `cost`).

`ai` is Bedrock, Transcribe and SageMaker; `orchestration` is everything that moves the item
between them (Step Functions, Lambda, S3, SQS, EventBridge, CloudWatch, KMS). A line whose
quantity is not measured says so in its `unit` ("estimate: ...").
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pipeline_contracts._base import Document, Message

CostService = Literal[
    "bedrock",
    "transcribe",
    "sagemaker",
    "stepfunctions",
    "lambda",
    "s3",
    "sqs",
    "eventbridge",
    "cloudwatch",
    "kms",
]
AI_SERVICES: frozenset[str] = frozenset({"bedrock", "transcribe", "sagemaker"})
# Sums are compared to this: each line is rounded to USD_DECIMALS on its own.
USD_DECIMALS = 8
_TOLERANCE = 1e-6


class ModelUsage(Message):
    """One model's calls for one step, as Bedrock Converse reported them (`usage`)."""

    model_id: str
    calls: int = Field(ge=0)
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)


class CostLine(Message):
    """One priced quantity: e.g. 2.143 "1K input tokens, amazon.nova-lite-v1:0" for $0.00013."""

    service: CostService
    unit: str = Field(
        min_length=1,
        description="What one of `quantity` is, and for an estimate how it was estimated.",
    )
    quantity: float = Field(ge=0)
    usd: float = Field(ge=0)


class ItemCost(Document):
    """The bill of one item, in `currency`, priced with the table of `prices_as_of`."""

    currency: Literal["USD"] = "USD"
    total: float = Field(ge=0)
    ai: float = Field(ge=0, description="Bedrock, Transcribe and SageMaker.")
    orchestration: float = Field(
        ge=0,
        description="Step Functions, Lambda, S3, SQS, EventBridge, CloudWatch and KMS.",
    )
    lines: list[CostLine]
    prices_as_of: str = Field(
        pattern=r"^\d{4}-\d{2}-\d{2}$", description="The date of the price table's figures."
    )
    region: str = Field(min_length=1, description="The region whose prices were used.")

    @classmethod
    def of(cls, lines: list[CostLine], prices_as_of: str, region: str) -> ItemCost:
        ai = sum(line.usd for line in lines if line.service in AI_SERVICES)
        rest = sum(line.usd for line in lines if line.service not in AI_SERVICES)
        return cls(
            total=round(ai + rest, USD_DECIMALS),
            ai=round(ai, USD_DECIMALS),
            orchestration=round(rest, USD_DECIMALS),
            lines=lines,
            prices_as_of=prices_as_of,
            region=region,
        )

    @model_validator(mode="after")
    def _sums_hold(self) -> ItemCost:
        ai = sum(line.usd for line in self.lines if line.service in AI_SERVICES)
        rest = sum(line.usd for line in self.lines if line.service not in AI_SERVICES)
        for name, stated, summed in (
            ("ai", self.ai, ai),
            ("orchestration", self.orchestration, rest),
            ("total", self.total, self.ai + self.orchestration),
        ):
            if abs(stated - summed) > _TOLERANCE:
                raise ValueError(f"{name} is {stated} but its lines sum to {summed}")
        return self

    @property
    def orchestration_share(self) -> float:
        return self.orchestration / self.total if self.total else 0.0
