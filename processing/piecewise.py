"""Captions from another cut: which cues go together, at which offset, and which have no speech.

A broadcast cut has ad breaks the streaming file lacks, or the reverse; the captions of one on
the speech of the other need an offset per stretch, not one for the whole file. This is the
dynamic programme alass formulates (rate every cue at every offset; pay a penalty per change of
offset), with three changes:

- **Signed ratings from the speech detector's confidence.** A cue's rating at an offset is the
  speech activity it covers (zero-mean, unit-variance: positive on speech, negative on silence
  or music the detectors doubt), not alass's non-negative overlap; a cue over silence costs.
  The pauses are rated too, as silence: up to half a second either side of every cue, and
  within a run the whole pause between two cues. Cues laid over speech they do not belong to
  (another scene's captions) cover speech too, but their pauses and edges do not match.
- **Cues may be left out**, at a cost from the length of their text (the speech they should
  cover): the captions of a stretch the audio lacks (a scene cut from this version) have no
  place to go, and forcing them in would overlap their neighbours or drag a segment off.
- **Order and no overlap are constraints**: a segment starts no earlier than the previous
  placed cue ends. The DP's state after each cue is "the last placed cue ends at audio time t",
  a prefix maximum over t, so leaving cues out costs nothing in complexity.

The caller applies the linear fit's drift first and refines each segment afterwards
(processing.sync); this module works on a 50 ms grid. Cost: O(cues x (offsets + frames)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Ratings of frames outside the audio: as bad as the deepest silence, so a cue is never placed
# past either end when it can be left out instead.
_OUTSIDE = -3.0
_EDGE_S = 0.5
_FRESH, _SAME, _SPLIT, _SHORTER = 0, 1, 2, 3


@dataclass(frozen=True)
class Run:
    """Cues `first`..`last` (inclusive, none left out between) at one offset, in grid steps."""

    first: int
    last: int
    offset: int


def place_cues(
    activity: FloatArray,
    starts: IntArray,
    ends: IntArray,
    *,
    offsets: tuple[int, int],
    leave_out_cost: FloatArray,
    split_penalty: float,
    step_s: float,
    min_run: int = 1,
) -> list[Run]:
    """The runs of placed cues that maximise rating - penalties; cues in no run are left out.

    `activity` is per grid step; cue i spans grid steps [starts[i], ends[i]) before its offset;
    an offset is in [offsets[0], offsets[1]]. Ratings are in activity x seconds (`step_s` per
    step), the unit of `leave_out_cost` (per cue) and `split_penalty` (per new run after the
    first). Every run holds at least `min_run` cues: a stretch of a programme is never one
    cue, and a lone cue can always find some loud second (an ad's last) that suits it better
    than its own speech under noise.
    """
    n = len(starts)
    lo, hi = offsets
    ks = np.arange(lo, hi + 1)
    csum = np.concatenate([[0.0], np.cumsum(activity)])
    # Audio times at which a placed cue can end: t = ends[i] + k.
    t_lo = int(ends.min()) + lo
    t_hi = int(ends.max()) + hi
    ends_at = np.full(t_hi - t_lo + 1, -np.inf)  # best chain whose last run ends at t
    # runs[j]: best chain whose current run holds j + 1 cues (the last: min_run or more),
    # its last cue the previous one, at offset k.
    runs = [np.full(ks.size, -np.inf) for _ in range(min_run)]
    left_out = 0.0  # the cost of leaving out every cue so far
    steps: list[_Step] = []
    # Up to _EDGE_S of the pause on either side of a cue (half the pause, when shorter)
    # should be quiet: a cue matched to its speech starts at an onset and ends at a release.
    edge = round(_EDGE_S / step_s)
    pauses = np.maximum(starts[1:] - ends[:-1], 0) // 2
    before = np.minimum(np.concatenate([[edge], pauses]), edge)
    after = np.minimum(np.concatenate([pauses, [edge]]), edge)
    for i in range(n):
        s, e = int(starts[i]), int(ends[i])
        rating = (
            _covered(csum, s + ks, e + ks)
            + _covered(csum, s - before[i] + ks, s + ks, sign=-1.0, outside=0.0)
            + _covered(csum, e + ks, e + after[i] + ks, sign=-1.0, outside=0.0)
        ) * step_s
        # A new run: after any chain whose last cue ends by this cue's start (plus the
        # penalty), or as the first run (after leaving every earlier cue out).
        best_so_far, record = _prefix_best(ends_at, s + lo - t_lo, ks.size)
        ok = s + ks - t_lo >= 0
        split = np.where(ok, best_so_far - split_penalty, -np.inf)
        fresh = -left_out
        start = np.maximum(split, fresh)
        start_how = np.where(start == split, _SPLIT, _FRESH).astype(np.int8)
        longer = runs[-1] if min_run == 1 else np.maximum(runs[-2], runs[-1])
        long_how = (
            np.where(longer >= start, _SAME, start_how)
            if min_run == 1
            else np.where(runs[-1] >= runs[-2], _SAME, _SHORTER)
        ).astype(np.int8)
        if min_run == 1:
            longer = np.maximum(longer, start)
        new = [rating + start, *(rating + r for r in runs[:-2]), rating + longer][-min_run:]
        # Chains that leave this cue out pay for it; long enough runs may now end here.
        ends_at -= leave_out_cost[i]
        left_out += float(leave_out_cost[i])
        window = ends_at[e + lo - t_lo : e + hi - t_lo + 1]
        wins = new[-1] > window
        window[wins] = new[-1][wins]
        came_from = np.where(ok, record + t_lo, -1).astype(np.int32)
        steps.append(_Step(start_how, long_how, came_from, wins))
        runs = new
    return _trace(ends_at, left_out, ends, lo, t_lo, steps, min_run)


@dataclass(frozen=True)
class _Step:
    """One cue's decisions, per offset: how a run started here, how the longest state was
    reached, a split's previous end, and whether ending a run here won `ends_at`."""

    start_how: npt.NDArray[np.int8]
    long_how: npt.NDArray[np.int8]
    came_from: npt.NDArray[np.int32]
    placed: npt.NDArray[np.bool_]


def _prefix_best(
    values: FloatArray, first: int, count: int
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """For positions first..first + count - 1 (clipped to `values`): the maximum of `values`
    up to and including it, and where it is. Everything before `first` is one maximum, so the
    running part costs `count`, not the whole timeline."""
    n = values.size
    pos = np.clip(np.arange(first, first + count), 0, n - 1)
    lo, hi = int(pos[0]), int(pos[-1])
    window = values[lo : hi + 1]
    if lo > 0:
        head = int(np.argmax(values[:lo]))
        window = np.concatenate([[values[head]], window])
        index = np.concatenate([[head], np.arange(lo, hi + 1)])
    else:
        index = np.arange(lo, hi + 1)
    best = np.maximum.accumulate(window)
    where = index[np.maximum.accumulate(np.where(window >= best, np.arange(window.size), 0))]
    shift = 1 if lo > 0 else 0
    return best[pos - lo + shift], where[pos - lo + shift]


def _covered(
    csum: FloatArray,
    a: IntArray,
    b: IntArray,
    *,
    sign: float = 1.0,
    outside: float = _OUTSIDE,
) -> FloatArray:
    """`sign` x activity summed over grid steps [a, b), for each pair; steps outside the audio
    count `outside` each, whatever the sign (a cue is never placed there for free)."""
    frames = csum.size - 1
    a_in, b_in = np.clip(a, 0, frames), np.clip(b, 0, frames)
    covered: FloatArray = sign * (csum[b_in] - csum[a_in]) + outside * ((b - a) - (b_in - a_in))
    return covered


def _trace(
    ends_at: FloatArray,
    left_out: float,
    ends: IntArray,
    lo: int,
    t_lo: int,
    steps: Sequence[_Step],
    min_run: int,
) -> list[Run]:
    """Walk the decisions back from the best final state into runs, first cue first."""
    if ends_at.size == 0 or float(ends_at.max()) <= -left_out:
        return []  # leaving every cue out beats any placement

    def last_placed(i: int, t: int) -> tuple[int, int] | None:
        """The cue whose run ends at `t` in the chain held at step i, and its offset."""
        while i >= 0:
            k = t - int(ends[i])
            if 0 <= k - lo < steps[i].placed.size and steps[i].placed[k - lo]:
                return i, k
            i -= 1
        return None

    runs: list[Run] = []
    found = last_placed(len(ends) - 1, int(np.argmax(ends_at)) + t_lo)
    while found is not None:
        i, k = found
        last = i
        how = steps[i].long_how[k - lo]
        while how == _SAME:  # the run was already long at i - 1
            i -= 1
            how = steps[i].long_how[k - lo]
        if how == _SHORTER:  # ... it was min_run - 1 cues long at i - 1: it starts there
            i -= min_run - 1
            how = steps[i].start_how[k - lo]
        runs.append(Run(i, last, k))
        if how == _FRESH:
            break
        found = last_placed(i - 1, int(steps[i].came_from[k - lo]))
    return runs[::-1]
