"""Audio and video probing: do a container's streams decode, how long do they last, and are
they within the limits?

PyAV opens the container, decodes its first packets and reads its streams; the sizes its
header promises are checked against the file first (`container_truncation`). PyAV is
optional at run time: without it the probe falls back to what the header says and records a
warning. Errors are `media_checks.MediaCheckError`, as for every other decode check.
"""

from __future__ import annotations

import importlib
import wave
from pathlib import Path
from types import ModuleType
from typing import Any

from pipeline.config import Limits
from pipeline.domain.container_truncation import truncation
from pipeline.domain.media_checks import MediaCheckError, MediaInfo, short_error
from pipeline_contracts.item import RejectionCode

# Packets demuxed (and decoded) to prove the streams decode; a few frames, not the file.
_PROBE_PACKETS = 48
# Formats whose header states the length (FLAC's STREAMINFO, an MP3's Xing, Info or VBRI
# frame count) without an index of where the data ends: a cut-off copy still claims it all.
_LENGTH_IN_HEADER = frozenset({"flac", "mp3"})
_MP3_LENGTH_TAGS = (b"Xing", b"Info", b"VBRI")
# Seconds a file may end before its header says: frame counts are exact, so only rounding.
_CUT_SHORT_TOLERANCE_S = 1.0


def _optional_module(name: str) -> ModuleType | None:
    """Import an optional decoder lazily; None when the runtime does not ship it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def probe_av(path: Path, media_format: str, expected: str, limits: Limits) -> MediaInfo:
    """Streams, duration and a decode of the first packets; header-only without PyAV."""
    cut_off = truncation(path, media_format)
    if cut_off is not None:
        raise MediaCheckError(
            RejectionCode.CORRUPT_MEDIA,
            f"The {media_format} file is truncated ({cut_off}); upload the complete file.",
        )
    av = _optional_module("av")
    if av is None:
        info = _header_only(path, media_format, expected)
    else:
        info = _probe_with_pyav(av, path, media_format, limits)
    if info.duration_s is not None and info.duration_s > limits.max_media_duration_s:
        raise MediaCheckError(
            RejectionCode.TOO_LONG,
            f"The media lasts {info.duration_s / 3600:.2f} h, over the limit of "
            f"{limits.max_media_duration_s / 3600:.2f} h; split it and upload the parts.",
        )
    return info


def _probe_with_pyav(av: ModuleType, path: Path, media_format: str, limits: Limits) -> MediaInfo:
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except MemoryError:
        raise
    except Exception as error:
        raise MediaCheckError(
            RejectionCode.CORRUPT_MEDIA,
            f"The {media_format} file cannot be opened as media ({short_error(error, path)}); "
            "re-export it and upload it again.",
        ) from error
    try:
        video = [s for s in container.streams.video if not _is_cover_art(s)]
        audio = list(container.streams.audio)
        if not video and not audio:
            raise MediaCheckError(
                RejectionCode.CORRUPT_MEDIA,
                f"The {media_format} file has no audio or video stream; "
                "upload a file with sound or pictures.",
            )
        selected = ([video[0]] if video else []) + ([audio[0]] if audio else [])
        if video:  # before any frame is decoded: one frame of a bomb is the damage
            _check_frame_pixels(video[0], media_format, limits)
        _decode_first_packets(container, selected, media_format)
        if video:  # some containers leave the size to the first decoded frame
            _check_frame_pixels(video[0], media_format, limits)
        duration = _duration(container, selected)
        if audio and duration and media_format in _LENGTH_IN_HEADER:
            _check_not_cut_short(container, audio[0], path, media_format, duration)
        info = MediaInfo(has_audio=bool(audio), has_video=bool(video), duration_s=duration)
        if audio:
            info.sample_rate_hz = int(audio[0].codec_context.sample_rate or 0) or None
        if video:
            info.width = int(video[0].codec_context.width or 0) or None
            info.height = int(video[0].codec_context.height or 0) or None
        if duration is None:
            info.warnings.append("The media duration could not be determined.")
        return info
    except MediaCheckError:
        raise
    except MemoryError:
        raise
    except Exception as error:
        raise MediaCheckError(
            RejectionCode.CORRUPT_MEDIA,
            f"The {media_format} file does not decode ({short_error(error, path)}); "
            "re-export it and upload it again.",
        ) from error
    finally:
        container.close()


def _is_cover_art(stream: Any) -> bool:
    """Album art in mp3/m4a/flac appears as a one-picture video stream."""
    disposition = getattr(stream, "disposition", None)
    try:
        return bool(disposition is not None and disposition & disposition.__class__.attached_pic)
    except (AttributeError, TypeError):
        return False


def _check_frame_pixels(stream: Any, media_format: str, limits: Limits) -> None:
    width = int(stream.codec_context.width or 0)
    height = int(stream.codec_context.height or 0)
    if width * height > limits.max_video_frame_pixels:
        raise MediaCheckError(
            RejectionCode.DECOMPRESSION_BOMB,
            f"The {media_format} video declares {width}x{height} frames, over the limit of "
            f"{limits.max_video_frame_pixels:,} pixels a frame; scale it down and upload it "
            "again.",
        )


def _check_not_cut_short(
    container: Any, stream: Any, path: Path, media_format: str, declared_s: float
) -> None:
    """Seek to where the header says the audio ends and read on to the real end of the file.

    Decoding the first packets cannot see a cut-off FLAC or MP3: their headers state the
    length but hold no index of where the data ends, so a copy cut in half decodes fine,
    claims the whole length, and misleads every duration-based step after intake.
    """
    if media_format == "flac" and container.duration is None:
        return  # STREAMINFO gave no sample count (a streamed encode): nothing was claimed
    if media_format == "mp3" and not _mp3_states_length(path):
        return  # the duration is ffmpeg's estimate from the bitrate, not a claim
    try:
        end = _last_timestamp(container, stream, declared_s)
        if end is None:  # the seek found nothing there: read from the start instead
            end = _last_timestamp(container, stream, 0.0)
    except MemoryError:
        raise
    except Exception:  # an unseekable stream: the decode check above stands
        return
    if end is not None and declared_s - end > _CUT_SHORT_TOLERANCE_S:
        raise MediaCheckError(
            RejectionCode.CORRUPT_MEDIA,
            f"The {media_format} file is truncated (its header declares {declared_s:.1f} s of "
            f"audio, the file holds {end:.1f} s); upload the complete file.",
        )


def _last_timestamp(container: Any, stream: Any, from_s: float) -> float | None:
    """The end of the last packet after seeking to `from_s` (demuxing only, no decoding)."""
    container.seek(int(from_s * 1_000_000), backward=True)  # AV_TIME_BASE
    end = None
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base is not None:
            packet_end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            end = packet_end if end is None else max(end, packet_end)
    return end


def _mp3_states_length(path: Path) -> bool:
    """Whether the first MPEG frame is a Xing, Info or VBRI header (which holds the frame
    count). ffmpeg takes the length from one when present, else estimates it from the
    bitrate, and does not say which; a VBR file without one may be estimated long."""
    with path.open("rb") as reader:
        head = reader.read(10)
        start = 0
        if len(head) == 10 and head[:3] == b"ID3":  # skip the ID3v2 tag (syncsafe size)
            start = 10 + sum((head[6 + i] & 0x7F) << (7 * (3 - i)) for i in range(4))
        reader.seek(start)
        first_frame = reader.read(4096)  # the tag sits in the first frame, after side info
    return any(tag in first_frame for tag in _MP3_LENGTH_TAGS)


def _decode_first_packets(container: Any, streams: list[Any], media_format: str) -> None:
    frames = {stream.index: 0 for stream in streams}
    packets = {stream.index: 0 for stream in streams}
    for count, packet in enumerate(container.demux(*streams)):
        if packet.size:
            packets[packet.stream.index] += 1
            frames[packet.stream.index] += len(packet.decode())
        if count >= _PROBE_PACKETS or all(n >= 2 for n in frames.values()):
            break
    for stream in streams:  # drain decoders that buffer a few packets (B-frames)
        if packets[stream.index] and not frames[stream.index]:
            frames[stream.index] += len(stream.codec_context.decode(None))
    if not any(packets.values()):
        raise MediaCheckError(
            RejectionCode.CORRUPT_MEDIA,
            f"The {media_format} file contains no media data; re-export it and upload it again.",
        )
    for stream in streams:
        if packets[stream.index] and not frames[stream.index]:
            raise MediaCheckError(
                RejectionCode.CORRUPT_MEDIA,
                f"The {stream.type} stream of the {media_format} file does not decode; "
                "re-export it and upload it again.",
            )


def _duration(container: Any, streams: list[Any]) -> float | None:
    if container.duration is not None and container.duration > 0:
        return float(container.duration) / 1_000_000  # AV_TIME_BASE
    durations = [
        float(stream.duration * stream.time_base)
        for stream in streams
        if stream.duration is not None and stream.time_base is not None and stream.duration > 0
    ]
    if durations:
        return max(durations)
    # No header duration (some streamed WebM/Matroska): the last timestamp, demuxing only.
    end = 0.0
    try:
        container.seek(0)
        for packet in container.demux(*streams):
            if packet.pts is not None and packet.time_base is not None:
                end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    except MemoryError:
        raise
    except Exception:  # an unseekable stream: the duration stays unknown (a warning)
        return end or None
    return end or None


def _header_only(path: Path, media_format: str, expected: str) -> MediaInfo:
    """Without PyAV: WAV headers are read exactly; other formats are trusted by their magic."""
    note = "PyAV is not available here, so only the file header was checked."
    if media_format == "wav":
        try:
            with wave.open(str(path), "rb") as reader:
                frames, rate = reader.getnframes(), reader.getframerate()
        except (wave.Error, EOFError) as error:
            return MediaInfo(has_audio=True, warnings=[f"{note} ({short_error(error)})"])
        if rate <= 0:
            raise MediaCheckError(
                RejectionCode.CORRUPT_MEDIA, "The WAV header declares no sample rate."
            )
        return MediaInfo(
            has_audio=True, duration_s=frames / rate, sample_rate_hz=rate, warnings=[note]
        )
    if expected == "video":
        return MediaInfo(
            has_video=True,
            has_audio=True,
            warnings=[f"{note} The presence of an audio track was assumed, not verified."],
        )
    return MediaInfo(has_audio=True, warnings=[note])
