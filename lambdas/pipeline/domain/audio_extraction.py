"""The audio of a container Amazon Transcribe does not take (MOV, MKV), in one it does.

Transcribe's batch jobs accept AMR, FLAC, M4A, MP3, MP4, Ogg, WebM and WAV. A QuickTime or
Matroska file would be sent, and refused after the wait ("Unsupported media format"), so its
first audio track is copied into a container Transcribe takes, without re-encoding when the
codec fits one (AAC into M4A, MP3, Opus or Vorbis into Ogg, FLAC); anything else is
decoded and written as 16-bit FLAC, which loses nothing Transcribe uses.

Transcribe also refuses audio sampled above 48 kHz (96 kHz studio recordings), in any
container: intake routes those here too, and they are resampled to 48 kHz FLAC (speech has
nothing above 24 kHz). Audio below 8 kHz never gets here: intake does not plan it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.adapters.speech import TRANSCRIBE_FORMATS, TRANSCRIBE_SAMPLE_RATES_HZ
from pipeline.errors import MediaNotPreparable

# Codec -> (Transcribe MediaFormat, PyAV muxer, file extension) for a copy without re-encoding.
_REMUX = {
    "aac": ("m4a", "ipod", "m4a"),
    "mp3": ("mp3", "mp3", "mp3"),
    "opus": ("ogg", "ogg", "ogg"),
    "vorbis": ("ogg", "ogg", "ogg"),
    "flac": ("flac", "flac", "flac"),
}


@dataclass(frozen=True)
class ExtractedAudio:
    path: Path
    media_format: str  # a Transcribe MediaFormat
    remuxed: bool  # copied as is, or decoded and re-encoded as FLAC


def transcribe_takes(media_format: str, sample_rate_hz: int | None = None) -> bool:
    """Whether Transcribe takes the file as it is (an unknown rate is left for it to judge)."""
    low, high = TRANSCRIBE_SAMPLE_RATES_HZ
    in_range = sample_rate_hz is None or low <= sample_rate_hz <= high
    return media_format in TRANSCRIBE_FORMATS and in_range


def extract_audio(source: Path, scratch: Path) -> ExtractedAudio:
    """The first audio track of `source`, in a container Transcribe accepts."""
    import av  # noqa: PLC0415 - PyAV is heavy; only this step needs it

    try:
        with av.open(str(source), mode="r", metadata_errors="ignore") as container:
            stream = next(iter(container.streams.audio), None)
            if stream is None:
                raise MediaNotPreparable(f"{source.name} has no audio track to transcribe")
            codec = stream.codec_context.name
            rate = int(stream.codec_context.sample_rate or 0) or None
            if codec in _REMUX and transcribe_takes(_REMUX[codec][0], rate):
                return _remux(container, stream, scratch, *_REMUX[codec])
            return _transcode_to_flac(container, stream, scratch)
    except av.error.FFmpegError as error:
        raise MediaNotPreparable(
            f"the audio of {source.name} could not be read: {error}"
        ) from error


def _remux(
    container: Any, stream: Any, scratch: Path, media_format: str, muxer: str, extension: str
) -> ExtractedAudio:
    import av  # noqa: PLC0415

    target = scratch / f"audio.{extension}"
    with av.open(str(target), mode="w", format=muxer) as output:
        copied = output.add_stream_from_template(stream)
        for packet in container.demux(stream):
            if packet.dts is None:
                continue  # the demuxer's flush packet
            packet.stream = copied
            output.mux(packet)
    return ExtractedAudio(target, media_format, remuxed=True)


def _transcode_to_flac(container: Any, stream: Any, scratch: Path) -> ExtractedAudio:
    import av  # noqa: PLC0415

    target = scratch / "audio.flac"
    low, high = TRANSCRIBE_SAMPLE_RATES_HZ
    rate = min(max(int(stream.codec_context.sample_rate or 16_000), low), high)
    with av.open(str(target), mode="w", format="flac") as output:
        encoded = output.add_stream("flac", rate=rate, layout="mono")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        for frame in container.decode(stream):
            for converted in resampler.resample(frame):
                output.mux(encoded.encode(converted))
        for converted in resampler.resample(None):
            output.mux(encoded.encode(converted))
        output.mux(encoded.encode(None))
    return ExtractedAudio(target, "flac", remuxed=False)
