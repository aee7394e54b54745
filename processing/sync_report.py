"""A fit (processing.sync) as the alignment contract's segments and breaks: the job's report
and `python -m processing.align sync --json` print the same fields."""

from __future__ import annotations

from pipeline_contracts.work.alignment import CaptionBreak, SyncSegment
from processing.sync import Break, Segment, SyncResult


def segment(s: Segment) -> SyncSegment:
    return SyncSegment(
        first_cue=s.first_cue,
        last_cue=s.last_cue,
        offset_s=round(s.offset_s, 4),
        drift=round(s.drift, 6),
        score=s.score,
        agreeing_cues=s.agreeing_cues,
    )


def cut(b: Break) -> CaptionBreak:
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


def segments(result: SyncResult) -> list[SyncSegment]:
    return [segment(s) for s in result.segments]


def breaks(result: SyncResult) -> list[CaptionBreak]:
    return [cut(b) for b in result.breaks]
