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

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from processing.captions import Cue, load_cues, write_corrected
from processing.media import decode_audio
from processing.speech import FRAME_S, RATE, SpeechActivity, speech_activity

FloatArray = npt.NDArray[np.float64]

# Frame-rate conversions that drift captions (e.g. 25 fps captions on 23.976 fps video).
_FPS_RATIOS = (23.976 / 25, 25 / 23.976, 24 / 25, 25 / 24, 23.976 / 24, 24 / 23.976)
_AGREE_S = 0.15
_FINE_WINDOW_S = 0.6
_LOCAL_S = 1.0


@dataclass(frozen=True)
class SyncResult:
    offset_s: float
    drift: float
    score: float
    cues: int
    agreeing_cues: int
    correlation: float


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
    starts = np.round(np.array([c.start_s for c in cues]) * drift / FRAME_S).astype(np.int64)
    ends = np.round(np.array([c.end_s for c in cues]) * drift / FRAME_S).astype(np.int64)
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


def synchronise(
    activity: SpeechActivity,
    cues: Sequence[Cue],
    max_offset_s: float = 60.0,
    max_drift: float = 0.007,
) -> SyncResult:
    """Find drift and offset mapping caption times onto the speech in `activity`."""
    robust, precise = activity.robust, activity.precise
    if not cues or robust.size == 0 or not np.any(robust):
        return SyncResult(0.0, 1.0, 0.0, len(cues), 0, 0.0)
    coarse = list(np.arange(1 - max_drift, 1 + max_drift + 1e-9, 0.001)) + list(_FPS_RATIOS)
    span_s = max(c.end_s for c in cues) - min(c.start_s for c in cues)
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
    shifts = _local_shifts(robust, cues, best_d, best_o)
    valid = shifts[~np.isnan(shifts)]
    agree = int(np.count_nonzero(np.abs(valid) <= _AGREE_S)) if valid.size else 0
    chance = (2 * _AGREE_S + FRAME_S) / (2 * _LOCAL_S + FRAME_S)
    share = agree / valid.size if valid.size else 0.0
    score = max(0.0, (share - chance) / (1 - chance)) * min(1.0, valid.size / 3)
    return SyncResult(
        offset_s=float(best_o),
        drift=float(best_d),
        score=float(round(score, 4)),
        cues=len(cues),
        agreeing_cues=agree,
        correlation=float(best_c),
    )


def sync_captions(
    media: Path,
    captions: Path,
    out: Path | None = None,
    *,
    max_offset_s: float = 60.0,
    activity: SpeechActivity | None = None,
) -> tuple[SyncResult, list[Cue]]:
    """Synchronise a captions file to the speech of `media`; write the corrected file to `out`.

    Returns the fit and the corrected cues. `activity` may be passed in when several captions
    files share one media file (it is the expensive part).
    """
    cues, subs = load_cues(captions)
    if activity is None:
        activity = speech_activity(decode_audio(media, rate=RATE)[0])
    result = synchronise(activity, cues, max_offset_s=max_offset_s)
    if out is not None:
        write_corrected(subs, out, result.drift, result.offset_s)
    fixed = [
        Cue(
            result.drift * c.start_s + result.offset_s,
            result.drift * c.end_s + result.offset_s,
            c.text,
        )
        for c in cues
    ]
    return result, fixed
