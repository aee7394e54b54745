"""The alignment gate on the job's report: one verdict per captions file, and with captions
from another cut one per segment, so a confident majority cannot carry a misplaced stretch."""

from __future__ import annotations

from pipeline.config import Thresholds
from pipeline.domain.alignment_review import review
from pipeline_contracts.work.alignment import (
    AlignmentReport,
    CaptionBreak,
    SyncOutcome,
    SyncSegment,
)

THRESHOLDS = Thresholds(alignment_min_score=0.5)


def _sync(score: float, segments: list[SyncSegment], **extra: object) -> SyncOutcome:
    return SyncOutcome(
        captions_path="talk.en.vtt",
        media_path="talk.mp4",
        offset_s=segments[0].offset_s,
        drift=1.0,
        score=score,
        cues=segments[-1].last_cue + 1,
        agreeing_cues=sum(s.agreeing_cues for s in segments),
        corrected_captions="captions/talk.en.vtt",
        segments=segments,
        **extra,
    )


def _segment(first: int, last: int, offset: float, score: float) -> SyncSegment:
    agreeing = round(score * (last - first + 1))
    return SyncSegment(
        first_cue=first,
        last_cue=last,
        offset_s=offset,
        drift=1.0,
        score=score,
        agreeing_cues=agreeing,
    )


def _gates(sync: SyncOutcome) -> dict[str, tuple[bool, str]]:
    report = AlignmentReport(score=sync.score, syncs=[sync])
    _, gates = review(report, "s3://b/work/alignment/", "job", "local", THRESHOLDS)
    return {g.name: (g.passed, g.reason) for g in gates if g.name.startswith("caption-sync")}


def test_one_segment_is_one_verdict() -> None:
    gates = _gates(_sync(0.9, [_segment(0, 39, 3.2, 0.9)]))

    assert list(gates) == ["caption-sync:talk.en.vtt"]
    assert gates["caption-sync:talk.en.vtt"][0]


def test_each_segment_is_judged_on_its_own() -> None:
    # Given a file whose first stretch is confirmed and whose second (after an inserted ad
    # break) is not, though the file's score passes
    sync = _sync(
        0.7,
        [_segment(0, 29, 3.2, 0.95), _segment(30, 39, 23.4, 0.3)],
        breaks=[
            CaptionBreak(
                kind="inserted", after_cue=29, captions_s=61.0, audio_s=74.1, length_s=20.2
            )
        ],
    )

    gates = _gates(sync)

    # Then the file passes, the first segment passes, the second fails, and the file's
    # verdict says where the break is
    assert gates["caption-sync:talk.en.vtt"][0]
    assert "inserted 20.2 s at 74.1 s" in gates["caption-sync:talk.en.vtt"][1]
    assert gates["caption-sync:talk.en.vtt:cues 0-29"][0]
    assert not gates["caption-sync:talk.en.vtt:cues 30-39"][0]


def test_left_out_cues_are_said() -> None:
    sync = _sync(
        0.8,
        [_segment(0, 19, 1.0, 0.9), _segment(25, 39, -15.0, 0.9)],
        breaks=[
            CaptionBreak(
                kind="removed",
                after_cue=19,
                captions_s=50.0,
                audio_s=41.0,
                length_s=16.0,
                left_out_first=20,
                left_out_last=24,
            )
        ],
        left_out_cues=5,
    )

    reason = _gates(sync)["caption-sync:talk.en.vtt"][1]

    assert "removed 16.0 s" in reason
    assert "5 cues left out" in reason
