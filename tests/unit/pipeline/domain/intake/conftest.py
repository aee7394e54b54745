"""Fixtures for the intake tests: real media generated once per session (see samples.py)."""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from pipeline.config import PipelineConfig
from pipeline.domain.intake import plan_item
from pipeline_contracts.item import ItemPlan
from tests.fakes import InMemoryObjectStore
from tests.unit.pipeline.domain.intake.samples import (
    BUNDLE_PREFIX,
    FFMPEG_MEDIA,
    HOSTILE_FFMPEG,
    INGEST_BUCKET,
    PROCESSED_BUCKET,
    bundle_request,
    ffmpeg_file,
    huge_png,
    image_bytes,
    minimal_pdf,
    noise,
    object_request,
    wav_bytes,
)


@pytest.fixture(scope="session")
def images() -> dict[str, bytes]:
    picture = noise((48, 32))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": stored 48x32, shown 32x48
    frames = [Image.new("P", (16, 16), color) for color in (1, 2)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    png = image_bytes(picture, "PNG")
    jpeg = image_bytes(picture, "JPEG", quality=90)
    return {
        "jpeg": jpeg,
        "jpeg_rotated": image_bytes(picture, "JPEG", exif=exif.tobytes()),
        "png": png,
        "webp": image_bytes(picture, "WEBP", quality=80),
        "gif": gif.getvalue(),
        "tiff": image_bytes(picture, "TIFF"),
        "png_truncated": png[: len(png) * 6 // 10],
        "jpeg_truncated": jpeg[: len(jpeg) * 6 // 10],
        "bomb_png": huge_png(20_000, 20_000),
        "bmp": image_bytes(picture, "BMP"),
    }


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Audio and video files made by the ffmpeg CLI (about a second in all)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("the ffmpeg CLI is needed to generate test media")
    folder = tmp_path_factory.mktemp("media")
    made: dict[str, bytes] = {"wav": wav_bytes()}
    for name, (file_name, arguments) in FFMPEG_MEDIA.items():
        made[name] = ffmpeg_file(arguments, folder / file_name)
    # An MP4 cut in half: its moov box (written last by default) is gone.
    made["mp4_truncated"] = made["mp4"][: len(made["mp4"]) // 2]
    return made


@pytest.fixture(scope="session")
def hostile_media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Media for the checks of what headers claim (lengths, rates, frame sizes)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("the ffmpeg CLI is needed to generate test media")
    folder = tmp_path_factory.mktemp("hostile")
    made: dict[str, bytes] = {}
    for name, (file_name, arguments) in HOSTILE_FFMPEG.items():
        made[name] = ffmpeg_file(arguments, folder / file_name)
    # FLAC written to a pipe: the encoder cannot go back to fill in STREAMINFO's sample count.
    made["flac_streamed"] = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", *HOSTILE_FFMPEG["flac_6s"][1], "-f", "flac", "-"],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    return made


@pytest.fixture(scope="session")
def documents() -> dict[str, bytes]:
    pdf = minimal_pdf()
    return {"pdf": pdf, "pdf_truncated": pdf[: len(pdf) - 40]}


@pytest.fixture(scope="session")
def binaries() -> dict[str, bytes]:
    zip_buffer = io.BytesIO()
    with zipfile.ZipFile(zip_buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    elf = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + struct.pack("<HHI", 2, 0x3E, 1) + b"\x00" * 200
    return {"zip": zip_buffer.getvalue(), "elf": elf, "nul_text": b"hello\x00world\x00" * 20}


# --------------------------------------------------------------------------- the gate


@pytest.fixture
def store() -> InMemoryObjectStore:
    return InMemoryObjectStore()


@pytest.fixture
def config() -> PipelineConfig:
    return PipelineConfig()


PlanObject = Callable[..., ItemPlan]


@pytest.fixture
def plan_object(store: InMemoryObjectStore, config: PipelineConfig, tmp_path: Path) -> PlanObject:
    """Upload `body` as one ingest object and run the gate on it."""

    def run(key: str, body: bytes, *, cfg: PipelineConfig | None = None) -> ItemPlan:
        ref = store.put(INGEST_BUCKET, key, body)
        return plan_item(
            object_request(ref),
            store,
            cfg or config,
            INGEST_BUCKET,
            PROCESSED_BUCKET,
            tmp_path / "scratch",
        )

    return run


PlanBundle = Callable[..., ItemPlan]


@pytest.fixture
def bundle(store: InMemoryObjectStore, config: PipelineConfig, tmp_path: Path) -> PlanBundle:
    """Upload files (name -> bytes) and a manifest, then run the gate on the manifest."""

    def run(
        files: dict[str, bytes],
        manifest: dict[str, Any] | bytes | str,
        *,
        cfg: PipelineConfig | None = None,
        prefix: str = BUNDLE_PREFIX,
    ) -> ItemPlan:
        for path, body in files.items():
            store.put(INGEST_BUCKET, prefix + path, body)
        if isinstance(manifest, dict):
            manifest = json.dumps(manifest)
        if isinstance(manifest, str):
            manifest = manifest.encode()
        ref = store.put(INGEST_BUCKET, prefix + "manifest.json", manifest, "application/json")
        return plan_item(
            bundle_request(ref, prefix),
            store,
            cfg or config,
            INGEST_BUCKET,
            PROCESSED_BUCKET,
            tmp_path / "s",
        )

    return run
