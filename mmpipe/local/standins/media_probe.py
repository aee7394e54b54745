"""What the Transcribe stand-in detects about a job's media, from its content as the service
does (container, sample rate, duration), and the refusal a job fails with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mmpipe.local.standins.recognition import media_duration_s

# What libmagic calls each container Transcribe accepts (MediaFormat values).
_FORMATS_BY_MIME = {
    "audio/x-wav": "wav",
    "audio/wav": "wav",
    "audio/vnd.wave": "wav",
    "audio/mpeg": "mp3",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "audio/ogg": "ogg",
    "video/ogg": "ogg",
    "application/ogg": "ogg",
    "audio/amr": "amr",
    "video/webm": "webm",
    "audio/webm": "webm",
    "video/mp4": "mp4",
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
    "audio/m4a": "m4a",
}


class MediaRefused(Exception):
    """The job fails with this FailureReason, as Transcribe words it."""


@dataclass(frozen=True)
class Media:
    media_format: str
    sample_rate_hz: int | None
    duration_s: float


def detect_media(path: Path) -> Media:
    """Detect the container and audio from the content, as the service does."""
    import av  # noqa: PLC0415 - heavy

    # Through the libmagic the pipeline loads (pylibmagic's, with its own database, when
    # installed): importing python-magic here first would bind the system's, and they clash.
    from pipeline.domain.sniffing import mime_type  # noqa: PLC0415

    with path.open("rb") as media:
        mime = mime_type(media.read(65536))  # up to 2 GB of media: the header is enough
    media_format = _FORMATS_BY_MIME.get(mime)
    if media_format is None:
        raise MediaRefused(f"Unsupported media format ({mime}).")
    try:
        with av.open(str(path)) as container:
            stream = next(iter(container.streams.audio), None)
            if stream is None:
                raise MediaRefused("The media file has no audio stream.")
            rate = int(stream.codec_context.sample_rate or 0) or None
            duration = float(container.duration or 0) / 1_000_000
    except av.error.FFmpegError as error:
        raise MediaRefused(f"The media file could not be decoded ({error}).") from error
    return Media(media_format, rate, duration or media_duration_s(path))
