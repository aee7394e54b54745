"""Media quality: loudness, silence and clipping of audio; sharpness and size of images."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from pipeline_contracts.work.alignment import AudioQuality, ImageQuality
from processing.media import decode_audio, native_peaks

_RATE = 16_000
_SEGMENT = _RATE // 10  # 100 ms
_SILENCE_DBFS = -50.0
# ITU-R BS.1770-4 K-weighting, the two biquads as specified for 48 kHz.
_SHELF = (
    [1.53512485958697, -2.69169618940638, 1.19839281085285],
    [1.0, -1.69065929318241, 0.73248077421585],
)
_HIGHPASS = ([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621])


def _k_weight_power(freqs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """|H(f)|^2 of the K-weighting filter (the 48 kHz design evaluated at `freqs`)."""
    z = np.exp(-2j * np.pi * freqs / 48_000)
    gain = np.ones_like(z)
    for b, a in (_SHELF, _HIGHPASS):
        gain = gain * (b[0] + b[1] * z + b[2] * z**2) / (a[0] + a[1] * z + a[2] * z**2)
    power: npt.NDArray[np.float64] = np.abs(gain) ** 2
    return power


def integrated_loudness(x: npt.NDArray[np.float32], rate: int = _RATE) -> float | None:
    """Integrated loudness in LUFS of (channels, samples) audio, BS.1770-4 gating.

    The K-weighted mean square of each 100 ms segment is computed in the frequency domain
    (Parseval), and 400 ms blocks with 75 % overlap are four consecutive segments. Returns
    None when every block is below the -70 LUFS absolute gate (silence).
    """
    seg = rate // 10
    n = x.shape[1] // seg
    if n < 4:
        return None
    segs = x[:, : n * seg].reshape(x.shape[0], n, seg).astype(np.float64)
    spec = np.fft.rfft(segs, axis=2)
    weight = _k_weight_power(np.fft.rfftfreq(seg, 1 / rate).astype(np.float64))
    power = np.abs(spec) ** 2 * weight
    # Parseval for a real FFT: interior bins count twice.
    power[..., 1 : (seg + 1) // 2] *= 2
    ms = power.sum(axis=2) / (seg * seg)  # (channels, segments) mean square
    blocks = np.lib.stride_tricks.sliding_window_view(ms, 4, axis=1).mean(axis=2).sum(axis=0)
    with np.errstate(divide="ignore"):
        loud = -0.691 + 10 * np.log10(blocks)
    gated = blocks[loud > -70.0]
    if gated.size == 0:
        return None
    relative = -0.691 + 10 * math.log10(float(gated.mean())) - 10.0
    final = blocks[(loud > -70.0) & (loud > relative)]
    return round(-0.691 + 10 * math.log10(float(final.mean())), 2)


def _db(value: float) -> float:
    return round(20 * math.log10(value), 2) if value > 1e-10 else -200.0


def audio_quality(path: Path) -> AudioQuality:
    """Loudness, level, silence share and clipping share of the first audio stream."""
    x = decode_audio(path, rate=_RATE, channels=2)
    mono = x.mean(axis=0)
    duration = mono.size / _RATE
    n = mono.size // _SEGMENT
    if n:
        seg_rms = np.sqrt(np.mean(mono[: n * _SEGMENT].reshape(n, _SEGMENT) ** 2, axis=1))
        with np.errstate(divide="ignore"):
            silence = float(np.mean(20 * np.log10(seg_rms + 1e-12) < _SILENCE_DBFS))
    else:
        silence = 1.0
    clipped, total, peak = native_peaks(path)
    rms = float(np.sqrt(np.mean(mono.astype(np.float64) ** 2))) if mono.size else 0.0
    return AudioQuality(
        duration_s=round(duration, 3),
        loudness_lufs=integrated_loudness(x),
        rms_dbfs=_db(rms),
        peak_dbfs=_db(peak),
        silence_ratio=round(silence, 4),
        clipping_ratio=round(clipped / total, 6) if total else 0.0,
    )


def sharpness(grey: npt.NDArray[np.float64]) -> float:
    """Variance of the 4-neighbour Laplacian; blur lowers it (0..255 grey scale)."""
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    lap = grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4 * grey[1:-1, 1:-1]
    return round(float(lap.var()), 3)


def image_quality(image: Image.Image | Path, max_edge: int = 4096) -> ImageQuality:
    """Resolution and sharpness (measured on at most `max_edge` pixels a side)."""
    img = Image.open(image) if isinstance(image, Path) else image
    width, height = img.size
    grey = img.convert("L")
    if max(width, height) > max_edge:
        grey.thumbnail((max_edge, max_edge))
    return ImageQuality(
        width=width, height=height, sharpness=sharpness(np.asarray(grey, dtype=np.float64))
    )
