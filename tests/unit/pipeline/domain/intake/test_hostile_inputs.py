"""Damaged and hostile bytes end in a plan (accepted or quarantined), never in a crash.

Every hostile file is built at test time from a small valid one (Pillow, `wave`, the ffmpeg
CLI) and, where the attack is a header that lies, patched to lie: see samples.py.
"""

from __future__ import annotations

import gzip
import io
import random
import zipfile

import pytest

from pipeline_contracts.item import RejectionCode
from tests.unit.pipeline.domain.intake.samples import (
    TEXTS,
    config_with,
    declare_frame_size,
    declare_image_size,
    image_bytes,
    lying_wav,
    noise,
    png_with_text_bomb,
    svg_bomb,
    wav_bytes,
)


def _mutate(body: bytes, rng: random.Random, donor: bytes) -> bytes:
    data = bytearray(body)
    operation = rng.choice(["flip", "cut", "splice", "zero"])
    if operation == "flip":
        for _ in range(rng.randint(1, 50)):
            data[rng.randrange(len(data))] = rng.getrandbits(8)
    elif operation == "cut":
        data = data[: rng.randrange(1, len(data) + 1)]
    elif operation == "splice":
        data = data[: rng.randrange(len(data))] + donor[: rng.randrange(1, len(donor) + 1)]
    else:
        start = rng.randrange(len(data))
        end = min(len(data), start + rng.randint(1, 4000))
        data[start:end] = bytes(end - start)
    return bytes(data)


def test_mutated_files_are_planned_not_crashed(plan_object, images, media, documents, binaries):
    # Given every sample, damaged in a few seeded ways (bit flips, cuts, splices, zeroed runs)
    rng = random.Random(20260101)
    samples = {**images, **media, **TEXTS, **documents, **binaries}
    bodies = list(samples.values())
    outcomes: set[str] = set()
    for round_number in range(3):
        for name, body in samples.items():
            damaged = _mutate(body, rng, rng.choice(bodies))
            # When the gate plans the damaged file (no extension: the content decides)
            plan = plan_object(f"incoming/{name}-{round_number}", damaged)
            # Then it ends in a plan: accepted, or rejected with a code and a sentence
            assert plan.accepted == (plan.rejection is None)
            if plan.rejection is not None:
                assert plan.rejection.message.strip()
                outcomes.add(plan.rejection.code.value)
    # And the damage is mostly recognised as such
    assert RejectionCode.CORRUPT_MEDIA.value in outcomes


# --------------------------------------------------------------------------- what used to
# pass intake and fail later (or crash): each is now quarantined with its own reason code,
# or, where the pipeline can cope, accepted and routed so that it does.


def _cut(body: bytes) -> bytes:
    return body[: len(body) // 2]


class TestHeadersThatClaimMoreThanTheFileHolds:
    @pytest.mark.parametrize(
        ("name", "source", "key"),
        [
            ("cut.mp4", "media", "mp4"),
            ("cut.mov", "media", "mov"),
            ("cut.m4a", "media", "m4a"),
            ("cut.webm", "media", "webm"),
            ("cut.mkv", "media", "mkv"),
            ("cut.flac", "hostile_media", "flac_6s"),
            ("cut.mp3", "hostile_media", "mp3_6s"),
        ],
    )
    def test_a_cut_off_container_is_corrupt(self, request, plan_object, name, source, key):
        # Given the first half of a file whose header states its whole size or length
        body = _cut(request.getfixturevalue(source)[key])
        # When the gate plans it
        plan = plan_object(f"incoming/{name}", body)
        # Then it is quarantined as corrupt, saying it is truncated
        assert plan.rejection is not None, name
        assert plan.rejection.code is RejectionCode.CORRUPT_MEDIA, plan.rejection.message
        assert "truncated" in plan.rejection.message or "decode" in plan.rejection.message

    def test_a_wav_whose_riff_size_claims_more_is_corrupt(self, plan_object):
        # Given a WAV cut in half (its RIFF header still declares the whole file)
        plan = plan_object("incoming/cut.wav", _cut(wav_bytes(1.0, 16_000)))
        # Then it is corrupt, with both sizes in the sentence
        assert plan.rejection is not None
        assert plan.rejection.code is RejectionCode.CORRUPT_MEDIA
        assert "RIFF header declares" in plan.rejection.message

    def test_a_wav_whose_data_chunk_lies_is_corrupt(self, plan_object):
        # Given a cut WAV whose RIFF size was fixed up: only the data chunk claims more
        plan = plan_object("incoming/lying.wav", lying_wav(wav_bytes(1.0, 16_000)))
        # When the gate plans it (ffmpeg alone would shorten it silently)
        # Then it is corrupt, naming the chunk
        assert plan.rejection is not None
        assert plan.rejection.code is RejectionCode.CORRUPT_MEDIA
        assert "'data' chunk declares" in plan.rejection.message

    def test_bytes_after_the_riff_are_not_read_as_chunks(self, plan_object):
        # Given a complete WAV with an ID3 tag appended after its RIFF (some taggers do this)
        body = wav_bytes(0.5, 16_000) + b"ID3\x04\x00\x00\x00\x00\x00\x10" + b"\xff" * 40
        # Then it is accepted: only the RIFF's own chunks are held to their sizes
        assert plan_object("incoming/tagged.wav", body).accepted

    @pytest.mark.parametrize("key", ["flac_6s", "mp3_6s", "mp3_vbr_no_xing", "flac_streamed"])
    def test_complete_files_pass_even_when_their_length_is_an_estimate(
        self, plan_object, hostile_media, key
    ):
        # Given complete files: with an exact length in the header, or only ffmpeg's
        # estimate of it (a VBR MP3 without a Xing frame, a FLAC encoded to a pipe)
        extension = "mp3" if key.startswith("mp3") else "flac"
        plan = plan_object(f"incoming/{key}.{extension}", hostile_media[key])
        # Then they are accepted: an estimate is not a claim
        assert plan.accepted, plan.rejection


def _dimension_bomb(fmt: str) -> bytes:
    picture = noise((64, 48))
    saved = {
        "jpeg": lambda: image_bytes(picture, "JPEG"),
        "gif": lambda: image_bytes(picture.convert("P"), "GIF"),
        "webp": lambda: image_bytes(picture, "WEBP", lossless=True),
        "tiff": lambda: image_bytes(picture, "TIFF"),
    }[fmt]()
    return declare_image_size(saved, fmt, 16_384, 16_384)


class TestDecompressionBombs:
    @pytest.mark.parametrize("fmt", ["jpeg", "gif", "webp", "tiff"])
    def test_every_image_container_refuses_a_dimension_bomb(self, plan_object, fmt):
        # Given a few KB that declare 16384x16384 pixels (268 megapixels)
        plan = plan_object(f"incoming/bomb.{fmt}", _dimension_bomb(fmt))
        # Then it is a decompression bomb, refused before any pixel is decoded
        assert plan.rejection is not None
        assert plan.rejection.code is RejectionCode.DECOMPRESSION_BOMB, plan.rejection.message

    def test_a_png_dimension_bomb_too(self, plan_object, images):
        plan = plan_object("incoming/bomb.png", images["bomb_png"])
        assert plan.rejection is not None
        assert plan.rejection.code is RejectionCode.DECOMPRESSION_BOMB

    def test_a_png_text_chunk_bomb_is_refused_not_inflated(self, plan_object, images):
        # Given a PNG whose zTXt chunk inflates to 200 MB
        plan = plan_object("incoming/text-bomb.png", png_with_text_bomb(images["png"]))
        # Then Pillow's text-chunk limit stops it: corrupt, never inflated
        assert plan.rejection is not None
        assert plan.rejection.code is RejectionCode.CORRUPT_MEDIA

    def test_a_video_declaring_huge_frames_is_a_bomb(self, plan_object, hostile_media):
        # Given an MJPEG video whose header declares 16000x16000 frames (256 megapixels)
        body = declare_frame_size(hostile_media["mjpeg_mov"], 16_000, 16_000)
        # When the gate plans it
        plan = plan_object("incoming/frames.mov", body)
        # Then it is a bomb, refused from the header before a frame is decoded
        assert plan.rejection is not None
        assert plan.rejection.code is RejectionCode.DECOMPRESSION_BOMB
        assert "16000x16000" in plan.rejection.message

    def test_the_frame_budget_is_the_configured_one(self, plan_object, media):
        # Given a 64x48 video and a budget of one pixel less a frame
        strict = config_with(max_video_frame_pixels=64 * 48 - 1)
        # Then the same video passes by default and is a bomb under the strict budget
        assert plan_object("incoming/v.mp4", media["mp4"]).accepted
        plan = plan_object("incoming/v2.mp4", media["mp4"], cfg=strict)
        assert plan.rejection is not None
        assert plan.rejection.code is RejectionCode.DECOMPRESSION_BOMB

    @pytest.mark.parametrize(
        ("name", "kind", "code"),
        [
            ("report.docx", "zip", RejectionCode.UNSUPPORTED_TYPE),
            ("archive.zip", "zip", RejectionCode.UNSUPPORTED_TYPE),
            ("report.pdf", "gzip", RejectionCode.EXTENSION_MISMATCH),
            ("data.json.gz", "gzip", RejectionCode.UNSUPPORTED_TYPE),
            ("logo.svg", "svg", RejectionCode.UNSUPPORTED_TYPE),
        ],
    )
    def test_archives_and_svg_are_never_expanded(self, plan_object, name, kind, code):
        # Given archives of 10 MB of zeros (a few KB each) and a billion-laughs SVG
        if kind == "zip":
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("word/document.xml", bytes(10_000_000))
            body = buffer.getvalue()
        elif kind == "gzip":
            body = gzip.compress(bytes(10_000_000))
        else:
            body = svg_bomb()
        # When the gate plans them
        plan = plan_object(f"incoming/{name}", body)
        # Then they are refused by their type: intake opens no archive and parses no XML
        assert plan.rejection is not None
        assert plan.rejection.code is code, plan.rejection.message
