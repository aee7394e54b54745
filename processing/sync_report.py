"""A fit (processing.sync) as the alignment contract's `SyncOutcome`: the job's report and
`python -m processing.align sync --json` are built here, so they print the same fields."""

from __future__ import annotations

from pipeline_contracts.work.alignment import CaptionBreak, SyncOutcome, SyncSegment
from processing.sync import Break, Segment, SyncResult


def outcome(
    result: SyncResult,
    *,
    captions_path: str,
    media_path: str,
    corrected_captions: str | None = None,
) -> SyncOutcome:
    return SyncOutcome(
        captions_path=captions_path,
        media_path=media_path,
        offset_s=round(result.offset_s, 4),
        drift=round(result.drift, 6),
        score=result.score,
        cues=result.cues,
        agreeing_cues=result.agreeing_cues,
        corrected_captions=corrected_captions,
        segments=[_segment(s) for s in result.segments],
        breaks=[_cut(b) for b in result.breaks],
        left_out_cues=result.left_out_cues,
    )


def _segment(s: Segment) -> SyncSegment:
    return SyncSegment(
        first_cue=s.first_cue,
        last_cue=s.last_cue,
        offset_s=round(s.offset_s, 4),
        drift=round(s.drift, 6),
        score=s.score,
        agreeing_cues=s.agreeing_cues,
    )


def _cut(b: Break) -> CaptionBreak:
    first, last = b.left_out if b.left_out else (None, None)
    return CaptionBreak(
        kind=b.kind,
        after_cue=b.after_cue,
        captions_s=round(b.captions_s, 3),
        audio_s=round(b.audio_s, 3),
        length_s=round(b.length_s, 3),
        left_out_first=first,
        left_out_last=last,
    )
