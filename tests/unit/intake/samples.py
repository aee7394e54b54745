"""Real media and requests for the intake tests: generators, kept tiny and offline.

Images come from Pillow, WAV from the `wave` module, other audio and video from the
ffmpeg CLI (lavfi test sources, see `FFMPEG_MEDIA`), text, captions and a PDF by hand.
"""

from __future__ import annotations

import io
import math
import random
import struct
import wave
import zlib
from typing import Any

from PIL import Image

from pipeline.config import Limits, PipelineConfig
from pipeline.models.item import ItemRequest, ObjectRef

INGEST_BUCKET = "ingest-bucket"
PROCESSED_BUCKET = "processed-bucket"


# --------------------------------------------------------------------------- images


def image_bytes(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def noise(size: tuple[int, int], seed: int = 7) -> Image.Image:
    rng = random.Random(seed)
    return Image.frombytes(
        "RGB", size, bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3))
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png(width: int, height: int) -> bytes:
    """A valid, all-black 1-bit PNG of the declared size: a few KB for 400 megapixels."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    rows_per_chunk = 500
    parts = []
    for _ in range(height // rows_per_chunk):
        parts.append(compressor.compress(row * rows_per_chunk))
    parts.append(compressor.compress(row * (height % rows_per_chunk)))
    parts.append(compressor.flush())
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------- audio, video


def wav_bytes(seconds: float = 0.5, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        samples = (
            int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate))
        )
        writer.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return buffer.getvalue()


SINE = ["-f", "lavfi", "-i", "sine=frequency=440:duration=0.6:sample_rate=8000"]
PICTURE = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=0.6"]
H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]

# name -> (file name, ffmpeg arguments between the inputs and the output)
FFMPEG_MEDIA: dict[str, tuple[str, list[str]]] = {
    "mp3": ("a.mp3", [*SINE, "-c:a", "libmp3lame"]),
    "ogg": ("a.ogg", [*SINE, "-c:a", "libvorbis"]),
    "flac": ("a.flac", [*SINE, "-c:a", "flac"]),
    "m4a": ("a.m4a", [*SINE, "-c:a", "aac"]),
    # Audio only, but in a generic MP4 (brand isom): only the probe can tell.
    "mp4_audio_only": ("b.mp4", [*SINE, "-c:a", "aac"]),
    "mp4": ("v.mp4", [*PICTURE, *SINE, *H264, "-c:a", "aac", "-shortest"]),
    "mp4_silent": ("s.mp4", [*PICTURE, *H264]),
    "mov": ("v.mov", [*PICTURE, *SINE, *H264, "-c:a", "aac", "-shortest"]),
    "webm": (
        "v.webm",
        [*PICTURE, *SINE, "-c:v", "libvpx", "-b:v", "100k", "-c:a", "libopus", "-shortest"],
    ),
    "mkv": ("v.mkv", [*PICTURE, *SINE, *H264, "-c:a", "aac", "-shortest"]),
    "mp3_cover": (
        "c.mp3",
        [
            *SINE,
            "-f",
            "lavfi",
            "-i",
            "color=red:size=32x32:duration=0.1",
            "-map",
            "0:a",
            "-map",
            "1:v",
            "-frames:v",
            "1",
            "-c:a",
            "libmp3lame",
            "-c:v",
            "mjpeg",
            "-disposition:v",
            "attached_pic",
        ],
    ),
}


# --------------------------------------------------------------------------- text, captions

TEXTS: dict[str, bytes] = {
    "txt": b"The quick brown fox jumps over the lazy dog.\nIt was a sunny day.\n",
    "md": b"# Product notes\n\nThe **blue** kettle, see [the page](https://example.com).\n\n"
    b"- boils fast\n- quiet\n",
    "html": b"<!DOCTYPE html>\n<html><head><title>Kettle</title></head>"
    b"<body><p>A blue kettle.</p></body></html>\n",
    "json": b'{"name": "kettle", "colour": "blue", "price": 19.99, "tags": ["kitchen"]}\n',
    "webvtt": b"WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello there.\n\n"
    b"00:00:01.500 --> 00:00:03.000\nThis is a kettle.\n",
    "srt": b"1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n"
    b"2\n00:00:01,500 --> 00:00:03,000\nThis is a kettle.\n",
    "utf8_bom": "\ufeffCafé crème, déjà vu.\n".encode(),
    "latin1": "Café crème brûlée, déjà vu.\n".encode("latin-1"),
    "utf16": "Hello in UTF-16, which is not UTF-8.\n".encode("utf-16"),
}


def minimal_pdf() -> bytes:
    """A valid one-page PDF with a correct cross-reference table, written by hand."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        None,  # the content stream, below
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    stream = b"BT /F1 12 Tf 20 50 Td (Hello, PDF) Tj ET"
    objects[3] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + (body or b"") + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


# --------------------------------------------------------------------------- requests


def config_with(**limits: Any) -> PipelineConfig:
    return PipelineConfig(limits=Limits(**limits))


def object_request(ref: ObjectRef, item_id: str = "item-1") -> ItemRequest:
    return ItemRequest(
        item_id=item_id, kind="object", source=ref, received_at="2026-01-01T00:00:00Z"
    )


def bundle_request(ref: ObjectRef, prefix: str, item_id: str = "bundle-1") -> ItemRequest:
    return ItemRequest(
        item_id=item_id,
        kind="bundle",
        source=ref,
        bundle_prefix=prefix,
        received_at="2026-01-01T00:00:00Z",
    )
