"""The piecewise dynamic programme on synthetic speech activity (exact, and fast): it finds
the stretches and their offsets, and whatever the input, its runs keep order and never
overlap."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from processing.piecewise import place_cues

STEP_S = 0.05
SPLIT_PENALTY = 2.0


@st.composite
def programmes(draw: st.DrawFn) -> tuple[list[int], list[int], list[int], list[int]]:
    """A programme's cues (grid steps) and the offset each cue has in the audio relative to
    the captions: cut points at least 5 cues apart, each shifting what follows by 100-400
    steps either way (an inserted break, or one only the captions have)."""
    n = draw(st.integers(10, 40))
    durations = draw(st.lists(st.integers(20, 60), min_size=n, max_size=n))
    gaps = draw(st.lists(st.integers(4, 20), min_size=n, max_size=n))
    cuts = sorted(draw(st.sets(st.integers(5, n - 5), max_size=2)))
    if len(cuts) == 2 and cuts[1] - cuts[0] < 5:
        cuts = cuts[:1]
    shifts = draw(
        st.lists(
            st.integers(100, 400).map(lambda v: v) | st.integers(-400, -100),
            min_size=len(cuts),
            max_size=len(cuts),
        )
    )
    starts, ends, offsets = [], [], []
    t, captions_extra, audio_extra = 50, 0, 0
    for i in range(n):
        for cut, shift in zip(cuts, shifts, strict=True):
            if i == cut:
                if shift > 0:
                    audio_extra += shift  # the audio has a stretch the captions lack
                else:
                    captions_extra -= shift  # the captions have a stretch the audio lacks
        t += gaps[i]
        starts.append(t + captions_extra)
        ends.append(t + durations[i] + captions_extra)
        offsets.append(audio_extra - captions_extra)
        t += durations[i]
    return starts, ends, offsets, [0, *cuts, n]


def _activity(starts: list[int], ends: list[int], offsets: list[int]) -> np.ndarray:
    length = max(e + o for e, o in zip(ends, offsets, strict=True)) + 50
    activity = np.full(length, -1.0)
    for s, e, o in zip(starts, ends, offsets, strict=True):
        activity[s + o : e + o] = 1.0
    return activity


@settings(max_examples=60, deadline=None)
@given(programmes())
def test_every_stretch_is_found_with_its_offset(programme) -> None:
    starts, ends, offsets, bounds = programme
    activity = _activity(starts, ends, offsets)

    runs = place_cues(
        activity,
        np.array(starts),
        np.array(ends),
        offsets=(-activity.size, activity.size),
        leave_out_cost=np.full(len(starts), 0.5),
        split_penalty=SPLIT_PENALTY,
        step_s=STEP_S,
        min_run=3,
    )

    assert [(r.first, r.last, r.offset) for r in runs] == [
        (a, b - 1, offsets[a]) for a, b in itertools.pairwise(bounds)
    ]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(1, 40)), min_size=1, max_size=30),
    st.integers(0, 2**32 - 1),
    st.floats(0.0, 5.0),
    st.floats(0.0, 3.0),
    st.integers(1, 4),
)
def test_runs_keep_cue_order_and_never_overlap(cues, seed, penalty, leave_out, min_run) -> None:
    # Given any cues (gap, duration) and any activity
    starts, ends, t = [], [], 0
    for gap, duration in cues:
        t += gap
        starts.append(t)
        ends.append(t + duration)
        t += duration
    activity = np.random.default_rng(seed).normal(size=t + 200)

    runs = place_cues(
        activity,
        np.array(starts),
        np.array(ends),
        offsets=(-100, 200),
        leave_out_cost=np.full(len(starts), leave_out),
        split_penalty=penalty,
        step_s=STEP_S,
        min_run=min_run,
    )

    # Then runs hold at least min_run consecutive cues in order, at allowed offsets, and
    # each run starts no earlier than the previous one's last cue ends
    for run in runs:
        assert run.last - run.first + 1 >= min_run
        assert -100 <= run.offset <= 200
    for before, after in itertools.pairwise(runs):
        assert before.last < after.first
        assert ends[before.last] + before.offset <= starts[after.first] + after.offset
