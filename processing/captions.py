"""Caption cues in and out (WebVTT and SRT), parsed and written by pysubs2.

`load_cues` is the alignment job's one caption parser. The Lambda functions have their own,
`pipeline.domain.captions` (pysubs2 too): this job runs in the SageMaker container, which has
`pipeline_contracts` and this package but not `pipeline`, and the Lambda code is deployed
without `processing/`, so one function cannot serve both; there is one parser per runtime.
"""

from __future__ import annotations

import copy
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


_FORMATS = {".vtt": "vtt", ".srt": "srt"}


def load_cues(path: Path) -> tuple[list[Cue], pysubs2.SSAFile]:
    """Parse WebVTT or SRT (detected from the content) into cues sorted by start."""
    try:
        text = path.read_text(encoding="utf-8-sig")
        subs = pysubs2.SSAFile.from_string(text)
    except (UnicodeDecodeError, pysubs2.exceptions.Pysubs2Error, ValueError) as exc:
        raise CaptionsError(f"cannot parse captions {path.name}: {exc}") from exc
    subs.sort()
    cues = [
        Cue(start_s=e.start / 1000.0, end_s=e.end / 1000.0, text=e.plaintext.strip())
        for e in subs
        if not e.is_comment and e.end > e.start
    ]
    if not cues:
        raise CaptionsError(f"captions {path.name} have no cues")
    return cues, subs


def write_corrected(
    subs: pysubs2.SSAFile, out: Path, drift: float, offset_s: float, fmt: str | None = None
) -> Path:
    """Write `subs` with every time mapped to `drift * t + offset_s` (negative times -> 0).

    The format follows `out`'s suffix (.vtt or .srt) unless `fmt` is given.
    """
    fixed = copy.deepcopy(subs)
    for event in fixed:
        start = drift * event.start / 1000.0 + offset_s
        end = drift * event.end / 1000.0 + offset_s
        event.start = max(0, round(start * 1000))
        event.end = max(0, round(end * 1000))
    out.parent.mkdir(parents=True, exist_ok=True)
    format_ = fmt or _FORMATS.get(out.suffix.lower(), "vtt")
    fixed.save(str(out), format_=format_)
    return out
