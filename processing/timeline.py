"""The join of transcript words, caption cues and scenes into one timeline.

Each word learns the cue and the scene it falls in, each cue the scene it starts in; then the
three lists are merged by start time. Sorting and binary search: O(n log n) overall.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Kind = Literal["word", "cue", "scene"]
_RANK = {"scene": 0, "cue": 1, "word": 2}


@dataclass(frozen=True)
class Span:
    start_s: float
    end_s: float
    text: str | None = None
    ref: str | None = None


@dataclass(frozen=True)
class Entry:
    start_s: float
    end_s: float
    kind: Kind
    text: str | None
    ref: str | None
    cue: int | None
    scene: int | None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def _containing(
    starts: npt.NDArray[np.float64], ends: npt.NDArray[np.float64], at: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """Index of the span (sorted by start) that contains each time in `at`, or -1.

    Takes the last span starting at or before the time; spans may not overlap much in
    practice (cues, scenes), so that is the containing one when any is.
    """
    if starts.size == 0:
        return np.full(at.size, -1, dtype=np.int64)
    idx = np.searchsorted(starts, at, side="right") - 1
    ok = (idx >= 0) & (at < ends[np.clip(idx, 0, None)])
    return np.where(ok, idx, -1).astype(np.int64)


def _arrays(spans: Sequence[Span]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    starts = np.fromiter((s.start_s for s in spans), dtype=np.float64, count=len(spans))
    ends = np.fromiter((s.end_s for s in spans), dtype=np.float64, count=len(spans))
    return starts, ends


def _sorted(spans: Sequence[Span]) -> list[Span]:
    return sorted(spans, key=lambda s: (s.start_s, s.end_s))


def join_timeline(
    words: Sequence[Span], cues: Sequence[Span], scenes: Sequence[Span]
) -> list[Entry]:
    """One list by start time (scenes before cues before words at the same instant)."""
    words, cues, scenes = _sorted(words), _sorted(cues), _sorted(scenes)
    w_start, _ = _arrays(words)
    c_start, c_end = _arrays(cues)
    s_start, s_end = _arrays(scenes)
    word_cue = _containing(c_start, c_end, w_start)
    word_scene = _containing(s_start, s_end, w_start)
    cue_scene = _containing(s_start, s_end, c_start)

    def opt(v: np.int64) -> int | None:
        return int(v) if v >= 0 else None

    entries: list[Entry] = []
    entries.extend(
        Entry(s.start_s, s.end_s, "scene", s.text, s.ref, None, i) for i, s in enumerate(scenes)
    )
    entries.extend(
        Entry(c.start_s, c.end_s, "cue", c.text, c.ref, i, opt(cue_scene[i]))
        for i, c in enumerate(cues)
    )
    entries.extend(
        Entry(w.start_s, w.end_s, "word", w.text, w.ref, opt(word_cue[i]), opt(word_scene[i]))
        for i, w in enumerate(words)
    )
    starts = np.fromiter((e.start_s for e in entries), dtype=np.float64, count=len(entries))
    ranks = np.fromiter((_RANK[e.kind] for e in entries), dtype=np.int64, count=len(entries))
    order = np.lexsort((ranks, starts))
    return [entries[i] for i in order]


def write_jsonl(entries: Sequence[Entry], out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for e in entries:
            fh.write(json.dumps(e.as_dict(), ensure_ascii=False) + "\n")
    return out


def load_transcript_words(path: Path) -> list[Span]:
    """Words with times from an Amazon Transcribe JSON, or `{"words": [{start, end, text}]}`."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return list(_iter_words(data))


def _iter_words(data: Any) -> Iterator[Span]:
    if isinstance(data, dict) and isinstance(data.get("results"), dict):
        for item in data["results"].get("items", []):
            if item.get("type") != "pronunciation" or "start_time" not in item:
                continue
            alts = item.get("alternatives") or [{}]
            yield Span(float(item["start_time"]), float(item["end_time"]), alts[0].get("content"))
        return
    words = data.get("words", []) if isinstance(data, dict) else data
    for w in words:
        text = w.get("text", w.get("word"))
        yield Span(float(w["start"]), float(w["end"]), text)
