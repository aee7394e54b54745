"""The vision gate: is the model's answer a valid `VisionAnalysis` with enough content?

Two verdicts per asset:
- `vision_schema`: the answer (the answer tool's input; for models without tool choice, JSON
  found in fences or prose) validates, at first or after exactly one repair call. Still
  invalid -> failed, and the raw output is kept.
- `vision_content`: only for a valid answer, at least `vision_min_fields` non-empty fields.

And, for an image, `image-sharpness:{path}`: the variance of the Laplacian that "Prepare media
for the model" measured when it decoded the image, at least `image_min_sharpness` (the name
and reason the alignment gate gave it when the job measured images: results stay comparable).

Bad model output is a verdict, never an exception. The `VisionResult` is written to
`{work_prefix}results/vision-{asset_id}.json`.
"""

from __future__ import annotations

from pipeline.adapters.model import ModelClient
from pipeline.adapters.storage import ObjectStore, put_json, read_json
from pipeline.config import PipelineConfig, Thresholds
from pipeline.domain.gate_outcomes import record_gate_outcomes
from pipeline.domain.structured_output import Answer, validate_reply
from pipeline_contracts.naming import WorkFiles
from pipeline_contracts.outcomes import AssetResult, GateResult
from pipeline_contracts.states.check_vision_output import CheckVisionOutputInput
from pipeline_contracts.work.alignment import ImageQuality
from pipeline_contracts.work.vision import RawAnalysis, VisionAnalysis, VisionResult

SCHEMA_GATE = "vision_schema"
CONTENT_GATE = "vision_content"


def check_vision_output(
    request: CheckVisionOutputInput,
    store: ObjectStore,
    model: ModelClient,
    config: PipelineConfig,
    thresholds: Thresholds,
    processed_bucket: str,
) -> AssetResult:
    asset_id = request.asset_id
    raw = RawAnalysis.model_validate(read_json(store, request.analysis.raw_uri))
    answer = Answer(text=raw.text, tool_use=raw.tool_use, via=raw.answer_via)
    verdict = validate_reply(
        answer, VisionAnalysis, model, raw.model_id, config.models.max_output_tokens, raw.task
    )
    gates = [_schema_gate(asset_id, verdict.valid, verdict.repaired, verdict.errors)]
    if verdict.value is not None:
        gates.append(content_gate(asset_id, verdict.value, thresholds.vision_min_fields))
    quality = request.prepared.quality
    if quality is not None:
        path = request.prepared.path or asset_id
        gates.append(sharpness_gate(path, quality, thresholds.image_min_sharpness))
    if verdict.value is None:
        kept: str | None = verdict.kept_output
    else:
        kept = verdict.raw_output if verdict.repaired else None
    result = VisionResult(
        asset_id=asset_id,
        provider=raw.provider,
        model_id=raw.model_id,
        analysis=verdict.value,
        raw_output=kept,
        repaired=verdict.repaired,
        injection_signals=raw.injection_signals,
        input_tokens=raw.input_tokens + sum(r.input_tokens for r in verdict.repair_replies),
        output_tokens=raw.output_tokens + sum(r.output_tokens for r in verdict.repair_replies),
        quality=quality,
    )
    result_uri = put_json(
        store,
        processed_bucket,
        WorkFiles(request.work_prefix).result("vision", asset_id),
        result.model_dump(mode="json"),
    )
    record_gate_outcomes(gates)
    return AssetResult(asset_id=asset_id, result_uri=result_uri, gates=gates)


def _schema_gate(asset_id: str, valid: bool, repaired: bool, errors: str | None) -> GateResult:
    if valid and not repaired:
        reason = f"Asset {asset_id}: the model's answer validates against VisionAnalysis."
    elif valid:
        reason = f"Asset {asset_id}: the answer validated after one repair attempt."
    else:
        summary = (errors or "no JSON object").replace("\n", "; ")[:600]
        reason = f"Asset {asset_id}: the answer is still invalid after one repair: {summary}"
    return GateResult(
        name=SCHEMA_GATE, passed=valid, score=1.0 if valid else 0.0, threshold=1.0, reason=reason
    )


def filled_fields(analysis: VisionAnalysis) -> int:
    """How many fields say something: non-blank text, or a list with a non-blank entry."""
    return sum(1 for value in analysis.model_dump().values() if _says_something(value))


def _says_something(value: object) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        return any(str(entry).strip() for entry in value)
    return False


def content_gate(asset_id: str, analysis: VisionAnalysis, min_fields: int) -> GateResult:
    filled = filled_fields(analysis)
    passed = filled >= min_fields
    return GateResult(
        name=CONTENT_GATE,
        passed=passed,
        score=float(filled),
        threshold=float(min_fields),
        reason=(
            f"Asset {asset_id}: {filled} non-empty fields "
            f"({'at least' if passed else 'fewer than'} the {min_fields} required)."
        ),
    )


def sharpness_gate(path: str, quality: ImageQuality, min_sharpness: float) -> GateResult:
    """Blur lowers the variance of the Laplacian: below the threshold, the image is flagged."""
    sharpness = quality.sharpness
    return GateResult(
        name=f"image-sharpness:{path}",
        passed=sharpness >= min_sharpness,
        score=sharpness,
        threshold=min_sharpness,
        reason=f"Laplacian variance {sharpness:.1f} at {quality.width}x{quality.height}",
    )
