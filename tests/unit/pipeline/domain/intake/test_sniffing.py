"""Content sniffing: the modality comes from the bytes; the name is only compared with them."""

from __future__ import annotations

import pytest

from pipeline.domain.extension_check import check_extension, extension_of
from pipeline.domain.sniffing import (
    SNIFF_BYTES,
    caption_format,
    looks_like_markdown,
    refine_text_format,
    sniff,
)
from tests.unit.pipeline.domain.intake.samples import TEXTS


def _sniff(data: bytes):
    return sniff(data[:SNIFF_BYTES], truncated=len(data) > SNIFF_BYTES)


@pytest.mark.parametrize(
    ("name", "modality", "media_format"),
    [
        ("jpeg", "image", "jpeg"),
        ("jpeg_rotated", "image", "jpeg"),
        ("png", "image", "png"),
        ("webp", "image", "webp"),
        ("gif", "image", "gif"),
        ("tiff", "image", "tiff"),
    ],
)
def test_images_are_sniffed_from_their_bytes(images, name, modality, media_format):
    # Given a real image made by Pillow
    data = images[name]
    # When it is sniffed
    sniffed = _sniff(data)
    # Then its modality and format come from the content
    assert (sniffed.modality, sniffed.media_format) == (modality, media_format)
    assert sniffed.mime_type == f"image/{media_format}"


@pytest.mark.parametrize(
    ("name", "modality", "media_format"),
    [
        ("wav", "audio", "wav"),
        ("mp3", "audio", "mp3"),
        ("ogg", "audio", "ogg"),
        ("flac", "audio", "flac"),
        ("m4a", "audio", "m4a"),
        ("mp4", "video", "mp4"),
        ("mov", "video", "mov"),
        ("webm", "video", "webm"),
        ("mkv", "video", "mkv"),
        # A generic MP4 brand: provisionally video, the probe settles it (see intake tests).
        ("mp4_audio_only", "video", "mp4"),
    ],
)
def test_audio_and_video_are_sniffed_from_their_bytes(media, name, modality, media_format):
    # Given real audio or video made by ffmpeg
    data = media[name]
    # When it is sniffed
    sniffed = _sniff(data)
    # Then the container and its provisional modality are recognised
    assert (sniffed.modality, sniffed.media_format) == (modality, media_format)


@pytest.mark.parametrize(
    ("name", "modality", "media_format"),
    [
        ("txt", "text", "txt"),
        ("md", "text", "md"),
        ("html", "text", "html"),
        ("json", "text", "json"),
        ("webvtt", "captions", "webvtt"),
        ("srt", "captions", "srt"),
        ("utf8_bom", "text", "txt"),
    ],
)
def test_text_and_captions_are_told_apart_by_content(name, modality, media_format):
    # Given a text-like file (libmagic calls most of these "text/plain")
    data = TEXTS[name]
    # When it is sniffed
    sniffed = _sniff(data)
    # Then the explicit checks tell captions, markdown and plain text apart
    assert (sniffed.modality, sniffed.media_format) == (modality, media_format)


def test_pdf_is_a_document(documents):
    # Given a hand-written PDF
    # When it is sniffed
    sniffed = _sniff(documents["pdf"])
    # Then it is a document
    assert (sniffed.modality, sniffed.media_format, sniffed.mime_type) == (
        "document",
        "pdf",
        "application/pdf",
    )


@pytest.mark.parametrize(("name", "family"), [("zip", None), ("elf", None), ("nul_text", None)])
def test_non_media_content_is_unsupported_and_of_no_family(binaries, name, family):
    # Given an archive, an executable or binary data
    # When it is sniffed
    sniffed = _sniff(binaries[name])
    # Then it has no modality and belongs to no media family
    assert sniffed.modality is None
    assert sniffed.family is family


def test_unsupported_image_format_keeps_its_family(images):
    # Given a BMP (an image, but not a supported format)
    # When it is sniffed
    sniffed = _sniff(images["bmp"])
    # Then it is unsupported yet still known to be an image
    assert sniffed.modality is None
    assert sniffed.family == "image"


def test_a_large_json_file_is_recognised_once_fully_read():
    # Given a JSON document longer than the sniffing window
    document = ('{"rows": [' + ",".join(['{"a": 1}'] * 20_000) + "]}").encode()
    assert len(document) > SNIFF_BYTES
    # When its first 64 KiB are sniffed, libmagic cannot see a complete document
    sniffed = _sniff(document)
    assert sniffed.modality == "text"
    # Then refining with the whole text makes it JSON
    assert refine_text_format(sniffed, document.decode()).media_format == "json"


def test_a_multibyte_character_cut_by_the_ranged_read_is_still_text():
    # Given UTF-8 text whose 64 KiB window ends in the middle of a character
    data = ("a" + "é" * 40_000).encode()
    assert data[SNIFF_BYTES - 1] >= 0xC0  # a lead byte without its continuation
    # When it is sniffed from the truncated window
    sniffed = _sniff(data)
    # Then it is still text
    assert sniffed.modality == "text"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n", "webvtt"),
        ("\ufeffWEBVTT - with a title\r\n\r\n00:00.000 --> 00:01.000\r\nhi\r\n", "webvtt"),
        ("WEBVTT", "webvtt"),
        ("WEBVTTX\n\n", None),
        ("1\n00:00:01,000 --> 00:00:02,000\nHello\n", "srt"),
        ("\n\n12\r\n0:00:01.5 --> 0:00:02.25\r\nHello\r\n", "srt"),
        ("1\nHello\n", None),
        ("The arrow --> points right.\n", None),
    ],
)
def test_caption_detection(text, expected):
    # Given a text that may or may not be captions
    # When its caption format is checked
    # Then only a WEBVTT header or a numbered cue with its timing line counts
    assert caption_format(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# Title\n\nBody text.\n", True),
        ("See [the docs](https://example.com) for more.\n", True),
        ("```python\nprint(1)\n```\n", True),
        ("- one\n- two\n\nSome **bold** words.\n", True),
        ("| a | b |\n|---|---|\n| 1 | 2 |\n", True),
        ("Just a sentence. And another one.\n", False),
        ("- a lone dash list item\n", False),
        ("Price: 5 * 3 = 15\n", False),
    ],
)
def test_markdown_versus_plain_text(text, expected):
    # Given a text
    # When it is judged
    # Then one unmistakable markdown construct, or two lighter ones, make it markdown
    assert looks_like_markdown(text) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("photo.JPG", "jpg"),
        ("a/b/clip.tar.mp4", "mp4"),
        (".hidden", ""),
        ("README", ""),
        ("dir.d/README", ""),
        ("weird.", ""),
    ],
)
def test_extension_of(name, expected):
    # Given a file name; When its extension is taken; Then dotfiles and bare names have none
    assert extension_of(name) == expected


class TestExtensionPolicy:
    def test_a_jpeg_named_mp3_is_a_mismatch(self, images):
        # Given a JPEG named like an MP3 song
        sniffed = _sniff(images["jpeg"])
        # When the name is compared with the content
        verdict = check_extension("song.mp3", sniffed)
        # Then the families contradict each other
        assert verdict.mismatch

    def test_binary_named_txt_is_a_mismatch(self, binaries):
        # Given binary data named notes.txt
        # When the name is compared with the content
        verdict = check_extension("notes.txt", _sniff(binaries["nul_text"]))
        # Then it is a mismatch (not merely an unsupported type)
        assert verdict.mismatch

    def test_a_png_named_jpg_is_accepted_with_a_warning(self, images):
        # Given a PNG named .jpg (same family, different format)
        # When the name is compared with the content
        verdict = check_extension("photo.jpg", _sniff(images["png"]))
        # Then it is no mismatch, but a warning says what it really is
        assert not verdict.mismatch
        assert verdict.warning is not None
        assert "png" in verdict.warning

    @pytest.mark.parametrize("name", ["photo", "photo.bin", "photo.xyz", "UPPER.PNG"])
    def test_unknown_missing_or_matching_extensions_are_fine(self, images, name):
        # Given a PNG with no, an unknown or a matching (upper-case) extension
        # When the name is compared with the content
        verdict = check_extension(name, _sniff(images["png"]))
        # Then nothing is said
        assert not verdict.mismatch
        assert verdict.warning is None

    def test_an_unsupported_image_named_as_an_image_is_not_a_mismatch(self, images):
        # Given a BMP named .jpg: an image, just not a supported one
        # When the name is compared with the content
        verdict = check_extension("photo.jpg", _sniff(images["bmp"]))
        # Then it is left to the unsupported-type rule
        assert not verdict.mismatch

    def test_av_containers_wait_for_the_probe(self, media):
        # Given an MP4 named .m4a (the container may hold audio only)
        sniffed = _sniff(media["mp4"])
        # When compared before the probe, Then it is not yet a mismatch
        assert not check_extension("talk.m4a", sniffed, provisional=True).mismatch
        # And an MP4 named .mp3 is not one either until the probe says it has video
        assert not check_extension("talk.mp3", sniffed, provisional=True).mismatch
        assert check_extension("talk.mp3", sniffed).mismatch

    def test_markdown_named_txt_keeps_the_authors_format(self):
        # Given markdown content in a .txt file and plain content in a .md file
        markdown, plain = _sniff(TEXTS["md"]), _sniff(TEXTS["txt"])
        # When the names are compared with the contents
        # Then the author's name for it wins, silently
        assert check_extension("notes.txt", markdown).media_format == "txt"
        assert check_extension("notes.md", plain).media_format == "md"
        assert check_extension("notes.md", plain).warning is None

    def test_captions_saved_as_txt_are_accepted_with_a_warning(self):
        # Given SRT captions saved as .txt
        # When the name is compared with the content
        verdict = check_extension("captions.txt", _sniff(TEXTS["srt"]))
        # Then .txt is a generic text name: accepted, with a warning
        assert not verdict.mismatch
        assert verdict.warning is not None

    def test_plain_text_named_vtt_is_a_mismatch(self):
        # Given prose in a .vtt file
        # When the name is compared with the content
        # Then the file is not captions at all
        assert check_extension("captions.vtt", _sniff(TEXTS["txt"])).mismatch
