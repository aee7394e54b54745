"""The S3 adapter's requests are valid S3 requests (botocore's Stubber checks each against
the API model, with no network), and S3's errors become the pipeline's."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from pipeline.adapters.storage import ObjectMissing, S3ObjectStore
from pipeline.errors import AccessDenied
from pipeline_contracts.item import ObjectRef
from tests.unit.pipeline.adapters.stubbed import stubbed_client


class TestS3ObjectStore:
    ref = ObjectRef(bucket="ingest", key="incoming/a.png", version_id="v1")

    def test_reads_name_the_version_and_a_range(self) -> None:
        client = stubbed_client("s3")
        with Stubber(client) as stub:
            stub.add_response(
                "head_object",
                {"ContentLength": 7},
                {"Bucket": "ingest", "Key": "incoming/a.png", "VersionId": "v1"},
            )
            stub.add_client_error("get_object", "NoSuchKey", http_status_code=404)
            store = S3ObjectStore(client)
            assert store.size(self.ref) == 7
            with pytest.raises(ObjectMissing):
                store.read_bytes(self.ref, max_bytes=10)

    def test_a_refused_head_is_access_denied_not_a_missing_object(self) -> None:
        # HEAD answers carry no body: botocore reports the bare status code, "403".
        client = stubbed_client("s3")
        with Stubber(client) as stub:
            stub.add_client_error("head_object", "403", http_status_code=403)
            with pytest.raises(AccessDenied):
                S3ObjectStore(client).size(self.ref)

    def test_writes_and_copies(self) -> None:
        client = stubbed_client("s3")
        with Stubber(client) as stub:
            stub.add_response(
                "put_object",
                {},
                {
                    "Bucket": "processed",
                    "Key": "work/x.json",
                    "Body": b"{}",
                    "ContentType": "application/json",
                },
            )
            stub.add_response(
                "copy_object",
                {},
                {
                    "CopySource": {"Bucket": "ingest", "Key": "incoming/a.png", "VersionId": "v1"},
                    "Bucket": "processed",
                    "Key": "quarantine/objects/i/a.png",
                },
            )
            store = S3ObjectStore(client)
            assert store.put_bytes("processed", "work/x.json", b"{}", "application/json") == (
                "s3://processed/work/x.json"
            )
            store.copy(self.ref, "processed", "quarantine/objects/i/a.png")
