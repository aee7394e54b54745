"""Fusion's contracts: the answer the model must give per profile, the `FusedAnswer` the
record keeps (a union keyed by profile, so the published schema types every profile's
details), and `fusion.json`, the draft fusion hands to the final gate and the writer.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from pipeline_contracts._base import Document
from pipeline_contracts.cost import ModelUsage
from pipeline_contracts.outcomes import BranchVerdict, GateResult
from pipeline_contracts.vocabulary import Modality, Profile, Provider
from pipeline_contracts.work.alignment import TimelineEntry

# --------------------------------------------------------------------- profile details


class GeneralDetails(Document):
    topics: list[str] = Field(min_length=1)
    entities: list[str] = Field(default_factory=list)


class CatalogDetails(Document):
    product_name: str | None = None
    category: str | None = None
    brand: str | None = None
    colors: list[str] = Field(default_factory=list)
    materials: list[str] = Field(default_factory=list)
    attributes: dict[str, str] = Field(
        default_factory=dict, description="Other product attributes, name -> value."
    )
    listing_issues: list[str] = Field(
        default_factory=list, description="Where the photo and the description disagree, etc."
    )


class ModerationLabel(Document):
    label: str = Field(min_length=1)
    severity: Literal["none", "low", "medium", "high", "critical"]
    modality: Literal["image", "video", "audio", "text", "document", "cross-modal"] | None = None
    evidence: str = Field(min_length=1, description="What in the content supports the label.")


class ModerationDetails(Document):
    labels: list[ModerationLabel] = Field(default_factory=list)
    recommended_action: Literal["allow", "review", "block"]


class AccessibilityDetails(Document):
    alt_text: str = Field(min_length=1, max_length=600)
    long_description: str | None = None
    caption_notes: list[str] = Field(
        default_factory=list, description="Caption problems or sounds that need describing."
    )


class Chapter(Document):
    title: str = Field(min_length=1)
    start_s: float | None = Field(default=None, ge=0)
    summary: str | None = None


class EducationDetails(Document):
    chapters: list[Chapter] = Field(default_factory=list)
    key_concepts: list[str] = Field(min_length=1)
    level: str | None = None


# --------------------------------------------------------------------- the model's answer


class ProfileAnswer(Document):
    """What the fusion model must answer, whatever the profile (the answer tool's schema)."""

    title: str = Field(min_length=1, max_length=300)
    summary: str = Field(min_length=1)
    key_points: list[str] = Field(default_factory=list)
    consistency: str | None = Field(
        default=None, description="Where the modalities agree or disagree."
    )


class GeneralAnswer(ProfileAnswer):
    details: GeneralDetails


class CatalogAnswer(ProfileAnswer):
    details: CatalogDetails


class ModerationAnswer(ProfileAnswer):
    details: ModerationDetails


class AccessibilityAnswer(ProfileAnswer):
    details: AccessibilityDetails


class EducationAnswer(ProfileAnswer):
    details: EducationDetails


ANSWERS: dict[Profile, type[ProfileAnswer]] = {
    "general": GeneralAnswer,
    "catalog": CatalogAnswer,
    "moderation": ModerationAnswer,
    "accessibility": AccessibilityAnswer,
    "education": EducationAnswer,
}


# --------------------------------------------------------------------- what the record keeps


class _Provenance(Document):
    provider: Provider
    model_id: str
    overrides: list[str] = Field(
        default_factory=list,
        description="Where the pipeline changed the model's answer after it answered, and why "
        "(a moderation 'allow' becomes 'review' on safety concerns or text aimed at the model).",
    )


class GeneralFused(GeneralAnswer, _Provenance):
    profile: Literal["general"] = "general"


class CatalogFused(CatalogAnswer, _Provenance):
    profile: Literal["catalog"] = "catalog"


class ModerationFused(ModerationAnswer, _Provenance):
    profile: Literal["moderation"] = "moderation"


class AccessibilityFused(AccessibilityAnswer, _Provenance):
    profile: Literal["accessibility"] = "accessibility"


class EducationFused(EducationAnswer, _Provenance):
    profile: Literal["education"] = "education"


FusedAnswer = Annotated[
    GeneralFused | CatalogFused | ModerationFused | AccessibilityFused | EducationFused,
    Field(discriminator="profile"),
]
"""The cross-modal answer for the item's profile, with who answered and what was overridden."""

FUSED: dict[Profile, type[_Provenance]] = {
    "general": GeneralFused,
    "catalog": CatalogFused,
    "moderation": ModerationFused,
    "accessibility": AccessibilityFused,
    "education": EducationFused,
}


class FusionDraft(Document):
    """`fusion.json`: what fusion hands to the final gate and the result writer.

    Branch bodies stay in their own files (BranchVerdict.result_uris); the writer inlines them.
    """

    item_id: str
    modalities: list[Modality] = Field(
        description="What the item holds, from its plan: the final gate checks each was understood."
    )
    branches: list[BranchVerdict]
    degraded_branches: list[str] = Field(default_factory=list)
    fused: FusedAnswer | None = None
    fusion_gate: GateResult
    gates: list[GateResult] = Field(description="Every gate verdict so far, fusion's included.")
    timeline: list[TimelineEntry] = Field(default_factory=list)
    model_ids: list[str] = Field(default_factory=list)
    model_usage: list[ModelUsage] = Field(
        default_factory=list,
        description="Fusion's own model calls (the answer and any repair), as Bedrock "
        "reported their tokens; the vision branch's are in each VisionResult.",
    )
