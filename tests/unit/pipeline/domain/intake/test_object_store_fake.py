"""The in-memory ObjectStore behaves like S3 where the pipeline relies on it."""

from __future__ import annotations

import pytest

from pipeline.adapters.storage import ObjectMissing, ObjectStore, put_json, read_json
from pipeline.errors import ServiceThrottled
from pipeline_contracts.item import ObjectRef
from tests.fakes import InMemoryObjectStore


def test_it_satisfies_the_protocol():
    # Given the fake; When it is used where an ObjectStore is expected; Then it type-checks
    store: ObjectStore = InMemoryObjectStore()
    assert store.put_bytes("b", "k", b"x", "text/plain") == "s3://b/k"


def test_versions_and_delete_markers():
    # Given two versions of a key, then a delete
    store = InMemoryObjectStore()
    first = store.put("b", "k", b"one")
    second = store.put("b", "k", b"two!")
    store.delete("b", "k")
    # When the versions and the latest are read
    # Then each version is still readable, the latest is missing, and listing hides it
    assert store.read_bytes(first) == b"one"
    assert store.size(second) == 4
    with pytest.raises(ObjectMissing):
        store.size(ObjectRef(bucket="b", key="k"))
    with pytest.raises(ObjectMissing):
        store.read_bytes(ObjectRef(bucket="b", key="k", version_id="nope"))
    assert list(store.list_keys("b", "")) == []


def test_ranged_reads_and_downloads(tmp_path):
    # Given an object
    store = InMemoryObjectStore()
    ref = store.put("b", "dir/k", b"0123456789")
    # When it is read with a range and downloaded
    store.download(ref, tmp_path / "deep" / "copy")
    # Then the range is from byte 0, and the download creates folders
    assert store.read_bytes(ref, max_bytes=4) == b"0123"
    assert store.read_bytes(ref, max_bytes=100) == b"0123456789"
    assert (tmp_path / "deep" / "copy").read_bytes() == b"0123456789"
    assert [call.max_bytes for call in store.calls_to("read_bytes")] == [4, 100]


def test_listing_is_by_prefix_in_utf8_order():
    # Given keys with non-ASCII characters
    store = InMemoryObjectStore()
    for key in ("p/é", "p/z", "p/a", "q/a"):
        store.put("b", key, b"x")
    # When a prefix is listed
    # Then only that prefix, in S3's binary UTF-8 order
    assert list(store.list_keys("b", "p/")) == ["p/a", "p/z", "p/é"]


def test_copy_json_helpers_and_injected_failures():
    # Given a JSON document written through the shared helper
    store = InMemoryObjectStore()
    uri = put_json(store, "b", "doc.json", {"a": 1})
    # When it is copied and read back, and a failure is injected
    store.copy(ObjectRef(bucket="b", key="doc.json"), "c", "copy.json")
    store.fail_next("size", ServiceThrottled("slow down"))
    # Then the copy matches and the next call fails once
    assert read_json(store, "s3://c/copy.json") == {"a": 1}
    assert store.content_type("c", "copy.json") == "application/json"
    assert uri == "s3://b/doc.json"
    with pytest.raises(ServiceThrottled):
        store.size(ObjectRef(bucket="b", key="doc.json"))
    assert store.size(ObjectRef(bucket="b", key="doc.json")) > 0
