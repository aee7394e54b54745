"""Which of an item's text carries times, and which media it is timed against.

One rule for both sides: the intake gate asks it whether the alignment job has something to
sync (a SageMaker job is only started for work), and the job (processing/job.py) asks it what
to sync each captions file or transcript with.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline_contracts.item import Asset

TIMED_MODALITIES = frozenset({"audio", "video"})


def timed_media(assets: Sequence[Asset]) -> list[Asset]:
    """The assets text can be timed against: audio and video, in manifest order."""
    return [asset for asset in assets if asset.modality in TIMED_MODALITIES]


def is_transcript_words(asset: Asset) -> bool:
    """A bundle-shipped transcript with word times: role "transcript", sniffed as JSON
    (Transcribe's format, or a list of timed words; processing/timeline.py reads it)."""
    return asset.role == "transcript" and asset.modality == "text" and asset.media_format == "json"


def is_timed_text(asset: Asset) -> bool:
    """Text that carries times: captions (cues), or a transcript with word times."""
    return asset.modality == "captions" or is_transcript_words(asset)


def sync_target(assets: Sequence[Asset], timed_text: Asset) -> Asset | None:
    """The media a captions file or transcript is timed against: the audio or video its
    `syncs_with` names (by path or asset id), or else the item's only audio or video."""
    media = timed_media(assets)
    if timed_text.syncs_with:
        for asset in media:
            if timed_text.syncs_with in (asset.path, asset.asset_id):
                return asset
        return None
    return media[0] if len(media) == 1 else None
