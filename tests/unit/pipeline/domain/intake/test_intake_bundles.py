"""The intake gate on bundles: the manifest, its paths, its assets, and the plan (one module
of about 340 lines: the bundle cases, by class of outcome, over shared samples)."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest

from pipeline.domain.intake import plan_item
from pipeline_contracts.item import ObjectRef, RejectionCode
from tests.unit.pipeline.domain.intake.samples import (
    BUNDLE_PREFIX,
    INGEST_BUCKET,
    PROCESSED_BUCKET,
    TEXTS,
    bundle_request,
    config_with,
)

PREFIX = BUNDLE_PREFIX  # the `bundle` fixture (conftest.py) uploads under it


def _manifest(*assets: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"version": 1, "assets": list(assets), **fields}


class TestValidBundles:
    def test_a_catalog_bundle_is_planned_with_its_manifest_fields(self, bundle, images):
        # Given a product photo and its description, with profile, language and vocabulary
        plan = bundle(
            {"photo.jpg": images["jpeg"], "description.md": TEXTS["md"]},
            _manifest(
                {"path": "photo.jpg", "role": "primary"},
                {"path": "description.md", "role": "description", "relation": "complementary"},
                profile="catalog",
                language="en-US",
                vocabulary=["Kettle Pro"],
            ),
        )
        # When the gate has planned it
        # Then both assets are accepted in manifest order with their roles
        assert plan.accepted, plan.rejection
        assert [a.path for a in plan.assets] == ["photo.jpg", "description.md"]
        assert [a.modality for a in plan.assets] == ["image", "text"]
        assert plan.assets[1].role == "description"
        assert plan.assets[1].relation == "complementary"
        assert (plan.profile, plan.language, plan.vocabulary) == (
            "catalog",
            "en-US",
            ["Kettle Pro"],
        )
        # And the text is a companion for the prompt, not a vision input of its own
        assert [a.path for a in plan.branches.vision] == ["photo.jpg"]
        assert plan.branches.audio == []
        # And a photo with its description has nothing to align: no alignment job
        assert plan.branches.alignment is False
        assert plan.assets[0].source.key == PREFIX + "photo.jpg"

    def test_a_lecture_bundle_with_video_and_synced_captions(self, bundle, media):
        # Given a lecture video with captions synced to it, in a sub-folder
        plan = bundle(
            {"media/lecture.mp4": media["mp4"], "media/lecture.vtt": TEXTS["webvtt"]},
            _manifest(
                {"path": "media/lecture.mp4"},
                {
                    "path": "media/lecture.vtt",
                    "role": "captions",
                    "syncs_with": "media/lecture.mp4",
                },
                profile="education",
            ),
        )
        # When the gate has planned it
        # Then the video goes to audio and vision, the captions to neither, alignment runs
        assert plan.accepted, plan.rejection
        video, captions = plan.assets
        assert captions.syncs_with == "media/lecture.mp4"
        assert plan.branches.audio == [video]
        assert plan.branches.vision == [video]
        assert plan.branches.alignment is True

    def test_asset_ids_are_distinct_and_stable(self, bundle, images):
        # Given a bundle of two images
        files = {"a.png": images["png"], "b.png": images["png"]}
        plan = bundle(files, _manifest({"path": "a.png"}, {"path": "b.png"}))
        # When the ids are read
        ids = [asset.asset_id for asset in plan.assets]
        # Then they differ per path and do not depend on the upload
        assert len(set(ids)) == 2
        again = bundle(files, _manifest({"path": "a.png"}, {"path": "b.png"}))
        assert [asset.asset_id for asset in again.assets] == ids

    def test_unicode_and_spaces_in_asset_paths(self, bundle, images):
        # Given assets whose names have spaces and non-ASCII characters
        files = {"photos/été 2024 ☀.jpg": images["jpeg"], "描述.txt": TEXTS["txt"]}
        # When the gate plans the bundle
        plan = bundle(files, _manifest({"path": "photos/été 2024 ☀.jpg"}, {"path": "描述.txt"}))
        # Then both are found and accepted
        assert plan.accepted, plan.rejection
        assert plan.assets[0].source.key == PREFIX + "photos/été 2024 ☀.jpg"

    def test_a_decomposed_unicode_upload_is_found(self, bundle, images):
        # Given a file uploaded with a decomposed (NFD) name, listed composed (NFC)
        name = "café.jpg"
        files = {unicodedata.normalize("NFD", name): images["jpeg"]}
        # When the gate plans the bundle
        plan = bundle(files, _manifest({"path": unicodedata.normalize("NFC", name)}))
        # Then the file is found under its other normal form, with a warning
        assert plan.accepted, plan.rejection
        assert plan.assets[0].warnings

    def test_the_bundle_prefix_defaults_to_the_manifest_folder(
        self, store, config, tmp_path, images
    ):
        # Given a bundle request without an explicit folder
        store.put(INGEST_BUCKET, PREFIX + "p.jpg", images["jpeg"])
        ref = store.put(
            INGEST_BUCKET,
            PREFIX + "manifest.json",
            json.dumps(_manifest({"path": "p.jpg"})).encode(),
        )
        request = bundle_request(ref, PREFIX).model_copy(update={"bundle_prefix": None})
        # When the gate plans it
        plan = plan_item(request, store, config, INGEST_BUCKET, PROCESSED_BUCKET, tmp_path)
        # Then the manifest's folder is the bundle folder
        assert plan.accepted, plan.rejection


class TestManifestRejections:
    def test_bad_json(self, bundle):
        # Given a manifest that is not JSON
        plan = bundle({}, '{"version": 1, "assets": [')
        # When the gate reads it
        # Then the bundle is quarantined as an invalid manifest with where it broke
        assert plan.rejection.code is RejectionCode.INVALID_MANIFEST
        assert "line 1" in plan.rejection.message
        assert plan.rejection.asset_path == "manifest.json"

    def test_an_unknown_key(self, bundle, images):
        # Given a manifest with a key the schema does not know
        plan = bundle({"p.jpg": images["jpeg"]}, _manifest({"path": "p.jpg", "colour": "red"}))
        # When the gate reads it
        # Then it is invalid, and the sentence names the key and where it is
        assert plan.rejection.code is RejectionCode.INVALID_MANIFEST
        assert "'colour'" in plan.rejection.message
        assert "assets[0]" in plan.rejection.message
        assert "\n" not in plan.rejection.message

    @pytest.mark.parametrize(
        ("manifest", "fragment"),
        [
            ({"assets": [{"path": "p.jpg"}]}, "missing required key 'version'"),
            (_manifest({"path": "p.jpg", "role": "hero"}), "assets[0].role"),
            (_manifest(), "assets"),
            ([1, 2, 3], "the top level"),
            (_manifest({"path": "p.jpg"}, version=2), "version"),
            (_manifest({"path": "p.jpg"}, language="english"), "language"),
        ],
    )
    def test_schema_errors_are_summarised_in_one_sentence(self, bundle, images, manifest, fragment):
        # Given a manifest that is JSON but breaks the schema
        plan = bundle({"p.jpg": images["jpeg"]}, json.dumps(manifest))
        # When the gate reads it
        # Then it is invalid, summarised in one line that points at the problem
        assert plan.rejection.code is RejectionCode.INVALID_MANIFEST
        assert fragment in plan.rejection.message
        assert plan.rejection.message.count("\n") == 0

    @pytest.mark.parametrize(
        "path",
        [
            "../other-bundle/secret.jpg",
            "photos/../../escape.jpg",
            "/etc/passwd",
            "\\\\server\\share\\x.jpg",
            "C:\\Users\\x.jpg",
            "s3://another-bucket/x.jpg",
            "photo\x00.jpg",
        ],
    )
    def test_unsafe_paths_are_told_apart(self, bundle, images, path):
        # Given a manifest naming a path outside the bundle folder
        plan = bundle({"p.jpg": images["jpeg"]}, _manifest({"path": "p.jpg"}, {"path": path}))
        # When the gate reads it
        # Then the code is UNSAFE_PATH (not a generic invalid manifest), naming the path
        assert plan.rejection.code is RejectionCode.UNSAFE_PATH
        assert plan.rejection.asset_path == path

    def test_an_unsafe_syncs_with_is_unsafe_too(self, bundle, images):
        # Given a syncs_with that climbs out of the bundle
        manifest = _manifest({"path": "p.jpg", "syncs_with": "../x.mp4"})
        # When the gate reads it
        plan = bundle({"p.jpg": images["jpeg"]}, manifest)
        # Then it is an unsafe path
        assert plan.rejection.code is RejectionCode.UNSAFE_PATH

    @pytest.mark.parametrize("path", ["./p.jpg", "photos//p.jpg", " p.jpg", "manifest.json"])
    def test_odd_but_harmless_paths_are_invalid_not_unsafe(self, bundle, images, path):
        # Given a path that is un-normalised, padded or names the manifest itself
        plan = bundle({"p.jpg": images["jpeg"]}, _manifest({"path": path}))
        # When the gate reads it
        # Then it is an invalid manifest
        assert plan.rejection.code is RejectionCode.INVALID_MANIFEST

    def test_too_many_assets(self, bundle):
        # Given a manifest listing more assets than the limit of 3
        assets = [{"path": f"p{n}.jpg"} for n in range(4)]
        # When the gate reads it
        plan = bundle({}, _manifest(*assets), cfg=config_with(max_bundle_assets=3))
        # Then the code is TOO_MANY_ASSETS
        assert plan.rejection.code is RejectionCode.TOO_MANY_ASSETS
        assert "4" in plan.rejection.message

    def test_syncs_with_pointing_nowhere(self, bundle):
        # Given captions synced to an asset the manifest does not list
        manifest = _manifest({"path": "talk.srt", "role": "captions", "syncs_with": "talk.mp4"})
        # When the gate reads it
        plan = bundle({"talk.srt": TEXTS["srt"]}, manifest)
        # Then it is an invalid manifest naming the dangling reference
        assert plan.rejection.code is RejectionCode.INVALID_MANIFEST
        assert "talk.mp4" in plan.rejection.message

    def test_duplicate_paths(self, bundle, images):
        # Given the same asset listed twice
        manifest = _manifest({"path": "p.jpg"}, {"path": "p.jpg", "role": "thumbnail"})
        # When the gate reads it
        plan = bundle({"p.jpg": images["jpeg"]}, manifest)
        # Then it is an invalid manifest
        assert plan.rejection.code is RejectionCode.INVALID_MANIFEST
        assert "unique" in plan.rejection.message

    def test_duplicate_json_keys(self, bundle, images):
        # Given a manifest with the same key twice (JSON parsers silently keep the last)
        raw = (
            '{"version": 1, "profile": "catalog", "profile": "moderation",'
            ' "assets": [{"path": "p.jpg"}]}'
        )
        # When the gate reads it
        plan = bundle({"p.jpg": images["jpeg"]}, raw)
        # Then the ambiguity is refused
        assert plan.rejection.code is RejectionCode.INVALID_MANIFEST
        assert "'profile'" in plan.rejection.message

    @pytest.mark.parametrize(
        "raw",
        [
            "[" * 100_000,  # nested deeper than the parser's recursion limit
            '{"version": 1, "assets": [{"path": "a"}], "id": ' + "9" * 5000 + "}",
            b"\xff\xfe{\x00}\x00",  # UTF-16
        ],
    )
    def test_hostile_manifests_are_invalid_not_crashes(self, bundle, raw):
        # Given a manifest built to break parsers
        # When the gate reads it
        plan = bundle({}, raw)
        # Then it is quarantined as invalid
        assert plan.rejection.code is RejectionCode.INVALID_MANIFEST

    def test_an_oversized_manifest(self, bundle):
        # Given a manifest over a 1 KiB limit
        raw = json.dumps(_manifest({"path": "p.jpg"}, vocabulary=["word"] * 300))
        # When the gate reads it
        plan = bundle({}, raw, cfg=config_with(max_manifest_bytes=1024))
        # Then it is too large
        assert plan.rejection.code is RejectionCode.TOO_LARGE
        assert plan.rejection.asset_path == "manifest.json"

    def test_an_empty_manifest(self, bundle):
        # Given a zero-byte manifest
        plan = bundle({}, b"")
        # When the gate reads it
        # Then it is an empty object
        assert plan.rejection.code is RejectionCode.EMPTY_OBJECT

    def test_a_deleted_manifest(self, store, config, tmp_path):
        # Given a manifest deleted before the execution ran
        ref = ObjectRef(bucket=INGEST_BUCKET, key=PREFIX + "manifest.json")
        # When the gate plans the bundle
        plan = plan_item(
            bundle_request(ref, PREFIX), store, config, INGEST_BUCKET, PROCESSED_BUCKET, tmp_path
        )
        # Then it is not found
        assert plan.rejection is not None
        assert plan.rejection.code is RejectionCode.OBJECT_NOT_FOUND


class TestAssetRejections:
    def test_a_missing_asset_is_named(self, bundle, images):
        # Given a manifest listing a file that was never uploaded
        manifest = _manifest({"path": "p.jpg"}, {"path": "notes/missing file.txt"})
        # When the gate checks the assets
        plan = bundle({"p.jpg": images["jpeg"]}, manifest)
        # Then the bundle is quarantined naming the missing path
        assert plan.rejection.code is RejectionCode.MISSING_ASSET
        assert plan.rejection.asset_path == "notes/missing file.txt"
        assert "missing file.txt" in plan.rejection.message

    def test_an_asset_outside_the_folder_does_not_count(self, bundle, store, images):
        # Given the file exists, but in another bundle's folder
        store.put(INGEST_BUCKET, "incoming/bundles/other/p.jpg", images["jpeg"])
        # When the gate checks the assets
        plan = bundle({}, _manifest({"path": "p.jpg"}))
        # Then it is missing from this bundle
        assert plan.rejection.code is RejectionCode.MISSING_ASSET

    def test_one_bad_asset_rejects_the_whole_bundle(self, bundle, images):
        # Given a good photo and a truncated one
        files = {"good.jpg": images["jpeg"], "bad.png": images["png_truncated"]}
        # When the gate checks the assets
        plan = bundle(files, _manifest({"path": "good.jpg"}, {"path": "bad.png"}))
        # Then the bundle is quarantined with the bad asset's path
        assert not plan.accepted
        assert plan.rejection.code is RejectionCode.CORRUPT_MEDIA
        assert plan.rejection.asset_path == "bad.png"
        assert plan.assets == []

    @pytest.mark.parametrize(
        ("files", "code"),
        [
            ({"x.mp3": "jpeg"}, RejectionCode.EXTENSION_MISMATCH),
            ({"x.jpg": "bomb_png"}, RejectionCode.DECOMPRESSION_BOMB),
            ({"x.jpg": "empty"}, RejectionCode.EMPTY_OBJECT),
            ({"x.bmp": "bmp"}, RejectionCode.UNSUPPORTED_TYPE),
        ],
    )
    def test_asset_rejections_carry_the_asset_path(self, bundle, images, files, code):
        # Given a bundle with one problem asset
        ((path, sample),) = files.items()
        body = b"" if sample == "empty" else images[sample]
        # When the gate checks it
        plan = bundle({path: body}, _manifest({"path": path}))
        # Then the code is that asset's, and so is the path
        assert plan.rejection.code is code
        assert plan.rejection.asset_path == path
        assert path in plan.rejection.message
