"""Verdicts and failures: what a gate decided, what Step Functions caught, how a branch ended."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline_contracts._base import Document, Message
from pipeline_contracts.vocabulary import BranchName

BranchStatus = Literal["succeeded", "flagged", "failed", "skipped"]


class GateResult(Message):
    """One quality gate's verdict. `passed=False` flags the item; it does not hide it."""

    name: str
    passed: bool
    score: float | None = None
    threshold: float | None = None
    reason: str


class StepFailure(Message):
    """What a Catch caught (`$.error.Error`, `$.error.Cause`), kept verbatim."""

    error: str
    cause: str


class AssetFailure(Message):
    """One asset whose Map iteration failed ("... asset failed"); the others went on. The
    record keeps the cause's message, not a Lambda's stack trace."""

    asset_id: str
    error: str
    cause: str


class BranchVerdict(Document):
    """How one parallel branch ended, as fusion judged it. Large bodies are in `result_uris`.

    `failed`: the branch failed, or every one of its assets did (`failure` says why).
    `flagged`: a gate failed, or some of its assets failed (listed in `failed_assets`).
    """

    branch: BranchName
    status: BranchStatus
    gates: list[GateResult] = Field(default_factory=list)
    failure: StepFailure | None = None
    result_uris: list[str] = Field(default_factory=list)
    failed_assets: list[AssetFailure] = Field(
        default_factory=list, description="Assets whose analysis failed, each with its cause."
    )


class AssetResult(Message):
    """One Map iteration's result: where its body is, and its gates' verdicts."""

    asset_id: str
    result_uri: str
    gates: list[GateResult]
