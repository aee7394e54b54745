"""Captions from another cut: which cues go together, at which offset, and which have no speech.

A broadcast cut has ad breaks the streaming file lacks, or the reverse; the captions of one on
the speech of the other need an offset per stretch, not one for the whole file. This is the
dynamic programme alass formulates (rate every cue at every offset; pay a penalty per change of
offset), with three changes:

- **Signed ratings from the speech detector's confidence.** A cue's rating at an offset is the
  speech activity it covers (zero-mean, unit-variance: positive on speech, negative on silence
  or music the detectors doubt), not alass's non-negative overlap; a cue over silence costs.
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
_FRESH, _SAME, _SPLIT = 0, 1, 2


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
) -> list[Run]:
    """The runs of placed cues that maximise rating - penalties; cues in no run are left out.

    `activity` is per grid step; cue i spans grid steps [starts[i], ends[i]) before its offset;
    an offset is in [offsets[0], offsets[1]]. Ratings are in activity x seconds (`step_s` per
    step), the unit of `leave_out_cost` (per cue) and `split_penalty` (per new run after the
    first).
    """
    n = len(starts)
    lo, hi = offsets
    ks = np.arange(lo, hi + 1)
    frames = activity.size
    csum = np.concatenate([[0.0], np.cumsum(activity)])
    # Audio times at which a placed cue can end: t = ends[i] + k.
    t_lo = int(ends.min()) + lo
    t_hi = int(ends.max()) + hi
    ends_at = np.full(t_hi - t_lo + 1, -np.inf)  # best chain whose last placed cue ends at t
    same = np.full(ks.size, -np.inf)  # best chain with the previous cue placed at offset k
    left_out = 0.0  # the cost of leaving out every cue so far
    choice: list[npt.NDArray[np.int8]] = []
    came_from: list[npt.NDArray[np.int64]] = []  # a split's previous end t, per offset
    placed: list[npt.NDArray[np.bool_]] = []  # did placing cue i win ends_at[ends[i] + k]?
    for i in range(n):
        s, e = int(starts[i]), int(ends[i])
        a = np.clip(s + ks, 0, frames)
        b = np.clip(e + ks, 0, frames)
        rating = (csum[b] - csum[a] + _OUTSIDE * ((e - s) - (b - a))) * step_s
        # A split: any chain whose last placed cue ends by this cue's start, plus the penalty.
        best_so_far = np.maximum.accumulate(ends_at)
        record = np.maximum.accumulate(
            np.where(ends_at >= best_so_far, np.arange(ends_at.size), -1)
        )
        at = s + ks - t_lo
        ok = at >= 0
        at_c = np.clip(at, 0, ends_at.size - 1)
        split = np.where(ok, best_so_far[at_c] - split_penalty, -np.inf)
        fresh = -left_out
        prev = np.maximum(np.maximum(same, split), fresh)
        how = np.where(prev == same, _SAME, np.where(prev == split, _SPLIT, _FRESH)).astype(np.int8)
        here = rating + prev
        choice.append(how)
        came_from.append(np.where(ok, record[at_c] + t_lo, -1))
        # Chains that leave this cue out pay for it; chains that place it may now end here.
        ends_at -= leave_out_cost[i]
        left_out += float(leave_out_cost[i])
        window = ends_at[e + lo - t_lo : e + hi - t_lo + 1]
        wins = here > window
        window[wins] = here[wins]
        placed.append(wins)
        same = here
    return _trace(ends_at, left_out, ends, lo, t_lo, choice, came_from, placed)


def _trace(
    ends_at: FloatArray,
    left_out: float,
    ends: IntArray,
    lo: int,
    t_lo: int,
    choice: Sequence[npt.NDArray[np.int8]],
    came_from: Sequence[npt.NDArray[np.int64]],
    placed: Sequence[npt.NDArray[np.bool_]],
) -> list[Run]:
    """Walk the decisions back from the best final state into runs, first cue first."""
    if ends_at.size == 0 or float(ends_at.max()) <= -left_out:
        return []  # leaving every cue out beats any placement

    def last_placed(i: int, t: int) -> tuple[int, int] | None:
        """The cue whose placement ends at `t` in the chain held at step i, and its offset."""
        while i >= 0:
            k = t - int(ends[i])
            if 0 <= k - lo < placed[i].size and placed[i][k - lo]:
                return i, k
            i -= 1
        return None

    runs: list[Run] = []
    found = last_placed(len(ends) - 1, int(np.argmax(ends_at)) + t_lo)
    while found is not None:
        i, k = found
        last = i
        while choice[i][k - lo] == _SAME:
            i -= 1
        runs.append(Run(i, last, k))
        if choice[i][k - lo] == _FRESH:
            break
        found = last_placed(i - 1, int(came_from[i][k - lo]))
    return runs[::-1]
