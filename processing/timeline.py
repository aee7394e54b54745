"""The join of transcript words, caption cues and scenes into one timeline.

Each word learns the cue and the scene it falls in, each cue the scene it starts in; then the
three lists are merged by start time. Sorting and binary search: O(n log n) overall.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import TypeAdapter

from pipeline_contracts.work.alignment import TimelineEntry

_RANK = {"scene": 0, "cue": 1, "word": 2}
_ENTRIES: TypeAdapter[list[TimelineEntry]] = TypeAdapter(list[TimelineEntry])


@dataclass(frozen=True)
class Span:
    start_s: float
    end_s: float
    text: str | None = None
    ref: str | None = None


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
) -> list[TimelineEntry]:
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

    # Rows first, then one validation of the whole list: pydantic-core checks 40,000 rows
    # faster than Python builds as many models one by one.
    rows: list[dict[str, Any]] = []
    rows.extend(
        {
            "start_s": s.start_s,
            "end_s": s.end_s,
            "kind": "scene",
            "text": s.text,
            "ref": s.ref,
            "scene": i,
        }
        for i, s in enumerate(scenes)
    )
    rows.extend(
        {
            "start_s": c.start_s,
            "end_s": c.end_s,
            "kind": "cue",
            "text": c.text,
            "ref": c.ref,
            "cue": i,
            "scene": opt(cue_scene[i]),
        }
        for i, c in enumerate(cues)
    )
    rows.extend(
        {
            "start_s": w.start_s,
            "end_s": w.end_s,
            "kind": "word",
            "text": w.text,
            "ref": w.ref,
            "cue": opt(word_cue[i]),
            "scene": opt(word_scene[i]),
        }
        for i, w in enumerate(words)
    )
    starts = np.fromiter((r["start_s"] for r in rows), dtype=np.float64, count=len(rows))
    ranks = np.fromiter((_RANK[r["kind"]] for r in rows), dtype=np.int64, count=len(rows))
    order = np.lexsort((ranks, starts))
    return _ENTRIES.validate_python([rows[i] for i in order])


def write_jsonl(entries: Sequence[TimelineEntry], out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for e in entries:
            fh.write(json.dumps(e.model_dump(mode="json"), ensure_ascii=False) + "\n")
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
