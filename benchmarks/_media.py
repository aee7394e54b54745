"""Generated test media with known truth: espeak-ng speech, a music bed, noise, captions.

Shared by tests/processing and benchmarks/alignment_benchmark.py. Everything is deterministic
for a given seed and cached on disk (generation is the slow part, not alignment). One module
of about 360 lines on purpose: each clip's truth (speech timing, cue boundaries, shifts) is
built from the same generated speech, and splitting it would pass that truth across files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pysubs2

RATE = 22_050  # espeak-ng's native rate: no resampling of the speech.

_WORDS = [
    "the",
    "a",
    "river",
    "city",
    "morning",
    "light",
    "engineer",
    "data",
    "model",
    "signal",
    "table",
    "window",
    "quiet",
    "station",
    "north",
    "garden",
    "market",
    "paper",
    "music",
    "evening",
    "teacher",
    "student",
    "system",
    "network",
    "number",
    "simple",
    "careful",
    "bright",
    "yellow",
    "orange",
    "silver",
    "heavy",
    "little",
    "open",
    "early",
    "later",
    "always",
    "never",
    "often",
    "walks",
    "reads",
    "builds",
    "carries",
    "finds",
    "measures",
    "checks",
    "writes",
    "opens",
    "moves",
    "sends",
    "keeps",
    "watches",
    "under",
    "over",
    "between",
    "across",
    "behind",
    "before",
    "after",
    "during",
    "through",
    "around",
    "with",
    "without",
    "seven",
    "twelve",
    "forty",
    "hundred",
    "second",
    "minute",
    "hour",
    "weekly",
    "yearly",
    "small",
    "large",
    "ancient",
    "modern",
    "pipeline",
    "caption",
    "speech",
    "image",
    "video",
    "audio",
    "frame",
    "camera",
    "sensor",
    "report",
    "summary",
    "question",
    "answer",
    "museum",
    "harbour",
    "valley",
    "mountain",
    "forest",
    "desert",
    "island",
    "bridge",
    "tunnel",
    "library",
]


@dataclass(frozen=True)
class TruthCue:
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class Clip:
    name: str
    audio: Path
    duration_s: float
    cues: list[TruthCue]


def _sentence(rng: np.random.Generator) -> str:
    n = int(rng.integers(4, 13))
    words = [str(w) for w in rng.choice(_WORDS, size=n)]
    return " ".join(words).capitalize() + "."


def _speak(text: str, speed: int, pitch: int, tmp: Path) -> npt.NDArray[np.float32]:
    out = tmp / "utt.wav"
    subprocess.run(
        ["espeak-ng", "-s", str(speed), "-p", str(pitch), "-w", str(out), text],
        check=True,
        capture_output=True,
    )
    samples = read_wav(out)
    # Trim leading/trailing silence so the cue boundaries are the speech boundaries.
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    if loud.size == 0:
        return samples[:0]
    return samples[loud[0] : loud[-1] + 1]


def read_wav(path: Path) -> npt.NDArray[np.float32]:
    with wave.open(str(path), "rb") as w:
        raw = w.readframes(w.getnframes())
        data = np.frombuffer(raw, dtype=np.int16).astype(np.float32) / 32768.0
        if w.getnchannels() > 1:
            data = data.reshape(-1, w.getnchannels()).mean(axis=1)
    return data


def write_wav(path: Path, samples: npt.NDArray[np.float32], rate: int = RATE) -> None:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def music_bed(n: int, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """A rhythmic music bed: plucked melody with harmonics, a sustained pad, kick and hats."""
    t_beat = 60.0 / 104.0
    beat_n = int(t_beat * RATE)
    out = np.zeros(n, dtype=np.float32)
    scale = 220.0 * 2 ** (np.array([0, 2, 4, 7, 9, 12, 14, 16]) / 12.0)
    tt = np.arange(beat_n) / RATE
    env = np.exp(-tt * 5.0).astype(np.float32)
    kick = (np.sin(2 * np.pi * (50 + 80 * np.exp(-tt * 30)) * tt) * np.exp(-tt * 12)).astype(
        np.float32
    )
    pad_chord = [0, 4, 7]
    for i, pos in enumerate(range(0, n - beat_n, beat_n)):
        f = float(rng.choice(scale))
        note = sum(np.sin(2 * np.pi * f * k * tt) / k for k in range(1, 6)) * env
        out[pos : pos + beat_n] += 0.5 * note.astype(np.float32)
        out[pos : pos + beat_n] += 0.6 * kick
        hat_at = pos + beat_n // 2
        hat_len = min(int(0.04 * RATE), n - hat_at)
        out[hat_at : hat_at + hat_len] += 0.15 * rng.standard_normal(hat_len).astype(np.float32)
        if i % 4 == 0:
            bar = min(4 * beat_n, n - pos)
            root = float(rng.choice(scale[:4])) / 2
            tb = np.arange(bar) / RATE
            pad = np.asarray(sum(np.sin(2 * np.pi * root * 2 ** (s / 12) * tb) for s in pad_chord))
            out[pos : pos + bar] += 0.2 * pad.astype(np.float32)
    return out


def pink_noise(n: int, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.arange(spec.size, dtype=np.float64)
    freqs[0] = 1.0
    pink = np.fft.irfft(spec / np.sqrt(freqs), n)
    return (pink / (np.std(pink) + 1e-12)).astype(np.float32)


def generate_clip(
    cache: Path,
    duration_s: float,
    *,
    seed: int,
    noisy: bool,
    lead_in_s: float = 1.0,
    music_db: float = -6.0,
    noise_db: float = -15.0,
) -> Clip:
    """Speech sentences separated by pauses, optionally under a music bed and pink noise.

    `music_db` / `noise_db` are the bed's RMS relative to the speech's RMS while speaking.
    """
    name = f"{'noisy' if noisy else 'clean'}-{int(duration_s)}s-seed{seed}"
    folder = cache / name
    audio = folder / "audio.wav"
    truth_file = folder / "truth.json"
    if audio.exists() and truth_file.exists():
        data = json.loads(truth_file.read_text())
        cached = [TruthCue(**c) for c in data["cues"]]
        return Clip(name, audio, data["duration_s"], cached)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_total = int(duration_s * RATE)
    speech = np.zeros(n_total, dtype=np.float32)
    cues: list[TruthCue] = []
    pos = int(lead_in_s * RATE)
    tmp = folder / "tmp"
    tmp.mkdir(exist_ok=True)
    while True:
        text = _sentence(rng)
        utt = _speak(text, int(rng.integers(150, 190)), int(rng.integers(35, 65)), tmp)
        if pos + utt.size >= n_total - RATE // 2:
            break
        speech[pos : pos + utt.size] = utt
        cues.append(TruthCue(pos / RATE, (pos + utt.size) / RATE, text))
        pos += utt.size + int(rng.uniform(0.4, 2.5) * RATE)
    shutil.rmtree(tmp)
    mix = speech.copy()
    if noisy:
        active = np.concatenate([speech[int(c.start_s * RATE) : int(c.end_s * RATE)] for c in cues])
        speech_rms = float(np.sqrt(np.mean(active**2)))
        bed = music_bed(n_total, rng)
        bed *= speech_rms * 10 ** (music_db / 20) / (float(np.sqrt(np.mean(bed**2))) + 1e-12)
        noise = pink_noise(n_total, rng) * speech_rms * 10 ** (noise_db / 20)
        mix = mix + bed + noise
    peak = float(np.max(np.abs(mix)))
    if peak > 0.95:
        mix *= 0.95 / peak
    write_wav(audio, mix)
    truth_file.write_text(
        json.dumps({"duration_s": duration_s, "cues": [c.__dict__ for c in cues]})
    )
    return Clip(name, audio, duration_s, cues)


def _stamp(t: float, sep: str) -> str:
    ms = round(t * 1000)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def distorted_cues(cues: list[TruthCue], offset_s: float, drift: float) -> list[TruthCue]:
    """Captions as a badly timed file would have them: t -> drift * t + offset_s.

    Cues pushed before zero are dropped (a captions file cannot hold them); the returned
    list keeps the text, so each kept cue is matched to its truth by position.
    """
    out = []
    for c in cues:
        start = drift * c.start_s + offset_s
        if start < 0:
            continue
        out.append(TruthCue(start, drift * c.end_s + offset_s, c.text))
    return out


def write_captions(path: Path, cues: list[TruthCue]) -> Path:
    """Write cues as WebVTT (.vtt) or SRT (.srt), by suffix."""
    lines: list[str] = []
    if path.suffix == ".vtt":
        lines.append("WEBVTT\n")
        for c in cues:
            lines.append(f"{_stamp(c.start_s, '.')} --> {_stamp(c.end_s, '.')}\n{c.text}\n")
    else:
        for i, c in enumerate(cues, 1):
            lines.append(f"{i}\n{_stamp(c.start_s, ',')} --> {_stamp(c.end_s, ',')}\n{c.text}\n")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def kept_truth(cues: list[TruthCue], offset_s: float, drift: float) -> list[TruthCue]:
    """The truth cues that survive `distorted_cues` (same order, same length)."""
    return [c for c in cues if drift * c.start_s + offset_s >= 0]


def start_errors(corrected: Path, truth: list[TruthCue]) -> tuple[list[float], int]:
    """|corrected start - true start| per cue, matched by text; and how many cues are missing.

    A tool may drop cues (e.g. ones it moved before zero); they count as missing, not as
    errors, so the caller should look at both.
    """
    subs = pysubs2.load(str(corrected))
    by_text: dict[str, list[float]] = {}
    for e in subs:
        if not e.is_comment:
            by_text.setdefault(e.plaintext.strip(), []).append(e.start / 1000.0)
    errors: list[float] = []
    missing = 0
    for t in truth:
        starts = by_text.get(t.text)
        if not starts:
            missing += 1
            continue
        errors.append(abs(starts.pop(0) - t.start_s))
    return errors, missing


def mean_start_error(corrected: Path, truth: list[TruthCue]) -> float:
    """Mean |corrected start - true start| in seconds; every truth cue must be present."""
    errors, missing = start_errors(corrected, truth)
    if missing:
        raise ValueError(f"{corrected.name}: {missing} of {len(truth)} cues missing")
    return float(np.mean(errors))


def make_video(
    path: Path, audio: Path | None, scene_lengths_s: list[float], size: str = "320x240"
) -> Path:
    """An mp4 whose scenes are distinct ffmpeg test patterns, muxed with `audio` if given."""
    sources = ["testsrc", "smptebars", "rgbtestsrc", "mandelbrot", "testsrc2", "pal75bars"]
    args = ["ffmpeg", "-y", "-loglevel", "error"]
    for i, length in enumerate(scene_lengths_s):
        src = sources[i % len(sources)]
        args += ["-f", "lavfi", "-i", f"{src}=size={size}:rate=25:duration={length}"]
    if audio is not None:
        args += ["-i", str(audio)]
    n = len(scene_lengths_s)
    filt = "".join(f"[{i}:v]" for i in range(n)) + f"concat=n={n}:v=1:a=0[v]"
    args += ["-filter_complex", filt, "-map", "[v]"]
    if audio is not None:
        args += ["-map", f"{n}:a", "-c:a", "aac", "-shortest"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(args, check=True, capture_output=True)
    return path
