"""Frame-level speech activity (100 frames a second) from decoded audio.

Two detectors, combined:
- webrtcvad (the WebRTC voice-activity detector), exact on clean speech but fooled by music;
- band-energy excess: per band between 300 Hz and 4 kHz, how far the frame's energy rises
  above that band's running background level. Speech is broadband and starts and stops with
  the sentence; a music bed or steady noise sets the background and mostly cancels out.
The sum of their z-scores is the activity the aligner correlates with the caption cues.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import webrtcvad

FRAME_S = 0.01
RATE = 8_000  # speech bands end at 4 kHz: 8 kHz sampling keeps them and halves the work
_HOP = int(RATE * FRAME_S)
_WIN = 200  # 25 ms
_NFFT = 256
_VAD_FRAME = 3  # webrtcvad judges 30 ms at a time (three of our frames)

FloatArray = npt.NDArray[np.float64]


def _frames(x: npt.NDArray[np.float32], hop: int, win: int) -> npt.NDArray[np.float32]:
    n = 1 + max(0, (x.size - win) // hop)
    if x.size < win:
        x = np.pad(x, (0, win - x.size))
    view = np.lib.stride_tricks.sliding_window_view(x, win)[::hop]
    return view[:n]


def band_energies(x: npt.NDArray[np.float32], bands: int = 24) -> FloatArray:
    """Log energy (dB) per frame and band, bands spaced on the mel scale over 300-4000 Hz.

    Frame i is centred on i * FRAME_S (the signal is padded by half a window).
    """
    x = np.pad(x, (_WIN // 2, 0))
    frames = _frames(x, _HOP, _WIN) * np.hanning(_WIN).astype(np.float32)
    spec = np.fft.rfft(frames, n=_NFFT, axis=1)
    power = (spec.real**2 + spec.imag**2).astype(np.float32)
    freqs = np.fft.rfftfreq(_NFFT, 1 / RATE)
    mel = 2595 * np.log10(1 + freqs / 700)
    edges = np.linspace(2595 * np.log10(1 + 300 / 700), 2595 * np.log10(1 + 4000 / 700), bands + 1)
    idx = np.searchsorted(edges, mel) - 1
    membership = np.zeros((freqs.size, bands), dtype=np.float32)
    inside = (idx >= 0) & (idx < bands)
    membership[np.flatnonzero(inside), idx[inside]] = 1.0
    out = power @ membership
    return 10 * np.log10(out.astype(np.float64) + 1e-10)


def _running_floor(
    e: FloatArray, block: int = 20, span_blocks: int = 15, q: float = 20
) -> FloatArray:
    """A running low percentile over about `block * span_blocks` frames, per band."""
    n, bands = e.shape
    nb = -(-n // block)
    padded = np.pad(e, ((0, nb * block - n), (0, 0)), mode="edge")
    blocks = padded.reshape(nb, block, bands).mean(axis=1)
    half = span_blocks // 2
    ext = np.pad(blocks, ((half, half), (0, 0)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(ext, 2 * half + 1, axis=0)
    floor_blocks = np.percentile(windows, q, axis=2)
    return np.repeat(floor_blocks, block, axis=0)[:n]


def energy_excess(x: npt.NDArray[np.float32]) -> FloatArray:
    """Per frame: mean over bands of the dB rise above the band's running floor (>= 0)."""
    e = band_energies(x)
    floor = np.maximum(_running_floor(e), e.max() - 80.0)
    excess: FloatArray = np.clip(e - floor - 3.0, 0.0, 30.0).mean(axis=1)
    return excess


def webrtc_activity(x: npt.NDArray[np.float32], mode: int = 3) -> FloatArray:
    """webrtcvad's decision per 10 ms frame (0 or 1)."""
    vad = webrtcvad.Vad(mode)
    pcm = (np.clip(x, -1.0, 1.0) * 32767).astype("<i2")
    hop = _HOP * _VAD_FRAME
    n = pcm.size // hop
    raw = pcm[: n * hop].tobytes()
    step = hop * 2
    out = np.fromiter(
        (vad.is_speech(raw[i * step : (i + 1) * step], RATE) for i in range(n)),
        dtype=np.float64,
        count=n,
    )
    return np.repeat(out, _VAD_FRAME)


def _smooth(v: FloatArray, width: int) -> FloatArray:
    if width <= 1 or v.size == 0:
        return v
    kernel = np.ones(width) / width
    return np.convolve(v, kernel, mode="same")


def _z(v: FloatArray) -> FloatArray:
    sd = float(v.std())
    return (v - v.mean()) / sd if sd > 1e-9 else np.zeros_like(v)


@dataclass(frozen=True)
class SpeechActivity:
    """Per 10 ms frame, zero mean and unit variance (or all zeros when there is no signal).

    `robust` adds webrtcvad to the band-energy excess: it finds speech reliably and guides the
    coarse search. `precise` is the band-energy excess alone: its edges follow the speech
    envelope (webrtcvad's decisions lag onsets by a few milliseconds of hangover), so the fine
    search uses it.
    """

    robust: FloatArray
    precise: FloatArray

    @property
    def frames(self) -> int:
        return int(self.robust.size)


def speech_activity(x: npt.NDArray[np.float32]) -> SpeechActivity:
    """Speech activity of 8 kHz mono samples `x`."""
    precise = _z(_smooth(energy_excess(x), 5))
    vad = _smooth(webrtc_activity(x), 5)
    n = min(precise.size, vad.size)
    return SpeechActivity(robust=_z(precise[:n] + _z(vad[:n])), precise=precise[:n])
