"""The intake gate: sniff, validate and decode-check an item, then plan its branches.

`plan_item` answers with an `ItemPlan`: accepted with its assets and branch plan, or
rejected with a reason code and one human sentence (an expected outcome, returned, not
raised). Transient storage errors (ServiceThrottled, ServiceUnavailable) propagate so the
state machine retries them.

What a later step would refuse after a wait is refused here, with its own code: text with
nothing visible once prepared (NO_CONTENT), audio below Transcribe's 8 kHz
(UNSUPPORTED_SAMPLE_RATE), a PDF over the model's 4.5 MB (TOO_LARGE; inside a bundle it is
kept, with the reason as a warning, and fails alone in its Map iteration so the bundle's other
assets still run), a vocabulary over Transcribe's 50 KB (VOCABULARY_TOO_LARGE), asset paths
over their byte budget (PATHS_TOO_LONG).

The gate is in four parts: the manifest is read in `intake_manifest`, its assets are found
in `asset_location`, each one is inspected in `asset_inspection` (where reads are kept as
small as the check allows), and here the item is planned.
"""

from __future__ import annotations

import posixpath
import tempfile
from pathlib import Path
from typing import Any

from pipeline.adapters.storage import ObjectStore, put_json
from pipeline.config import PipelineConfig
from pipeline.domain.asset_inspection import inspect_asset, pdf_over_model_limit, sampled_too_low
from pipeline.domain.asset_location import Wanted, locate_assets
from pipeline.domain.intake_manifest import read_manifest
from pipeline.domain.intake_rejection import RejectedError, quote_path
from pipeline.domain.media_preparation import MAX_MODEL_DOCUMENT_BYTES
from pipeline.domain.plan_fields import plan_fields, rejected_plan
from pipeline_contracts.item import (
    Asset,
    BranchPlan,
    ItemPlan,
    ItemRequest,
    Rejection,
    RejectionCode,
)
from pipeline_contracts.naming import WorkFiles
from pipeline_contracts.timing import is_timed_text, sync_target

_NOT_SPOKEN_ROLES = frozenset({"captions", "transcript"})
_VISUAL = frozenset({"image", "video", "document"})


def check_intake(
    request: ItemRequest,
    store: ObjectStore,
    config: PipelineConfig,
    ingest_bucket: str,
    processed_bucket: str,
) -> ItemPlan:
    """Plan the item and write the plan once, to `plan_uri`; the state carries its summary."""
    with tempfile.TemporaryDirectory(prefix="intake-") as scratch:
        plan = plan_item(request, store, config, ingest_bucket, processed_bucket, Path(scratch))
    put_json(
        store, processed_bucket, WorkFiles(plan.work_prefix).plan, plan.model_dump(mode="json")
    )
    return plan


def plan_item(
    request: ItemRequest,
    store: ObjectStore,
    config: PipelineConfig,
    ingest_bucket: str,
    processed_bucket: str,
    scratch_dir: Path,
) -> ItemPlan:
    """Inspect the item's object or bundle and plan which branches run."""
    try:
        if request.kind == "bundle":
            manifest = read_manifest(store, request.source, config.limits)
            prefix = request.bundle_prefix or posixpath.dirname(request.source.key)
            prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
            wanted = locate_assets(store, request.source.bucket, prefix, manifest)
            assets = [
                inspect_asset(store, item, config.limits, scratch_dir, True) for item in wanted
            ]
            manifest_fields: dict[str, Any] = {
                "profile": manifest.profile,
                "language": manifest.language,
                "vocabulary": manifest.vocabulary,
            }
        else:
            name = posixpath.basename(request.source.key.rstrip("/")) or request.source.key
            wanted_object = Wanted(ref=request.source, path=name)
            assets = [inspect_asset(store, wanted_object, config.limits, scratch_dir, False)]
            manifest_fields = {}
    except RejectedError as rejected:
        return rejected_plan(request, rejected.rejection, config, ingest_bucket, processed_bucket)
    branches = plan_branches(assets)
    unreadable = _over_model_limit(branches, assets)
    if unreadable is not None:
        return rejected_plan(request, unreadable, config, ingest_bucket, processed_bucket)
    return ItemPlan(
        accepted=True,
        assets=assets,
        branches=branches,
        **manifest_fields,
        **plan_fields(request, assets, config, ingest_bucket, processed_bucket),
    )


def _over_model_limit(branches: BranchPlan, assets: list[Asset]) -> Rejection | None:
    """A bundle keeps a PDF too large for the model so its other assets still run; when
    nothing else would be understood, the bundle is refused for it, as the object would be."""
    too_big = [
        a for a in assets if a.modality == "document" and a.size_bytes > MAX_MODEL_DOCUMENT_BYTES
    ]
    if not too_big or branches.audio or any(a not in too_big for a in branches.vision):
        return None
    return Rejection(
        code=RejectionCode.TOO_LARGE,
        message=f"{quote_path(too_big[0].path)}: {pdf_over_model_limit(too_big[0].size_bytes)}",
        asset_path=too_big[0].path[:512],
    )


def plan_branches(assets: list[Asset]) -> BranchPlan:
    """Audio: what can be transcribed. Vision: what the model looks at. Alignment: whether
    the item has something to align (`needs_alignment`)."""
    audio = [
        asset
        for asset in assets
        if asset.role not in _NOT_SPOKEN_ROLES
        and (asset.modality == "audio" or (asset.modality == "video" and asset.has_audio))
        and not sampled_too_low(asset.sample_rate_hz)
    ]
    has_visual = any(asset.modality in _VISUAL for asset in assets)
    # Captions with nothing to be timed against are just text: the model reads them.
    vision = [
        asset
        for asset in assets
        if asset.modality in _VISUAL
        or (asset.modality == "text" and not has_visual)
        or (asset.modality == "captions" and not has_visual and sync_target(assets, asset) is None)
    ]
    return BranchPlan(audio=audio, vision=vision, alignment=needs_alignment(assets))


def needs_alignment(assets: list[Asset]) -> bool:
    """Whether the alignment job has work: a SageMaker Processing job is minutes of start-up,
    a bill per second and a scarce instance quota, so it runs only for one of

    - captions, or a shipped transcript with word times, and the audio or video they are timed
      against (the job's own rule, `pipeline_contracts.timing.sync_target`);
    - slides (an image or document with the role "slides") and narration (audio, or video
      with sound) in the same item;
    - a video: its scenes, keyframes and their timeline.

    An image, an audio file, a text or a product photo with its description has nothing to
    align: image quality is measured where the vision branch decodes the image, and a
    transcript reaches the result without the job.
    """
    if any(asset.modality == "video" for asset in assets):
        return True
    if any(is_timed_text(asset) and sync_target(assets, asset) for asset in assets):
        return True
    slides = any(
        asset.role == "slides" and asset.modality in ("image", "document") for asset in assets
    )
    narration = any(
        asset.modality == "audio" or (asset.modality == "video" and asset.has_audio)
        for asset in assets
    )
    return slides and narration
