"""Caption-to-speech synchronisation: the offset and linear drift that best fit the speech.

Model: a cue at caption time `t` is heard at `drift * t + offset_s`. The search:
1. speech activity per 10 ms frame (processing.speech);
2. for each candidate drift (a grid over +-0.7 % plus the usual frame-rate ratios), the
   cue-coverage indicator is stretched by the drift and cross-correlated with the activity by
   FFT, which scores every offset at once; the best (drift, offset) wins;
3. a finer drift grid around the winner, with sub-frame (parabolic) offset refinement;
4. a per-cue check: each cue is slid +-1 s on its own; the share of cues whose best local
   position agrees with the global fit (corrected for chance) is the `score`.
Cost: O(F log F) per drift candidate for F frames; a 10-minute clip takes well under a second.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from processing.captions import Cue, load_cues, write_corrected
from processing.media import decode_audio
from processing.piecewise import Run, place_cues
from processing.speech import FRAME_S, RATE, SpeechActivity, speech_activity

FloatArray = npt.NDArray[np.float64]

# Frame-rate conversions that drift captions (e.g. 25 fps captions on 23.976 fps video).
_FPS_RATIOS = (23.976 / 25, 25 / 23.976, 24 / 25, 25 / 24, 23.976 / 24, 24 / 23.976)
_AGREE_S = 0.15
_FINE_WINDOW_S = 0.6
_LOCAL_S = 1.0
# Piecewise alignment (processing.piecewise): 50 ms steps; a new segment costs as much as
# _SPLIT_PENALTY_S seconds of speech covered and holds at least _MIN_RUN_CUES cues; leaving a
# cue out costs half the speech its text stands for; breaks are sought over at least
# _MIN_BREAKS_S (or a quarter of the audio) past the offset bound. Activity above its
# _SATURATE_PERCENTILE-th percentile (of speech frames) counts no more than that.
_GRID = 5
_SPLIT_PENALTY_S = 8.0
_LEAVE_OUT_SHARE = 0.5
_MIN_BREAKS_S = 300.0
_MIN_SEGMENT_CUES = 4
_MIN_RUN_CUES = 3
_SATURATE_PERCENTILE = 75
_DP_CELLS = 30_000_000  # cues x offsets: about an hour of programme, 0.2 GB of decisions
# Segments are reported only when the speech confirms them this well: captions of another
# programme fit nowhere, and cutting them into segments would only dress the misfit up. Cut
# into segments, such captions scored up to 0.24 (32 generated pairs of 1-3 minutes);
# captions from another cut 0.83 and up with breaks of 12-30 s, 0.62 and up with breaks of
# minutes, where the cues left out count as unconfirmed (benchmarks/alignment_benchmark.py).
_SEGMENTS_CONFIRMED = 0.6


@dataclass(frozen=True)
class Segment:
    """Cues `first_cue`..`last_cue` (sorted order) heard at `drift * t + offset_s`."""

    first_cue: int
    last_cue: int
    offset_s: float
    drift: float
    score: float
    agreeing_cues: int

    @property
    def cues(self) -> int:
        return self.last_cue - self.first_cue + 1

    def at(self, t: float) -> float:
        return self.drift * t + self.offset_s


@dataclass(frozen=True)
class Break:
    """Where two segments part ways: a stretch the audio has and the captions lack
    ("inserted"), or the reverse ("removed"), between cue `after_cue` and the next segment."""

    kind: Literal["inserted", "removed"]
    after_cue: int
    captions_s: float  # caption time of the cut: the middle of the gap between the segments
    audio_s: float  # audio time of the cut: the middle of the gap between the segments
    length_s: float
    left_out: tuple[int, int] | None  # cues between the segments, kept out of the output


@dataclass(frozen=True)
class SyncResult:
    """The fit: one segment when one offset and drift fit (the usual case), more when the
    captions come from another cut. `offset_s` and `drift` are the first segment's."""

    offset_s: float
    drift: float
    score: float
    cues: int
    agreeing_cues: int
    correlation: float
    segments: tuple[Segment, ...] = ()
    breaks: tuple[Break, ...] = ()

    @property
    def left_out_cues(self) -> int:
        return self.cues - sum(s.cues for s in self.segments) if self.segments else 0

    def placement(self, index: int) -> Segment | None:
        """The segment that holds cue `index`, or None when the cue is left out."""
        for segment in self.segments:
            if segment.first_cue <= index <= segment.last_cue:
                return segment
        return None


def _indicator(cues: Sequence[Cue], drift: float) -> tuple[FloatArray, int]:
    """Zero-mean cue coverage on the frame grid, for caption times stretched by `drift`.

    Returns the indicator and the frame index of its first element (it starts at the first
    cue, so an empty lead-in costs nothing).
    """
    starts = np.array([c.start_s for c in cues]) * drift / FRAME_S
    ends = np.array([c.end_s for c in cues]) * drift / FRAME_S
    first = int(np.floor(starts.min()))
    length = int(np.ceil(ends.max())) - first + 1
    diff = np.zeros(length + 1)
    s_idx = np.clip(np.round(starts).astype(int) - first, 0, length)
    e_idx = np.clip(np.round(ends).astype(int) - first, 0, length)
    np.add.at(diff, s_idx, 1.0)
    np.add.at(diff, e_idx, -1.0)
    ind = (np.cumsum(diff)[:length] > 0).astype(np.float64)
    return ind - ind.mean(), first


@dataclass(frozen=True)
class _Spectrum:
    """The activity's FFT, computed once for every drift candidate."""

    activity: FloatArray
    size: int
    spec: npt.NDArray[np.complex128]
    norm: float

    @classmethod
    def of(cls, activity: FloatArray, longest_indicator: int) -> _Spectrum:
        size = 1 << (activity.size + longest_indicator - 1).bit_length()
        spec = np.fft.rfft(activity, size)
        return cls(activity, size, spec, float(np.linalg.norm(activity)))


def _xcorr(a: _Spectrum, ind: FloatArray) -> FloatArray:
    """c[k] = sum_t activity[t] * ind[t - k + len(ind) - 1], for every lag, by FFT."""
    n = a.activity.size + ind.size - 1
    return np.fft.irfft(a.spec * np.fft.rfft(ind[::-1], a.size), a.size)[:n]


def _best_offset(
    a: _Spectrum, cues: Sequence[Cue], drift: float, max_offset_s: float
) -> tuple[float, float]:
    """Best offset (seconds, sub-frame) within +-max_offset_s, and its correlation."""
    ind, first = _indicator(cues, drift)
    corr = _xcorr(a, ind)
    # Lag index k places ind[0] at activity frame k - (len(ind) - 1); offset = that - first.
    lags = np.arange(corr.size) - (ind.size - 1) - first
    allowed = np.abs(lags * FRAME_S) <= max_offset_s
    if not allowed.any():
        return 0.0, -np.inf
    masked = np.where(allowed, corr, -np.inf)
    k = int(np.argmax(masked))
    frac = 0.0
    if 0 < k < corr.size - 1 and allowed[k - 1] and allowed[k + 1]:
        y0, y1, y2 = corr[k - 1], corr[k], corr[k + 1]
        denom = y0 - 2 * y1 + y2
        if denom < 0:
            frac = float(np.clip(0.5 * (y0 - y2) / denom, -0.5, 0.5))
    norm = float(np.linalg.norm(ind)) * a.norm or 1.0
    return (lags[k] + frac) * FRAME_S, float(corr[k]) / norm


def _union(
    starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Overlapping cues (two speakers at once, a caption repeated) as the frames they cover
    together: counted once, as the FFT search's indicator counts them."""
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], np.maximum(ends[order], starts[order])
    reach = np.maximum.accumulate(e)
    opens = np.concatenate([[True], s[1:] > reach[:-1]])
    closes = np.concatenate([np.flatnonzero(opens)[1:] - 1, [s.size - 1]])
    return s[opens], reach[closes]


def _best_offset_near(
    csum: FloatArray,
    norm_a: float,
    cues: Sequence[Cue],
    *,
    drift: float,
    centre_s: float,
    radius_s: float,
) -> tuple[float, float]:
    """`_best_offset` restricted to `centre_s +- radius_s`, from the activity's prefix sums.

    The zero-mean box indicator's correlation at lag L is the activity summed inside the cues
    minus the coverage share times the activity summed over the whole span: O(cues) a lag.
    """
    n = csum.size - 1
    starts, ends = _union(
        np.round(np.array([c.start_s for c in cues]) * drift / FRAME_S).astype(np.int64),
        np.round(np.array([c.end_s for c in cues]) * drift / FRAME_S).astype(np.int64),
    )
    first, last = int(starts.min()), int(ends.max())
    span = last - first
    cover = float(np.clip(ends - starts, 0, None).sum()) / max(span, 1)
    centre = round(centre_s / FRAME_S)
    radius = int(np.ceil(radius_s / FRAME_S))
    lags = np.arange(centre - radius - 1, centre + radius + 2)
    s_idx = np.clip(starts[None, :] + lags[:, None], 0, n)
    e_idx = np.clip(ends[None, :] + lags[:, None], 0, n)
    inside = (csum[e_idx] - csum[s_idx]).sum(axis=1)
    whole = csum[np.clip(last + lags, 0, n)] - csum[np.clip(first + lags, 0, n)]
    corr = inside - cover * whole
    k = int(np.argmax(corr[1:-1])) + 1
    y0, y1, y2 = corr[k - 1], corr[k], corr[k + 1]
    denom = y0 - 2 * y1 + y2
    frac = float(np.clip(0.5 * (y0 - y2) / denom, -0.5, 0.5)) if denom < 0 else 0.0
    norm = math.sqrt(span * cover * (1 - cover)) * norm_a or 1.0
    return (lags[k] + frac) * FRAME_S, float(corr[k]) / norm


def _local_shifts(
    activity: FloatArray, cues: Sequence[Cue], drift: float, offset_s: float
) -> FloatArray:
    """For each cue alone, the shift (s) in +-_LOCAL_S that best covers speech activity."""
    csum = np.concatenate([[0.0], np.cumsum(activity)])
    n = activity.size
    shifts = np.arange(-int(_LOCAL_S / FRAME_S), int(_LOCAL_S / FRAME_S) + 1)
    out = np.full(len(cues), np.nan)
    for i, cue in enumerate(cues):
        s = round((drift * cue.start_s + offset_s) / FRAME_S)
        e = round((drift * cue.end_s + offset_s) / FRAME_S)
        if e <= s:
            continue
        lo = np.clip(s + shifts, 0, n)
        hi = np.clip(e + shifts, 0, n)
        inside = hi - lo
        if inside.max() < (e - s) // 2:
            continue  # the cue falls (mostly) outside the audio
        covered = csum[hi] - csum[lo]
        out[i] = shifts[int(np.argmax(covered))] * FRAME_S
    return out


def _linear_fit(
    activity: SpeechActivity,
    cues: Sequence[Cue],
    max_offset_s: float,
    max_drift: float,
) -> SyncResult:
    """The one drift and offset mapping caption times onto the speech in `activity`."""
    robust, precise = activity.robust, activity.precise
    if not cues or robust.size == 0 or not np.any(robust):
        unmoved = (Segment(0, len(cues) - 1, 0.0, 1.0, 0.0, 0),) if cues else ()
        return SyncResult(0.0, 1.0, 0.0, len(cues), 0, 0.0, segments=unmoved)
    coarse = list(np.arange(1 - max_drift, 1 + max_drift + 1e-9, 0.001)) + list(_FPS_RATIOS)
    span_s = _caption_span(cues)
    spectrum = _Spectrum.of(robust, int(max(coarse) * span_s / FRAME_S) + 4)
    scored = [(d, *_best_offset(spectrum, cues, d, max_offset_s)) for d in coarse]
    best_d, best_o, _ = max(scored, key=lambda r: r[2])
    # Fine search on the precise signal, near the coarse answer (it cannot jump elsewhere).
    if np.any(precise):
        csum = np.concatenate([[0.0], np.cumsum(precise)])
        norm_a = float(np.linalg.norm(precise))
        best_o, best_c = _best_offset_near(
            csum, norm_a, cues, drift=best_d, centre_s=best_o, radius_s=_FINE_WINDOW_S
        )
        for step, span in ((0.0001, 0.001), (0.00001, 0.0001)):
            centre_d, centre_o = best_d, best_o
            for d in centre_d + np.arange(-span, span + 1e-12, step):
                off, c = _best_offset_near(
                    csum, norm_a, cues, drift=float(d), centre_s=centre_o, radius_s=_FINE_WINDOW_S
                )
                if c > best_c:
                    best_d, best_o, best_c = float(d), off, c
    robust_csum = np.concatenate([[0.0], np.cumsum(robust)])
    best_c = _best_offset_near(
        robust_csum, spectrum.norm, cues, drift=best_d, centre_s=best_o, radius_s=0.0
    )[1]
    agree = _agreement(robust, cues, best_d, best_o)
    score = _score(agree, len(cues))
    return SyncResult(
        offset_s=float(best_o),
        drift=float(best_d),
        score=score,
        cues=len(cues),
        agreeing_cues=agree,
        correlation=float(best_c),
        segments=(Segment(0, len(cues) - 1, float(best_o), float(best_d), score, agree),),
    )


def _agreement(robust: FloatArray, cues: Sequence[Cue], drift: float, offset_s: float) -> int:
    """How many cues, slid +-1 s on their own, land within _AGREE_S of the fit (a cue the fit
    puts outside the audio does not)."""
    shifts = _local_shifts(robust, cues, drift, offset_s)
    return int(np.count_nonzero(np.abs(shifts[~np.isnan(shifts)]) <= _AGREE_S))


def _score(agree: int, judged: int, enough: int = 3) -> float:
    """The share of agreeing cues among `judged` (every cue: one outside the audio or left out
    is not confirmed either), corrected for chance, and discounted below `enough` cues."""
    chance = (2 * _AGREE_S + FRAME_S) / (2 * _LOCAL_S + FRAME_S)
    share = agree / judged if judged else 0.0
    return round(max(0.0, (share - chance) / (1 - chance)) * min(1.0, judged / enough), 4)


def synchronise(
    activity: SpeechActivity,
    cues: Sequence[Cue],
    max_offset_s: float = 60.0,
    max_drift: float = 0.007,
) -> SyncResult:
    """Map caption times onto the speech in `activity`: one segment, or one per stretch when
    the captions come from another cut (and the split fits better than the line)."""
    linear = _linear_fit(activity, cues, max_offset_s, max_drift)
    if not cues or not np.any(activity.robust):
        return linear
    # The line's drift is a compromise when stretches part ways; the refit corrects it within
    # +-0.3 %, but a frame-rate ratio (4 %) can fit a long break better than the truth, so
    # from one of those the segments are also sought from no drift.
    starts = {linear.drift, 1.0} if abs(linear.drift - 1) > max_drift else {linear.drift}
    tried = [_piecewise(activity, cues, linear, d, max_offset_s) for d in sorted(starts)]
    best = max((p for p in tried if p is not None), key=lambda p: p.score, default=None)
    if best is None or best.score <= max(linear.score, _SEGMENTS_CONFIRMED):
        return linear
    return best


def _grid(activity: FloatArray, frames: int) -> FloatArray:
    """Mean activity per `frames` frames (the dynamic programme's steps)."""
    n = activity.size // frames
    grid: FloatArray = activity[: n * frames].reshape(n, frames).mean(axis=1)
    return grid


def _grid_frames(cues: Sequence[Cue], audio_s: float, band_s: float) -> int:
    """_GRID frames a step (50 ms), or a multiple when cues x offsets would pass _DP_CELLS:
    a two-hour film, or ten thousand 10 ms cues, costs the same as an hour."""
    offsets = min(2 * band_s, audio_s + _caption_span(cues)) / (FRAME_S * _GRID)
    return _GRID * max(1, math.ceil(len(cues) * offsets / _DP_CELLS))


def _expected_speech_s(cues: Sequence[Cue]) -> FloatArray:
    """How long each cue's text takes to say, at the captions' own median reading rate, at
    most the cue's duration: a cue left out loses the speech its text stands for."""
    durations = np.array([max(c.end_s - c.start_s, 0.0) for c in cues])
    chars = np.array([len(c.text) for c in cues], dtype=np.float64)
    spoken = (chars > 0) & (durations > 0)
    if not spoken.any():
        return durations
    per_s = float(np.median(chars[spoken] / durations[spoken]))
    return np.where(chars > 0, np.minimum(durations, chars / per_s), durations)


def _piecewise(
    activity: SpeechActivity,
    cues: Sequence[Cue],
    linear: SyncResult,
    drift: float,
    max_offset_s: float,
) -> SyncResult | None:
    """Segments and breaks from a first guess at the drift, or None when the dynamic
    programme keeps one stretch."""
    audio_s = activity.frames * FRAME_S
    band_s = max_offset_s + max(_MIN_BREAKS_S, audio_s / 4)
    frames = _grid_frames(cues, audio_s, band_s)
    grid = _grid(activity.robust, frames)
    if not np.any(grid > 0):
        return None  # shorter than a step, or no step louder than the average: nothing to cut
    step_s = FRAME_S * frames
    speech_level = float(grid[grid > 0].mean())
    # Louder is not more speech: an ad's music can drive both detectors higher than speech
    # under noise does, and would pull the cues beside it in.
    grid = np.minimum(grid, np.percentile(grid[grid > 0], _SATURATE_PERCENTILE))
    leave_out = _LEAVE_OUT_SHARE * speech_level * _expected_speech_s(cues)
    runs: list[Run] = []
    for _ in range(3):  # segment, refit the drift on every segment, segment again
        starts = np.round(np.array([c.start_s for c in cues]) * drift / step_s).astype(np.int64)
        ends = np.maximum(
            np.round(np.array([c.end_s for c in cues]) * drift / step_s).astype(np.int64),
            starts + 1,
        )
        centre = round(linear.offset_s / step_s)
        band = round(band_s / step_s)
        lo = max(centre - band, -int(ends.max()))
        hi = min(centre + band, grid.size - int(starts.min()))
        if lo > hi:
            return None
        runs = place_cues(
            grid,
            starts,
            ends,
            offsets=(lo, hi),
            leave_out_cost=leave_out,
            split_penalty=_SPLIT_PENALTY_S * speech_level,
            step_s=step_s,
            min_run=_MIN_RUN_CUES,
        )
        if len(runs) <= 1:
            return None
        new_drift, offsets = _refit(activity, cues, runs, drift, step_s)
        if abs(new_drift - drift) * _caption_span(cues) < step_s:
            drift = new_drift
            break
        drift = new_drift
    merged = _merge_close(runs, offsets, step_s)
    if len(merged) < len(runs):
        if len(merged) == 1:
            return None
        runs = merged
        drift, offsets = _refit(activity, cues, runs, drift, step_s)
    return _describe(activity, cues, runs, drift, offsets, linear)


def _merge_close(runs: Sequence[Run], offsets: Sequence[float], step_s: float) -> list[Run]:
    """Adjacent runs the refit put within a grid step of each other are one segment: the
    grid split them, the speech did not."""
    merged = [Run(runs[0].first, runs[0].last, round(offsets[0] / step_s))]
    last_offset = offsets[0]
    for run, offset in zip(runs[1:], offsets[1:], strict=True):
        if run.first == merged[-1].last + 1 and abs(offset - last_offset) < step_s:
            merged[-1] = Run(merged[-1].first, run.last, merged[-1].offset)
        else:
            merged.append(Run(run.first, run.last, round(offset / step_s)))
            last_offset = offset
    return merged


def _caption_span(cues: Sequence[Cue]) -> float:
    return max(c.end_s for c in cues) - min(c.start_s for c in cues)


def _refit(
    activity: SpeechActivity,
    cues: Sequence[Cue],
    runs: Sequence[Run],
    drift: float,
    step_s: float,
) -> tuple[float, list[float]]:
    """One drift for every segment (the frame rates do not change at a cut) and an offset per
    segment, to a fraction of a frame, on the precise signal near the grid's answer."""
    signal = activity.precise if np.any(activity.precise) else activity.robust
    csum = np.concatenate([[0.0], np.cumsum(signal)])
    norm = float(np.linalg.norm(signal))
    groups = [list(cues[r.first : r.last + 1]) for r in runs]
    mids = [(g[0].start_s + g[-1].end_s) / 2 for g in groups]
    weights = [len(g) for g in groups]
    best = (drift, [r.offset * step_s for r in runs])
    best_total = -np.inf
    for step, span in ((0.0, 0.0), (0.0005, 0.003), (0.0001, 0.0005), (0.00001, 0.0001)):
        centre_d, centre_o = best
        candidates = centre_d + np.arange(-span, span + 1e-12, step) if step else [centre_d]
        for d in candidates:
            fits = [
                _best_offset_near(
                    csum,
                    norm,
                    g,
                    drift=float(d),
                    centre_s=o + (centre_d - d) * m,
                    radius_s=_FINE_WINDOW_S if step == 0 else _FINE_WINDOW_S / 2,
                )
                for g, o, m in zip(groups, centre_o, mids, strict=True)
            ]
            total = sum(w * c for w, (_, c) in zip(weights, fits, strict=True))
            if total > best_total:
                best_total = total
                best = (float(d), [o for o, _ in fits])
    return best


def _describe(
    activity: SpeechActivity,
    cues: Sequence[Cue],
    runs: Sequence[Run],
    drift: float,
    offsets: Sequence[float],
    linear: SyncResult,
) -> SyncResult:
    segments = []
    for run, offset in zip(runs, offsets, strict=True):
        part = cues[run.first : run.last + 1]
        agree = _agreement(activity.robust, part, drift, offset)
        score = _score(agree, len(part), _MIN_SEGMENT_CUES)
        segments.append(Segment(run.first, run.last, offset, drift, score, agree))
    breaks = []
    for before, after in itertools.pairwise(segments):
        last, first = cues[before.last_cue], cues[after.first_cue]
        captions_s = (last.end_s + first.start_s) / 2
        audio_s = (before.at(last.end_s) + after.at(first.start_s)) / 2
        length = after.offset_s - before.offset_s
        gap = (before.last_cue + 1, after.first_cue - 1)
        breaks.append(
            Break(
                kind="inserted" if length > 0 else "removed",
                after_cue=before.last_cue,
                captions_s=captions_s,
                audio_s=audio_s,
                length_s=abs(length),
                left_out=gap if gap[0] <= gap[1] else None,
            )
        )
    # Cues in short segments are not confirmed: a segment of one or two cues is placed where
    # it fits best, so its own cues agreeing with it proves nothing.
    agree = sum(s.agreeing_cues for s in segments if s.cues >= _MIN_SEGMENT_CUES)
    return replace(
        linear,
        offset_s=segments[0].offset_s,
        drift=drift,
        score=_score(agree, len(cues)),
        agreeing_cues=agree,
        segments=tuple(segments),
        breaks=tuple(breaks),
    )


def retimed(result: SyncResult, cues: Sequence[Cue]) -> list[Cue | None]:
    """Each cue's corrected times (None: left out), in start order and without overlap made
    at a segment boundary. The DP keeps segments apart on its grid; refining each offset to a
    fraction of a frame can move one by a few tenths of a second, so a segment's cues start no
    earlier than any cue before them, and cues of earlier segments end where it begins."""
    out: list[Cue | None] = []
    placed: list[int] = []  # indices in `out` of the placed cues of earlier segments
    seen = 0  # `out` up to here is in `placed` (or left out)
    current: Segment | None = None
    latest_start = -math.inf
    for i, cue in enumerate(cues):
        segment = result.placement(i)
        if segment is None:
            out.append(None)
            continue
        start = max(segment.at(cue.start_s), latest_start)
        end = max(segment.at(cue.end_s), start)
        if segment is not current:
            placed.extend(j for j in range(seen, len(out)) if out[j] is not None)
            seen = len(out)
            current = segment
            for j in placed:
                before = out[j]
                if before is not None and before.end_s > start:
                    out[j] = replace(before, end_s=max(before.start_s, start))
        out.append(Cue(start, end, cue.text, cue.event))
        latest_start = start
    return out


def sync_captions(
    media: Path,
    captions: Path,
    out: Path | None = None,
    *,
    max_offset_s: float = 60.0,
    activity: SpeechActivity | None = None,
) -> tuple[SyncResult, list[Cue]]:
    """Synchronise a captions file to the speech of `media`; write the corrected file to `out`.

    Returns the fit and the corrected cues (left-out cues are not among them, nor in the
    file). `activity` may be passed in when several captions files share one media file (it
    is the expensive part).
    """
    cues, subs = load_cues(captions)
    if activity is None:
        activity = speech_activity(decode_audio(media, rate=RATE)[0])
    result = synchronise(activity, cues, max_offset_s=max_offset_s)
    fixed = retimed(result, cues)
    if out is not None:
        by_event = {c.event: i for i, c in enumerate(cues)}
        owner = 0  # the cue an event that is no cue (a comment, an empty cue) goes with

        def retime(event: int, start_s: float, end_s: float) -> tuple[float, float] | None:
            """A cue's corrected times; an event that is no cue moves with the cue before it
            and stays inside that cue's corrected span, so it cannot land across a break."""
            nonlocal owner
            if event in by_event:
                owner = by_event[event]
                cue = fixed[owner]
                return None if cue is None else (cue.start_s, cue.end_s)
            segment, cue = result.placement(owner), fixed[owner]
            if segment is None or cue is None:
                return None
            lo, hi = cue.start_s, cue.end_s
            at_start = min(max(segment.at(start_s), lo), hi)
            return at_start, min(max(segment.at(end_s), at_start), hi)

        write_corrected(subs, out, retime)
    return result, [c for c in fixed if c is not None]
