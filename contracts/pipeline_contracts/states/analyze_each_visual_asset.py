""" "Analyze each visual asset" (Map): one iteration per `plan.branches.vision` task.

The iteration's state starts as `VisionIteration` (the ItemSelector), gains `prepared` and
then `analysis`; it returns an `AssetResult`, or an `AssetFailure` ("Visual asset failed").
"""

from __future__ import annotations

from pipeline_contracts._base import Message
from pipeline_contracts.outcomes import AssetFailure, AssetResult
from pipeline_contracts.vocabulary import Profile


class VisionIteration(Message):
    asset_id: str
    item_id: str
    profile: Profile
    plan_uri: str
    work_prefix: str


AnalyzeEachVisualAssetOutput = list[AssetResult | AssetFailure]
