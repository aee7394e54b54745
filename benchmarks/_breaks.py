"""Captions from another cut of the programme (issue #12), built from a generated clip.

A broadcast cut has ad breaks the streaming file lacks, or the reverse, so no single offset
and drift maps the captions onto the speech. Each case here starts from a `Clip` of
`benchmarks._media` (the programme: speech whose cue times are exact) and adds one or two
breaks of 12-30 s, each at the middle of a pause between two cues:

- **inserted**: the break is in the audio only. Its fill is `silence`, an `ad` (a loud music
  bed and pink noise) or a `scene` (speech of another generated script, uncaptioned). Truth:
  every cue after the break is heard `length_s` later than in the programme.
- **removed**: the break is in the captions' timeline only (they were made from the cut that
  has it). Its fill is an `ad` (no cues in it) or a `scene` (cues of another script, for speech
  the audio does not have). Cues after it sit `length_s` later in the captions than in the
  audio; cues inside it have no true time: they are written to the captions file but not scored.

Then the captions' times go through the usual `t -> drift * t + offset_s` and cues pushed
before zero are dropped, as in `_media.distorted_cues`. The truth stays in this module: the
audio and the captions of a case are made from one list of breaks, in one function.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from benchmarks._media import (
    RATE,
    Clip,
    TruthCue,
    generate_clip,
    music_bed,
    pink_noise,
    read_wav,
    write_wav,
)

Direction = Literal["inserted", "removed"]
Fill = Literal["silence", "ad", "scene"]

MIN_BREAK_S = 12.0
MAX_BREAK_S = 30.0
# An ad is as loud as the speech (ads are mixed hot), with noise 10 dB under it.
_AD_MUSIC_DB = 0.0
_AD_NOISE_DB = -10.0
# Cut points are kept away from the ends: the first and last fifth of the cues hold none.
_EDGE_SHARE = 0.2


@dataclass(frozen=True)
class Break:
    direction: Direction
    fill: Fill
    at_s: float  # programme time of the cut: the middle of the pause between two cues
    length_s: float

    @property
    def label(self) -> str:
        return f"{'+' if self.direction == 'inserted' else '-'}{self.fill}{self.length_s:.1f}"


@dataclass(frozen=True)
class CutCase:
    """Audio and captions of one case, and the truth to score a corrected captions file."""

    name: str
    audio: Path
    captions: list[TruthCue]  # as the captions file holds them (after breaks and distortion)
    truth: list[TruthCue]  # true start in the audio, by text, of every cue that has one
    unscored: int  # caption cues without a true time (inside removed stretches)
    breaks: list[Break]
    offset_s: float
    drift: float


def _speech_rms(samples: npt.NDArray[np.float32], cues: list[TruthCue]) -> float:
    spans = [samples[int(c.start_s * RATE) : int(c.end_s * RATE)] for c in cues]
    active = np.concatenate(spans) if spans else samples
    return float(np.sqrt(np.mean(active**2))) or 0.1


def _cut_points(cues: list[TruthCue], count: int, rng: np.random.Generator) -> list[float]:
    """`count` cut points, one in the middle half of each equal share of the inner cues."""
    n = len(cues)
    lo, hi = max(1, int(n * _EDGE_SHARE)), min(n - 1, int(n * (1 - _EDGE_SHARE)))
    if hi - lo < count:
        raise ValueError(f"{n} cues are too few for {count} breaks")
    bounds = np.linspace(lo, hi, count + 1).astype(int)
    points = []
    for a, b in itertools.pairwise(bounds):
        quarter = (b - a) // 4
        i = int(rng.integers(a + quarter, max(a + quarter + 1, b - quarter)))
        points.append((cues[i - 1].end_s + cues[i].start_s) / 2)
    return points


def _scene(
    cache: Path, length_s: float, seed: int, noisy: bool, taken: set[str]
) -> tuple[npt.NDArray[np.float32], list[TruthCue]]:
    """Speech of another script, exactly `length_s` long, and its cues that end inside it.

    Cues whose text the programme also has are left out, so scoring by text cannot pair a
    programme cue with a scene cue.
    """
    clip = generate_clip(cache, math.ceil(length_s) + 1, seed=seed, noisy=noisy)
    samples = read_wav(clip.audio)[: round(length_s * RATE)]
    cues = [c for c in clip.cues if c.end_s <= length_s - 0.1 and c.text not in taken]
    return samples, cues


def _ad(n: int, speech_rms: float, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    bed = music_bed(n, rng)
    bed *= speech_rms * 10 ** (_AD_MUSIC_DB / 20) / (float(np.sqrt(np.mean(bed**2))) + 1e-12)
    ad = bed + pink_noise(n, rng) * speech_rms * 10 ** (_AD_NOISE_DB / 20)
    peak = float(np.max(np.abs(ad)))
    return (ad * (0.95 / peak) if peak > 0.95 else ad).astype(np.float32)


def cut_case(
    cache: Path,
    clip: Clip,
    plan: list[tuple[Direction, Fill]],
    *,
    noisy: bool,
    offset_s: float,
    drift: float,
    rng: np.random.Generator,
    lengths: tuple[float, float] = (MIN_BREAK_S, MAX_BREAK_S),
) -> CutCase:
    """`clip` with the breaks of `plan` (in programme order), its captions distorted too.

    Break lengths (within `lengths`, seconds), cut points, ad music and scene scripts are
    drawn from `rng`.
    """
    points = _cut_points(clip.cues, len(plan), rng)
    breaks = [
        Break(direction, fill, at, round(rng.uniform(*lengths) * RATE) / RATE)
        for (direction, fill), at in zip(plan, points, strict=True)
    ]
    programme = read_wav(clip.audio)
    rms = _speech_rms(programme, clip.cues)
    taken = {c.text for c in clip.cues}
    pieces: list[npt.NDArray[np.float32]] = []
    extra: list[TruthCue] = []  # cues of removed scenes, in captions time before distortion
    done = 0  # programme samples already in `pieces`
    shift_captions = 0.0  # removed stretches so far: how much later the captions are
    for b in breaks:
        n = round(b.length_s * RATE)
        at = round(b.at_s * RATE)
        fill = np.zeros(n, dtype=np.float32)
        scene_cues: list[TruthCue] = []
        if b.fill == "ad" and b.direction == "inserted":
            fill = _ad(n, rms, rng)
        elif b.fill == "scene":
            seed = int(rng.integers(1_000_000, 2_000_000))
            fill, scene_cues = _scene(cache, b.length_s, seed, noisy, taken)
        if b.direction == "inserted":
            pieces += [programme[done:at], fill]
            done = at
        else:
            start = b.at_s + shift_captions
            extra += [TruthCue(start + c.start_s, start + c.end_s, c.text) for c in scene_cues]
            shift_captions += b.length_s
    pieces.append(programme[done:])

    def later(t: float, direction: Direction) -> float:
        return sum(b.length_s for b in breaks if b.direction == direction and b.at_s <= t)

    rows: list[tuple[TruthCue, TruthCue | None]] = []
    for c in clip.cues:
        in_captions, in_audio = later(c.start_s, "removed"), later(c.start_s, "inserted")
        rows.append(
            (
                TruthCue(c.start_s + in_captions, c.end_s + in_captions, c.text),
                TruthCue(c.start_s + in_audio, c.end_s + in_audio, c.text),
            )
        )
    rows += [(c, None) for c in extra]
    rows.sort(key=lambda r: r[0].start_s)
    captions: list[TruthCue] = []
    truth: list[TruthCue] = []
    for written, true in rows:
        start = drift * written.start_s + offset_s
        if start < 0:
            continue
        captions.append(TruthCue(start, drift * written.end_s + offset_s, written.text))
        if true is not None:
            truth.append(true)
    name = f"{'noisy' if noisy else 'clean'} {int(clip.duration_s) // 60}m " + " ".join(
        b.label for b in breaks
    )
    folder = cache / "cuts" / f"{clip.name}-{'_'.join(b.label for b in breaks)}"
    folder.mkdir(parents=True, exist_ok=True)
    audio = folder / "audio.wav"
    write_wav(audio, np.concatenate(pieces))
    return CutCase(
        name=name,
        audio=audio,
        captions=captions,
        truth=truth,
        unscored=len(captions) - len(truth),
        breaks=breaks,
        offset_s=offset_s,
        drift=drift,
    )


def unrelated_case(cache: Path, clip: Clip, *, other_seed: int, noisy: bool) -> CutCase:
    """`clip`'s audio with the captions of another generated script of the same length."""
    other = generate_clip(cache, clip.duration_s, seed=other_seed, noisy=False)
    name = f"{'noisy' if noisy else 'clean'} {int(clip.duration_s) // 60}m unrelated"
    return CutCase(
        name=name,
        audio=clip.audio,
        captions=list(other.cues),
        truth=[],
        unscored=len(other.cues),
        breaks=[],
        offset_s=0.0,
        drift=1.0,
    )
