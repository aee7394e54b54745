"""Which events start which executions, under which deterministic name."""

from __future__ import annotations

import re

import pytest

from pipeline.config import PipelineConfig
from pipeline.domain.dispatch import Skipped, decode_event_key, item_id_for, request_for

CONFIG = PipelineConfig()
EXECUTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def test_a_single_object_starts_an_object_item():
    # Given a new object under the ingest prefix
    request = request_for("in", "incoming/photo.jpg", "v1", "2026-11-22T00:00:00Z", CONFIG)
    # Then it is one object item with a valid execution name
    assert not isinstance(request, Skipped)
    assert request.kind == "object"
    assert EXECUTION_NAME.match(request.item_id)
    assert request.item_id.startswith("photo-jpg-")


def test_a_bundle_starts_on_its_manifest_and_its_files_on_their_own():
    manifest = request_for("in", "incoming/bundles/shoe-42/manifest.json", "v1", "t", CONFIG)
    asset = request_for("in", "incoming/bundles/shoe-42/front.jpg", "v1", "t", CONFIG)
    nested = request_for("in", "incoming/bundles/shoe-42/sub/manifest.json", "v1", "t", CONFIG)
    misnamed = request_for("in", "incoming/bundles/boot/Manifest.json", "v1", "t", CONFIG)
    loose = request_for("in", "incoming/bundles/loose-photo.png", "v1", "t", CONFIG)
    # Then the manifest starts the bundle rooted at its folder, at any depth
    assert not isinstance(manifest, Skipped)
    assert not isinstance(nested, Skipped)
    assert manifest.kind == nested.kind == "bundle"
    assert manifest.bundle_prefix == "incoming/bundles/shoe-42/"
    assert nested.bundle_prefix == "incoming/bundles/shoe-42/sub/"
    assert manifest.item_id.startswith("shoe-42-")
    # And every other file under the bundle prefix starts a bundle-file execution that waits
    # for its manifest: nothing under the ingest prefix is skipped
    for request in (asset, misnamed, loose):
        assert not isinstance(request, Skipped)
        assert request.kind == "bundle_file"
        assert request.manifest_wait_s == CONFIG.bundle_manifest_wait_s


def test_a_manifest_directly_under_the_bundle_prefix_is_a_bundle_file():
    # A manifest.json with no bundle folder around it cannot root a bundle
    request = request_for("in", "incoming/bundles/manifest.json", "v1", "t", CONFIG)
    assert not isinstance(request, Skipped)
    assert request.kind == "bundle_file"


@pytest.mark.parametrize("key", ["elsewhere/a.jpg", "incoming/folder/"])
def test_keys_outside_the_contract_start_nothing(key):
    assert isinstance(request_for("in", key, None, "t", CONFIG), Skipped)


def test_the_same_object_version_always_gets_the_same_name():
    # A duplicate event cannot start a second execution: the name is the same.
    assert item_id_for("in", "incoming/a.wav", "v1") == item_id_for("in", "incoming/a.wav", "v1")
    assert item_id_for("in", "incoming/a.wav", "v1") != item_id_for("in", "incoming/a.wav", "v2")
    assert item_id_for("in", "incoming/a.wav", "v1") != item_id_for("other", "incoming/a.wav", "v1")


def test_unicode_and_spaces_give_valid_names():
    item_id = item_id_for("in", "incoming/Überraschung café 北京 (1).png", None)
    assert EXECUTION_NAME.match(item_id)
    assert item_id.startswith("Uberraschung-cafe-1-png-")


def test_url_encoded_event_keys_are_decoded():
    existing = {"incoming/red flower.jpg", "incoming/c++ notes.txt", "incoming/a+b.txt"}
    assert decode_event_key("incoming/red+flower.jpg", existing.__contains__) == (
        "incoming/red flower.jpg"
    )
    assert decode_event_key("incoming/c%2B%2B+notes.txt", existing.__contains__) == (
        "incoming/c++ notes.txt"
    )
    assert decode_event_key("incoming/%E5%8C%97.txt", lambda _: True) == "incoming/北.txt"
    # A key with a literal '+' that arrived unencoded is kept as it is
    assert decode_event_key("incoming/a+b.txt", existing.__contains__) == "incoming/a+b.txt"


@pytest.mark.parametrize(
    "key",
    [
        "incoming/.DS_Store",
        "incoming/bundles/shoe/.DS_Store",
        "incoming/bundles/shoe/._front.jpg",
        "incoming/Thumbs.db",
        "incoming/bundles/shoe/desktop.ini",
    ],
)
def test_operating_system_metadata_starts_nothing(key):
    # A folder copied from a Mac or Windows carries these; they are never content
    assert isinstance(request_for("in", key, "v1", "t", CONFIG), Skipped)
