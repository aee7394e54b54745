""" "Analyze with Bedrock": one Converse call (or one per text chunk and a merge); the raw
reply goes to `model/<asset>.json`, the state carries where it is and what it cost."""

from __future__ import annotations

from pipeline_contracts._base import Message
from pipeline_contracts.states.analyze_each_visual_asset import VisionIteration
from pipeline_contracts.states.prepare_media_for_the_model import PreparedMedia
from pipeline_contracts.vocabulary import Provider


class AnalyzeWithBedrockInput(VisionIteration):
    prepared: PreparedMedia


class AnalysisRef(Message):
    """`$.analysis`: where the raw answer is, and what it cost."""

    asset_id: str
    raw_uri: str
    model_id: str
    provider: Provider
    input_tokens: int
    output_tokens: int
    calls: int
    chunk_count: int = 0
    chunks_analyzed: int = 0
    stop_reason: str | None = None


AnalyzeWithBedrockOutput = AnalysisRef
