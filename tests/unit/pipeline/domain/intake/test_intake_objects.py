"""The intake gate on single objects: what is accepted, what is quarantined and why (one
module of about 350 lines: the object cases, by class of outcome, over shared samples)."""

from __future__ import annotations

import re

import pytest

from pipeline.domain.intake import plan_item
from pipeline.domain.sniffing import SNIFF_BYTES
from pipeline.errors import ServiceThrottled, ServiceUnavailable
from pipeline_contracts.item import ObjectRef, RejectionCode
from tests.unit.pipeline.domain.intake.samples import (
    INGEST_BUCKET,
    PROCESSED_BUCKET,
    TEXTS,
    config_with,
    image_bytes,
    noise,
    object_request,
)


@pytest.mark.parametrize(
    ("sample", "key", "expected"),
    [
        ("images/jpeg", "photo.jpg", ("image", "jpeg")),
        ("images/png", "photo.png", ("image", "png")),
        ("images/webp", "photo.webp", ("image", "webp")),
        ("images/gif", "anim.gif", ("image", "gif")),
        ("images/tiff", "scan.tif", ("image", "tiff")),
        ("media/wav", "call.wav", ("audio", "wav")),
        ("media/mp3", "song.mp3", ("audio", "mp3")),
        ("media/ogg", "song.ogg", ("audio", "ogg")),
        ("media/flac", "song.flac", ("audio", "flac")),
        ("media/m4a", "memo.m4a", ("audio", "m4a")),
        ("media/mp4", "clip.mp4", ("video", "mp4")),
        ("media/mov", "clip.mov", ("video", "mov")),
        ("media/webm", "clip.webm", ("video", "webm")),
        ("media/mkv", "clip.mkv", ("video", "mkv")),
        ("texts/txt", "notes.txt", ("text", "txt")),
        ("texts/md", "notes.md", ("text", "md")),
        ("texts/md", "notes", ("text", "md")),
        ("texts/html", "page.html", ("text", "html")),
        ("texts/json", "data.json", ("text", "json")),
        ("documents/pdf", "leaflet.pdf", ("document", "pdf")),
        ("texts/webvtt", "talk.vtt", ("captions", "webvtt")),
        ("texts/srt", "talk.srt", ("captions", "srt")),
    ],
)
def test_every_supported_format_ends_in_its_modality(plan_object, request, sample, key, expected):
    # Given a real file of a supported format under the ingest prefix
    source, name = sample.split("/")
    files = TEXTS if source == "texts" else request.getfixturevalue(source)
    # When the intake gate plans it
    plan = plan_object(f"incoming/{key}", files[name])
    # Then it is accepted as one asset of the right modality and format, without warnings
    assert plan.accepted, plan.rejection
    (asset,) = plan.assets
    assert (asset.modality, asset.media_format) == expected
    assert asset.warnings == []
    assert asset.size_bytes == len(files[name])
    assert asset.path == key


def test_audio_only_mp4_is_audio_by_probe(plan_object, media):
    # Given an MP4 (generic brand) that holds sound only
    # When the gate plans it
    plan = plan_object("incoming/podcast.mp4", media["mp4_audio_only"])
    # Then the probe makes it audio, planned for transcription only
    (asset,) = plan.assets
    assert (asset.modality, asset.media_format, asset.has_video) == ("audio", "m4a", False)
    assert plan.branches.audio == [asset]
    assert plan.branches.vision == []


def test_an_accepted_plan_carries_names_and_uris(plan_object, images):
    # Given an image
    # When the gate plans it
    plan = plan_object("incoming/photo.jpg", images["jpeg"])
    # Then the work prefix, plan URI and alignment job name derive from the item id
    assert plan.work_prefix == "work/item-1/"
    assert plan.plan_uri == f"s3://{PROCESSED_BUCKET}/work/item-1/job/plan.json"
    assert plan.job_input_uri == f"s3://{PROCESSED_BUCKET}/work/item-1/job/"
    assert re.fullmatch(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", plan.alignment_job_name)
    assert plan.alignment_job_name.startswith("mmp-align-")
    assert (plan.profile, plan.language, plan.vocabulary) == ("general", None, None)
    (asset,) = plan.assets
    assert re.fullmatch(r"a1-[0-9a-f]{12}", asset.asset_id)
    assert (asset.width, asset.height, asset.role) == (48, 32, "primary")


def test_plans_are_deterministic(plan_object, images):
    # Given the same object planned twice (a retry)
    first = plan_object("incoming/photo.jpg", images["jpeg"])
    second = plan_object("incoming/photo.jpg", images["jpeg"])
    # When the plans are compared (apart from the object version)
    # Then asset ids and job names are the same
    assert first.assets[0].asset_id == second.assets[0].asset_id
    assert first.alignment_job_name == second.alignment_job_name


class TestExtensionPolicy:
    def test_a_jpeg_named_mp3_is_quarantined(self, plan_object, images):
        # Given a JPEG named song.mp3
        # When the gate plans it
        plan = plan_object("incoming/song.mp3", images["jpeg"])
        # Then it is an extension mismatch that names both sides
        assert not plan.accepted
        assert plan.rejection.code is RejectionCode.EXTENSION_MISMATCH
        assert ".mp3" in plan.rejection.message
        assert "jpeg" in plan.rejection.message

    def test_binary_named_txt_is_quarantined(self, plan_object, binaries):
        # Given binary data named notes.txt
        # When the gate plans it
        plan = plan_object("incoming/notes.txt", binaries["nul_text"])
        # Then it is an extension mismatch
        assert plan.rejection.code is RejectionCode.EXTENSION_MISMATCH

    def test_a_video_named_mp3_is_quarantined_after_the_probe(self, plan_object, media):
        # Given an MP4 with pictures named .mp3
        # When the gate plans it
        plan = plan_object("incoming/song.mp3", media["mp4"])
        # Then the probe finds video, which contradicts the audio name
        assert plan.rejection.code is RejectionCode.EXTENSION_MISMATCH

    def test_audio_only_mp4_named_mp3_is_accepted_with_a_warning(self, plan_object, media):
        # Given sound in an MP4 container named .mp3
        # When the gate plans it
        plan = plan_object("incoming/song.mp3", media["mp4_audio_only"])
        # Then the families agree (audio); the format difference is a warning
        (asset,) = plan.assets
        assert asset.modality == "audio"
        assert len(asset.warnings) == 1

    def test_a_png_named_jpg_is_accepted_with_a_warning(self, plan_object, images):
        # Given a PNG named .jpg
        # When the gate plans it
        plan = plan_object("incoming/photo.jpg", images["png"])
        # Then it is accepted as png with a warning on the asset
        (asset,) = plan.assets
        assert (asset.modality, asset.media_format, asset.mime_type) == (
            "image",
            "png",
            "image/png",
        )
        assert any(".jpg" in warning for warning in asset.warnings)

    def test_no_extension_is_fine(self, plan_object, media):
        # Given a WAV without an extension
        # When the gate plans it
        plan = plan_object("incoming/recording", media["wav"])
        # Then the content decides, silently
        assert plan.assets[0].modality == "audio"
        assert plan.assets[0].warnings == []


class TestRejections:
    def test_zero_bytes_is_an_empty_object(self, plan_object):
        # Given an empty object
        # When the gate plans it
        plan = plan_object("incoming/empty.jpg", b"")
        # Then it is quarantined as empty, with a sentence saying what to do
        assert plan.rejection.code is RejectionCode.EMPTY_OBJECT
        assert plan.rejection.message.endswith(".")
        assert plan.assets == []

    def test_a_deleted_object_is_not_found(self, store, config, tmp_path, images):
        # Given an object deleted (delete marker) before the execution ran
        ref = store.put(INGEST_BUCKET, "incoming/gone.jpg", images["jpeg"])
        store.delete(INGEST_BUCKET, "incoming/gone.jpg")
        unversioned = ObjectRef(bucket=ref.bucket, key=ref.key)
        # When the gate plans it
        plan = plan_item(
            object_request(unversioned), store, config, INGEST_BUCKET, PROCESSED_BUCKET, tmp_path
        )
        # Then it is quarantined as not found
        assert plan.rejection is not None
        assert plan.rejection.code is RejectionCode.OBJECT_NOT_FOUND

    def test_the_exact_version_is_read(self, store, config, tmp_path, images, binaries):
        # Given a JPEG upload later overwritten by a zip under the same key
        ref = store.put(INGEST_BUCKET, "incoming/photo.jpg", images["jpeg"])
        store.put(INGEST_BUCKET, "incoming/photo.jpg", binaries["zip"])
        # When the gate plans the first version
        plan = plan_item(
            object_request(ref), store, config, INGEST_BUCKET, PROCESSED_BUCKET, tmp_path
        )
        # Then it reads that version, not the newest
        assert plan.accepted
        assert plan.assets[0].source.version_id == ref.version_id

    @pytest.mark.parametrize("name", ["zip", "elf"])
    def test_archives_and_executables_are_unsupported(self, plan_object, binaries, name):
        # Given a zip or an ELF executable without an extension
        # When the gate plans it
        plan = plan_object(f"incoming/{name}-upload", binaries[name])
        # Then it is an unsupported type
        assert plan.rejection.code is RejectionCode.UNSUPPORTED_TYPE

    def test_an_unsupported_image_format_is_unsupported_not_mismatched(self, plan_object, images):
        # Given a BMP named .jpg
        # When the gate plans it
        plan = plan_object("incoming/photo.jpg", images["bmp"])
        # Then it is an unsupported type (it is an image, just not one we take)
        assert plan.rejection.code is RejectionCode.UNSUPPORTED_TYPE

    def test_a_bomb_is_quarantined(self, plan_object, images):
        # Given a PNG declaring 400 megapixels
        # When the gate plans it
        plan = plan_object("incoming/bomb.png", images["bomb_png"])
        # Then it is a decompression bomb
        assert plan.rejection.code is RejectionCode.DECOMPRESSION_BOMB

    @pytest.mark.parametrize(
        ("key", "name"), [("cut.png", "png_truncated"), ("cut.jpg", "jpeg_truncated")]
    )
    def test_a_truncated_image_is_corrupt(self, plan_object, images, key, name):
        # Given a truncated image
        # When the gate plans it
        plan = plan_object(f"incoming/{key}", images[name])
        # Then it is corrupt media
        assert plan.rejection.code is RejectionCode.CORRUPT_MEDIA

    def test_a_truncated_video_is_corrupt(self, plan_object, media):
        # Given an MP4 cut in half
        # When the gate plans it
        plan = plan_object("incoming/cut.mp4", media["mp4_truncated"])
        # Then it is corrupt media
        assert plan.rejection.code is RejectionCode.CORRUPT_MEDIA

    def test_latin1_text_is_an_invalid_encoding(self, plan_object):
        # Given Latin-1 text
        # When the gate plans it
        plan = plan_object("incoming/notes.txt", TEXTS["latin1"])
        # Then it is an invalid text encoding
        assert plan.rejection.code is RejectionCode.INVALID_TEXT_ENCODING

    def test_over_the_image_byte_limit_is_too_large(self, plan_object, images):
        # Given an image bigger than a 1 KiB image limit
        # When the gate plans it
        plan = plan_object(
            "incoming/photo.jpg", images["jpeg"], cfg=config_with(max_image_bytes=1024)
        )
        # Then it is too large
        assert plan.rejection.code is RejectionCode.TOO_LARGE

    def test_over_the_duration_limit_is_too_long(self, plan_object, media):
        # Given audio longer than a 0.1 s limit
        # When the gate plans it
        plan = plan_object(
            "incoming/call.wav", media["wav"], cfg=config_with(max_media_duration_s=0.1)
        )
        # Then it is too long
        assert plan.rejection.code is RejectionCode.TOO_LONG

    def test_over_the_media_byte_limit_is_too_large_before_any_read(
        self, plan_object, store, media
    ):
        # Given audio bigger than a 100-byte media limit
        # When the gate plans it
        plan = plan_object("incoming/call.wav", media["wav"], cfg=config_with(max_media_bytes=100))
        # Then it is too large, decided from the size alone
        assert plan.rejection.code is RejectionCode.TOO_LARGE
        assert store.calls_to("read_bytes") == []

    def test_a_single_object_rejection_names_no_bundle_path(self, plan_object):
        # Given an empty single object
        # When the gate plans it
        plan = plan_object("incoming/empty.txt", b"")
        # Then the rejection names no asset path (the source identifies the object)
        assert plan.rejection.asset_path is None


class TestReads:
    def test_sniffing_uses_a_ranged_read(self, plan_object, store, media):
        # Given a video
        # When the gate plans it
        plan = plan_object("incoming/clip.mp4", media["mp4"])
        # Then the first read is ranged to the sniffing window
        reads = store.calls_to("read_bytes")
        assert reads[0].max_bytes == SNIFF_BYTES
        assert plan.accepted

    def test_large_media_is_downloaded_to_scratch_and_removed(self, store, config, tmp_path):
        # Given a PNG larger than the sniffing window
        big = image_bytes(noise((160, 160), seed=3), "PNG")
        assert len(big) > SNIFF_BYTES
        ref = store.put(INGEST_BUCKET, "incoming/big photo.png", big)
        scratch = tmp_path / "scratch"
        # When the gate plans it
        plan = plan_item(
            object_request(ref), store, config, INGEST_BUCKET, PROCESSED_BUCKET, scratch
        )
        # Then it was downloaded for the decode check, and the scratch copy is gone
        assert plan.accepted
        assert len(store.calls_to("download")) == 1
        assert list(scratch.iterdir()) == []

    def test_small_files_are_not_downloaded_twice(self, plan_object, store, images):
        # Given an image smaller than the sniffing window
        # When the gate plans it
        plan_object("incoming/photo.jpg", images["jpeg"])
        # Then the ranged read already held it all: no download
        assert store.calls_to("download") == []

    def test_throttling_propagates_for_the_state_machine_to_retry(
        self, store, config, tmp_path, images
    ):
        # Given S3 throttles the sniffing read
        ref = store.put(INGEST_BUCKET, "incoming/photo.jpg", images["jpeg"])
        store.fail_next("read_bytes", ServiceThrottled("S3 throttled the call (SlowDown)"))
        # When the gate plans the item
        # Then the typed transient error propagates (it is not a rejection)
        with pytest.raises(ServiceThrottled):
            plan_item(object_request(ref), store, config, INGEST_BUCKET, PROCESSED_BUCKET, tmp_path)

    def test_unavailability_during_download_propagates(self, store, config, tmp_path):
        # Given a large image and S3 failing the download
        ref = store.put(
            INGEST_BUCKET, "incoming/p.png", image_bytes(noise((160, 160), seed=4), "PNG")
        )
        store.fail_next("download", ServiceUnavailable("S3 is unavailable (InternalError)"))
        # When the gate plans the item
        # Then the transient error propagates and no scratch file is left behind
        with pytest.raises(ServiceUnavailable):
            plan_item(
                object_request(ref), store, config, INGEST_BUCKET, PROCESSED_BUCKET, tmp_path / "s"
            )
        assert list((tmp_path / "s").iterdir()) == []


@pytest.mark.parametrize(
    "key",
    [
        "incoming/my holiday photo (1).jpg",
        "incoming/фото/café-日本語 🎉.jpg",
        "incoming/a+b=c&d#e%20f.jpg",
    ],
)
def test_keys_with_spaces_and_unicode(plan_object, images, key):
    # Given an image under a key with spaces, Unicode and URL-special characters
    # When the gate plans it (the request carries the decoded key)
    plan = plan_object(key, images["jpeg"])
    # Then it is accepted, named by its file name, with an id that is safe everywhere
    (asset,) = plan.assets
    assert asset.path == key.rsplit("/", 1)[1]
    assert asset.source.key == key
    assert re.fullmatch(r"a1-[0-9a-f]{12}", asset.asset_id)
