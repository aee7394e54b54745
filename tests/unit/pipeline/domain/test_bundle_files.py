"""Which bundle takes a file under the bundle prefix, or why none does."""

from __future__ import annotations

import json

import pytest

from pipeline.config import PipelineConfig
from pipeline.domain.bundle_files import judge_bundle_file
from pipeline.domain.dispatch import request_for
from pipeline_contracts.item import ItemRequest, RejectionCode
from tests.fakes import InMemoryObjectStore

CONFIG = PipelineConfig()
BUCKET = "in"


def _request(key: str, store: InMemoryObjectStore | None = None) -> ItemRequest:
    if store is not None:  # the object itself, as its upload left it
        store.put(BUCKET, key, b"bytes")
    request = request_for(BUCKET, key, "v1", "2026-12-01T00:00:00Z", CONFIG)
    assert isinstance(request, ItemRequest)
    assert request.kind == "bundle_file"
    return request


def _manifest(store: InMemoryObjectStore, folder: str, *paths: str) -> None:
    body = {"version": 1, "assets": [{"path": p} for p in paths]}
    store.put(BUCKET, f"{folder}/manifest.json", json.dumps(body).encode())


def test_a_file_its_manifest_lists_is_part_of_the_bundle():
    store = InMemoryObjectStore()
    _manifest(store, "incoming/bundles/shoe", "front.jpg", "views/side.jpg")
    for key in ("incoming/bundles/shoe/front.jpg", "incoming/bundles/shoe/views/side.jpg"):
        verdict = judge_bundle_file(_request(key, store), store, CONFIG, waited=False)
        assert verdict.verdict == "listed"
        assert verdict.rejection is None
        assert verdict.manifest_key == "incoming/bundles/shoe/manifest.json"


def test_a_decomposed_unicode_name_matches_its_listed_composed_path():
    store = InMemoryObjectStore()
    _manifest(store, "incoming/bundles/cafe", "caf\u00e9.jpg")
    verdict = judge_bundle_file(
        _request("incoming/bundles/cafe/cafe\u0301.jpg", store), store, CONFIG, waited=False
    )
    assert verdict.verdict == "listed"


def test_of_two_unicode_forms_of_one_name_only_the_one_intake_takes_is_listed():
    # Given the listed name stored twice: composed (NFC) and decomposed (NFD)
    store = InMemoryObjectStore()
    _manifest(store, "incoming/bundles/cafe", "caf\u00e9.jpg")
    composed = _request("incoming/bundles/cafe/caf\u00e9.jpg", store)
    decomposed = _request("incoming/bundles/cafe/cafe\u0301.jpg", store)
    # Then intake takes the name as written; the other form is no part of the bundle
    assert judge_bundle_file(composed, store, CONFIG, waited=False).verdict == "listed"
    late = judge_bundle_file(decomposed, store, CONFIG, waited=True)
    assert late.rejection is not None
    assert late.rejection.code is RejectionCode.NOT_IN_MANIFEST


def test_a_file_in_a_nested_bundle_is_found_through_the_folders_above_it():
    store = InMemoryObjectStore()
    _manifest(store, "incoming/bundles/outer/inner", "a/b.png")
    verdict = judge_bundle_file(
        _request("incoming/bundles/outer/inner/a/b.png", store), store, CONFIG, waited=False
    )
    assert verdict.verdict == "listed"
    assert verdict.manifest_key == "incoming/bundles/outer/inner/manifest.json"


def test_a_file_no_manifest_lists_waits_then_is_quarantined():
    # Given a bundle whose manifest does not list the file (yet: a new version of the
    # manifest, or a nested bundle's own, may be on its way)
    store = InMemoryObjectStore()
    _manifest(store, "incoming/bundles/shoe", "front.jpg")
    request = _request("incoming/bundles/shoe/v2/side.jpg", store)
    early = judge_bundle_file(request, store, CONFIG, waited=False)
    assert early.verdict == "not_listed"
    assert early.rejection is None
    # When the nested bundle's manifest arrives during the wait, Then the file is in it
    _manifest(store, "incoming/bundles/shoe/v2", "side.jpg")
    assert judge_bundle_file(request, store, CONFIG, waited=True).verdict == "listed"
    # And a file no manifest takes after the wait is quarantined, naming the manifest
    stray = _request("incoming/bundles/shoe/extra.jpg", store)
    late = judge_bundle_file(stray, store, CONFIG, waited=True)
    assert late.rejection is not None
    assert late.rejection.code is RejectionCode.NOT_IN_MANIFEST
    assert "incoming/bundles/shoe/manifest.json" in late.rejection.message


def test_a_file_without_a_manifest_waits_then_is_quarantined():
    store = InMemoryObjectStore()
    request = _request("incoming/bundles/shoe/front.jpg", store)
    # Before the wait: no verdict to record yet
    early = judge_bundle_file(request, store, CONFIG, waited=False)
    assert early.verdict == "no_manifest"
    assert early.rejection is None
    # After it: quarantined, saying how long it waited
    late = judge_bundle_file(request, store, CONFIG, waited=True)
    assert late.rejection is not None
    assert late.rejection.code is RejectionCode.MANIFEST_MISSING
    assert "15 min" in late.rejection.message


@pytest.mark.parametrize("key", ["incoming/bundles/loose.png", "incoming/bundles/manifest.json"])
def test_a_file_directly_under_the_bundle_prefix_is_quarantined_without_a_wait(key):
    # No manifest can ever take it: a bundle is a folder
    store = InMemoryObjectStore()
    verdict = judge_bundle_file(_request(key, store), store, CONFIG, waited=False)
    assert verdict.rejection is not None
    assert verdict.rejection.code is RejectionCode.MANIFEST_MISSING
    assert "a bundle is a folder" in verdict.rejection.message


@pytest.mark.parametrize("name", ["Manifest.json", "MANIFEST.JSON", "manifest.JSON"])
def test_a_misnamed_manifest_is_quarantined_with_its_own_reason(name):
    store = InMemoryObjectStore()
    verdict = judge_bundle_file(
        _request(f"incoming/bundles/boot/{name}"), store, CONFIG, waited=False
    )
    assert verdict.rejection is not None
    assert verdict.rejection.code is RejectionCode.MISNAMED_MANIFEST
    assert "manifest.json" in verdict.rejection.message


@pytest.mark.parametrize("body", [b"{not json", b'{"assets": "x"}', b"[]", b"\xff\xfe"])
def test_a_file_under_an_unreadable_manifest_is_left_to_that_bundles_quarantine(body):
    store = InMemoryObjectStore()
    store.put(BUCKET, "incoming/bundles/shoe/manifest.json", body)
    verdict = judge_bundle_file(
        _request("incoming/bundles/shoe/front.jpg"), store, CONFIG, waited=True
    )
    assert verdict.verdict == "bundle_rejected"
    assert verdict.rejection is None
