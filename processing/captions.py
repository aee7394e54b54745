"""Caption cues in and out (WebVTT and SRT), parsed and written by pysubs2.

`load_cues` is the alignment job's one caption parser. The Lambda functions have their own,
`pipeline.domain.captions` (pysubs2 too): this job runs in the SageMaker container, which has
`pipeline_contracts` and this package but not `pipeline`, and the Lambda code is deployed
without `processing/`, so one function cannot serve both; there is one parser per runtime.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pysubs2


class CaptionsError(Exception):
    """The captions file cannot be parsed, or has no cues."""


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    text: str
    event: int = -1  # index of the pysubs2 event it was read from (-1: not from a file)


_FORMATS = {".vtt": "vtt", ".srt": "srt"}
# New times for an event, by its index in the file: (start s, end s), or None to leave it out.
Retime = Callable[[int, float, float], tuple[float, float] | None]


def load_cues(path: Path) -> tuple[list[Cue], pysubs2.SSAFile]:
    """Parse WebVTT or SRT (detected from the content) into cues sorted by start."""
    try:
        text = path.read_text(encoding="utf-8-sig")
        subs = pysubs2.SSAFile.from_string(text)
    except (UnicodeDecodeError, pysubs2.exceptions.Pysubs2Error, ValueError) as exc:
        raise CaptionsError(f"cannot parse captions {path.name}: {exc}") from exc
    subs.sort()
    cues = [
        Cue(start_s=e.start / 1000.0, end_s=e.end / 1000.0, text=e.plaintext.strip(), event=i)
        for i, e in enumerate(subs)
        if not e.is_comment and e.end > e.start
    ]
    if not cues:
        raise CaptionsError(f"captions {path.name} have no cues")
    return cues, subs


def write_corrected(
    subs: pysubs2.SSAFile, out: Path, retime: Retime, fmt: str | None = None
) -> Path:
    """Write `subs` with every event's times from `retime` (negative times -> 0); events it
    returns None for are left out.

    The format follows `out`'s suffix (.vtt or .srt) unless `fmt` is given.
    """
    fixed = copy.deepcopy(subs)
    kept = []
    for i, event in enumerate(fixed):
        times = retime(i, event.start / 1000.0, event.end / 1000.0)
        if times is None:
            continue
        event.start = max(0, round(times[0] * 1000))
        event.end = max(0, round(times[1] * 1000))
        kept.append(event)
    fixed.events = kept
    out.parent.mkdir(parents=True, exist_ok=True)
    format_ = fmt or _FORMATS.get(out.suffix.lower(), "vtt")
    fixed.save(str(out), format_=format_)
    return out
