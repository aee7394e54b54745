"""Decoding with PyAV: audio as float arrays, video as small frames with timestamps."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


class MediaError(Exception):
    """The file cannot be decoded (corrupt, or no stream of the wanted kind)."""


def decode_audio(path: Path, rate: int = 8_000, channels: int = 1) -> FloatArray:
    """Decode the first audio stream of `path` (audio or video) to float32 in [-1, 1].

    Returns shape (channels, samples). Downmixing and resampling are done by libswresample.
    """
    layout = "mono" if channels == 1 else "stereo"
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaError(f"{path.name} has no audio stream")
            stream = container.streams.audio[0]
            # Packed float, gathered as bytes: per-frame numpy conversions cost more than
            # the decoding itself for PCM sources (thousands of small frames).
            resampler = av.AudioResampler(format="flt", layout=layout, rate=rate)
            buf = bytearray()
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    buf += bytes(out.planes[0])[: out.samples * 4 * channels]
            for out in resampler.resample(None):
                buf += bytes(out.planes[0])[: out.samples * 4 * channels]
    except av.FFmpegError as exc:
        raise MediaError(f"cannot decode {path.name}: {exc}") from exc
    samples = np.frombuffer(bytes(buf), dtype=np.float32)
    return samples.reshape(-1, channels).T.copy()


def native_peaks(path: Path, limit_s: float | None = None) -> tuple[int, int, float]:
    """Count samples at full scale in the source's own sample format (before resampling).

    Returns (clipped_samples, total_samples, peak) over all channels, peak in [0, 1].
    Clipping shows as samples at (or within 0.1 % of) full scale; resampling would smear it,
    so this reads the codec's own output.
    """
    clipped = 0
    total = 0
    peak = 0.0
    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise MediaError(f"{path.name} has no audio stream")
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            if limit_s is not None and frame.time is not None and frame.time > limit_s:
                break
            data = frame.to_ndarray()
            bits = data.dtype.itemsize * 8
            if data.dtype.kind == "i":
                full = float(2 ** (bits - 1) - 1)
                ratio = np.abs(data.astype(np.float32)) / full
            elif data.dtype.kind == "u":
                mid = float(2 ** (bits - 1))
                ratio = np.abs(data.astype(np.float32) - mid) / mid
            else:
                ratio = np.abs(data.astype(np.float32))
            clipped += int(np.count_nonzero(ratio >= 0.999))
            total += int(data.size)
            if data.size:
                peak = max(peak, float(ratio.max()))
    return clipped, total, min(peak, 1.0)


@dataclass(frozen=True)
class VideoFrame:
    """A decoded frame: its time, a small grey thumbnail for comparison, and the frame."""

    time_s: float
    grey: npt.NDArray[np.uint8]
    frame: av.VideoFrame


def iter_video_frames(
    path: Path, max_fps: float = 10.0, thumb: tuple[int, int] = (64, 36)
) -> Iterator[VideoFrame]:
    """Yield frames at most `max_fps` per second, each with a small greyscale thumbnail."""
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        raise MediaError(f"cannot open {path.name}: {exc}") from exc
    with container:
        if not container.streams.video:
            raise MediaError(f"{path.name} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        next_time = -1.0
        step = 1.0 / max_fps
        try:
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else 0.0
                if t + 1e-6 < next_time:
                    continue
                next_time = t + step
                small = frame.reformat(width=thumb[0], height=thumb[1], format="gray")
                grey = small.to_ndarray()
                yield VideoFrame(time_s=t, grey=grey.astype(np.uint8, copy=False), frame=frame)
        except av.FFmpegError as exc:
            raise MediaError(f"cannot decode {path.name}: {exc}") from exc
