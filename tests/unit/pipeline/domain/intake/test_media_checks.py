"""Decode checks: images with Pillow, audio/video with PyAV (or headers), text and captions."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipeline.config import Limits
from pipeline.domain.av_probe import probe_av
from pipeline.domain.media_checks import (
    MediaCheckError,
    check_captions,
    check_image,
    check_pdf,
    check_text,
)
from pipeline_contracts.item import RejectionCode
from tests.unit.pipeline.domain.intake.samples import TEXTS, huge_png


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


class TestImages:
    def test_an_exif_rotated_jpeg_reports_its_displayed_size(self, tmp_path, images):
        # Given a 48x32 JPEG whose EXIF orientation says "rotate 90 degrees"
        path = _file(tmp_path, "r.jpg", images["jpeg_rotated"])
        # When it is decode-checked
        info = check_image(path, "jpeg", Limits())
        # Then the size is the one a viewer shows
        assert (info.width, info.height) == (32, 48)

    def test_a_decompression_bomb_is_refused_before_decoding(self, tmp_path, images):
        # Given a PNG of a few KB that declares 20000x20000 pixels
        path = _file(tmp_path, "bomb.png", images["bomb_png"])
        assert path.stat().st_size < 200_000
        # When it is decode-checked with the default limit
        with pytest.raises(MediaCheckError) as caught:
            check_image(path, "png", Limits())
        # Then it is a decompression bomb
        assert caught.value.code is RejectionCode.DECOMPRESSION_BOMB

    def test_just_over_the_pixel_limit_is_a_bomb_too(self, tmp_path):
        # Given an image 1.5 times the configured pixel limit (Pillow only warns there)
        path = _file(tmp_path, "big.png", huge_png(150, 100))
        # When it is decode-checked with a 10,000-pixel limit
        with pytest.raises(MediaCheckError) as caught:
            check_image(path, "png", Limits(max_image_pixels=10_000))
        # Then the warning counts as an error
        assert caught.value.code is RejectionCode.DECOMPRESSION_BOMB

    def test_the_pixel_limit_is_the_configured_one(self, tmp_path):
        # Given an image exactly at the configured limit
        path = _file(tmp_path, "ok.png", huge_png(100, 100))
        # When it is decode-checked
        info = check_image(path, "png", Limits(max_image_pixels=10_000))
        # Then it passes
        assert (info.width, info.height) == (100, 100)

    @pytest.mark.parametrize(
        ("name", "fmt"), [("png_truncated", "png"), ("jpeg_truncated", "jpeg")]
    )
    def test_a_truncated_image_is_corrupt(self, tmp_path, images, name, fmt):
        # Given an image cut off at 60 % of its bytes
        path = _file(tmp_path, name, images[name])
        # When it is decode-checked
        with pytest.raises(MediaCheckError) as caught:
            check_image(path, fmt, Limits())
        # Then it is corrupt, and the message does not leak the scratch path
        assert caught.value.code is RejectionCode.CORRUPT_MEDIA
        assert str(tmp_path) not in caught.value.message

    def test_an_image_is_only_decoded_as_its_sniffed_format(self, tmp_path, images):
        # Given PNG bytes that something claims are a JPEG
        path = _file(tmp_path, "x", images["png"])
        # When it is decode-checked as JPEG
        with pytest.raises(MediaCheckError) as caught:
            check_image(path, "jpeg", Limits())
        # Then Pillow does not fall back to another decoder
        assert caught.value.code is RejectionCode.CORRUPT_MEDIA


class TestAudioVideo:
    def test_wav_duration_and_streams(self, tmp_path, media):
        # Given a half-second WAV
        path = _file(tmp_path, "a.wav", media["wav"])
        # When it is probed
        info = probe_av(path, "wav", "audio", Limits())
        # Then its duration and streams are known
        assert info.duration_s == pytest.approx(0.5, abs=0.01)
        assert (info.has_audio, info.has_video) == (True, False)
        assert info.warnings == []

    def test_video_streams_and_size(self, tmp_path, media):
        # Given an MP4 with a 64x48 picture and sound
        path = _file(tmp_path, "v.mp4", media["mp4"])
        # When it is probed
        info = probe_av(path, "mp4", "video", Limits())
        # Then both streams, the picture size and the duration are reported
        assert (info.has_audio, info.has_video) == (True, True)
        assert (info.width, info.height) == (64, 48)
        assert info.duration_s == pytest.approx(0.6, abs=0.15)

    def test_cover_art_is_not_video(self, tmp_path, media):
        # Given an MP3 carrying an attached cover picture
        path = _file(tmp_path, "c.mp3", media["mp3_cover"])
        # When it is probed
        info = probe_av(path, "mp3", "audio", Limits())
        # Then the picture does not make it a video
        assert (info.has_audio, info.has_video) == (True, False)

    def test_over_the_duration_limit_is_too_long(self, tmp_path, media):
        # Given a half-second WAV and a limit of a tenth of a second
        path = _file(tmp_path, "a.wav", media["wav"])
        # When it is probed
        with pytest.raises(MediaCheckError) as caught:
            probe_av(path, "wav", "audio", Limits(max_media_duration_s=0.1))
        # Then it is too long
        assert caught.value.code is RejectionCode.TOO_LONG

    @pytest.mark.parametrize(
        ("name", "fmt", "cut"),
        [("mp4", "mp4", 0.5), ("webm", "webm", 0.4), ("wav", "wav", 0.5), ("m4a", "m4a", 0.7)],
    )
    def test_a_cut_off_file_is_corrupt(self, tmp_path, media, name, fmt, cut):
        # Given a container cut off part-way
        data = media[name]
        path = _file(tmp_path, f"cut.{fmt}", data[: int(len(data) * cut)])
        # When it is probed
        with pytest.raises(MediaCheckError) as caught:
            probe_av(path, fmt, "video", Limits())
        # Then it is corrupt
        assert caught.value.code is RejectionCode.CORRUPT_MEDIA

    def test_garbage_packets_are_corrupt(self, tmp_path, media):
        # Given an MP4 whose headers are intact but whose media data is noise
        data = bytearray(media["mp4"])
        start = data.find(b"mdat") + 8
        data[start : start + 2000] = bytes((i * 131 + 7) % 256 for i in range(2000))
        path = _file(tmp_path, "noise.mp4", bytes(data))
        # When it is probed (the first packets are decoded)
        with pytest.raises(MediaCheckError) as caught:
            probe_av(path, "mp4", "video", Limits())
        # Then it is corrupt
        assert caught.value.code is RejectionCode.CORRUPT_MEDIA

    def test_without_pyav_the_wav_header_still_gives_the_duration(
        self, tmp_path, media, monkeypatch
    ):
        # Given a runtime without PyAV
        monkeypatch.setitem(sys.modules, "av", None)
        path = _file(tmp_path, "a.wav", media["wav"])
        # When a WAV is probed
        info = probe_av(path, "wav", "audio", Limits())
        # Then the header gives the duration and a warning records the weaker check
        assert info.duration_s == pytest.approx(0.5, abs=0.01)
        assert any("PyAV" in warning for warning in info.warnings)

    def test_without_pyav_a_video_is_assumed_to_have_sound(self, tmp_path, media, monkeypatch):
        # Given a runtime without PyAV
        monkeypatch.setitem(sys.modules, "av", None)
        path = _file(tmp_path, "v.mp4", media["mp4"])
        # When a video is probed
        info = probe_av(path, "mp4", "video", Limits())
        # Then it is assumed to have sound, and the warning says so
        assert (info.has_audio, info.has_video) == (True, True)
        assert any("assumed" in warning for warning in info.warnings)

    def test_without_pyav_truncation_is_still_caught(self, tmp_path, media, monkeypatch):
        # Given a runtime without PyAV and a cut-off MP4
        monkeypatch.setitem(sys.modules, "av", None)
        path = _file(tmp_path, "cut.mp4", media["mp4"][: len(media["mp4"]) // 2])
        # When it is probed
        with pytest.raises(MediaCheckError) as caught:
            probe_av(path, "mp4", "video", Limits())
        # Then the container sizes give it away
        assert caught.value.code is RejectionCode.CORRUPT_MEDIA


class TestText:
    @pytest.mark.parametrize("name", ["txt", "md", "html", "json", "utf8_bom"])
    def test_utf8_text_decodes(self, name):
        # Given UTF-8 text (a BOM is fine)
        # When it is checked
        info = check_text(TEXTS[name], Limits())
        # Then the text is available without the BOM
        assert info.text is not None
        assert not info.text.startswith("\ufeff")

    @pytest.mark.parametrize("name", ["latin1", "utf16"])
    def test_other_encodings_are_refused(self, name):
        # Given Latin-1 or UTF-16 text
        # When it is checked
        with pytest.raises(MediaCheckError) as caught:
            check_text(TEXTS[name], Limits())
        # Then the encoding is invalid, and the message says to save as UTF-8
        assert caught.value.code is RejectionCode.INVALID_TEXT_ENCODING
        assert "UTF-8" in caught.value.message

    def test_over_the_text_limit_is_too_large(self):
        # Given text just over a 1 KiB limit
        data = b"x" * 1025
        # When it is checked
        with pytest.raises(MediaCheckError) as caught:
            check_text(data, Limits(max_text_bytes=1024))
        # Then it is too large
        assert caught.value.code is RejectionCode.TOO_LARGE

    def test_whitespace_only_text_has_no_content(self):
        # Given a file of blank lines (not empty: it has bytes)
        # When it is checked
        with pytest.raises(MediaCheckError) as caught:
            check_text(b"\n \n\t\n", Limits())
        # Then it has no content (EMPTY_OBJECT is kept for 0 bytes)
        assert caught.value.code is RejectionCode.NO_CONTENT


class TestCaptions:
    @pytest.mark.parametrize("fmt", ["webvtt", "srt"])
    def test_captions_parse_and_give_their_span(self, fmt):
        # Given valid captions with two cues ending at 3 s
        # When they are checked
        info = check_captions(TEXTS[fmt], fmt, Limits())
        # Then they parse, and their last cue end is the duration
        assert info.duration_s == pytest.approx(3.0)

    def test_captions_without_cues_are_corrupt(self):
        # Given a WebVTT header and no cue
        # When it is checked
        with pytest.raises(MediaCheckError) as caught:
            check_captions(b"WEBVTT\n\nNOTE nothing here\n", "webvtt", Limits())
        # Then the captions are corrupt
        assert caught.value.code is RejectionCode.CORRUPT_MEDIA

    def test_srt_without_a_timing_line_is_corrupt(self):
        # Given an SRT cue number with no timing line after it
        # When it is checked
        with pytest.raises(MediaCheckError) as caught:
            check_captions(b"1\nno timing here\n", "srt", Limits())
        # Then the captions are corrupt
        assert caught.value.code is RejectionCode.CORRUPT_MEDIA


class TestPdf:
    def test_a_complete_pdf_passes(self, tmp_path, documents):
        # Given a complete PDF; When it is checked; Then it passes
        check_pdf(_file(tmp_path, "d.pdf", documents["pdf"]))

    def test_a_truncated_pdf_is_corrupt(self, tmp_path, documents):
        # Given a PDF without its end-of-file marker
        path = _file(tmp_path, "d.pdf", documents["pdf_truncated"])
        # When it is checked
        with pytest.raises(MediaCheckError) as caught:
            check_pdf(path)
        # Then it is corrupt
        assert caught.value.code is RejectionCode.CORRUPT_MEDIA
