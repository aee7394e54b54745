""" "Check vision output": is the model's answer a valid VisionAnalysis with enough content?
Writes the VisionResult to `results/vision-<asset>.json`."""

from __future__ import annotations

from pipeline_contracts.outcomes import AssetResult
from pipeline_contracts.states.analyze_with_bedrock import AnalysisRef, AnalyzeWithBedrockInput


class CheckVisionOutputInput(AnalyzeWithBedrockInput):
    analysis: AnalysisRef


CheckVisionOutputOutput = AssetResult
