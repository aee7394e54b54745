"""What IAM checks for an S3 Vectors request, from the Service Authorization Reference and the
API references (QueryVectors and ListVectors read metadata or data with GetVectors too)."""

from __future__ import annotations

from typing import Any

import pytest

from mmpipe.local.iam.policies import Permission
from mmpipe.local.iam.requests import AwsRequest, permissions_for

ACCOUNT, REGION = "123456789012", "us-east-1"
BUCKET = f"arn:aws:s3vectors:{REGION}:{ACCOUNT}:bucket/vectors"
INDEX = f"{BUCKET}/index/search"
BY_NAME = {"vectorBucketName": "vectors", "indexName": "search"}


def _needs(operation: str, params: dict[str, Any]) -> list[tuple[str, str | None]]:
    request = AwsRequest(
        service="s3vectors",
        operation=operation,
        params=params,
        region=REGION,
        account=ACCOUNT,
        headers={},
    )
    return [(p.action, p.resource) for p in permissions_for(request)]


@pytest.mark.parametrize(
    ("operation", "params", "needs"),
    [
        pytest.param(
            "QueryVectors", BY_NAME, [("s3vectors:QueryVectors", INDEX)], id="query-keys-only"
        ),
        pytest.param(
            "QueryVectors",
            {"indexArn": INDEX, "returnDistance": True},
            [("s3vectors:QueryVectors", INDEX)],
            id="query-by-arn-with-distances",
        ),
        pytest.param(
            "QueryVectors",
            {**BY_NAME, "filter": {"modality": "image"}},
            [("s3vectors:QueryVectors", INDEX), ("s3vectors:GetVectors", INDEX)],
            id="query-with-a-filter",
        ),
        pytest.param(
            "QueryVectors",
            {**BY_NAME, "returnMetadata": True},
            [("s3vectors:QueryVectors", INDEX), ("s3vectors:GetVectors", INDEX)],
            id="query-returning-metadata",
        ),
        pytest.param(
            "ListVectors",
            {**BY_NAME, "returnData": True},
            [("s3vectors:ListVectors", INDEX), ("s3vectors:GetVectors", INDEX)],
            id="list-with-data",
        ),
        pytest.param("ListVectors", BY_NAME, [("s3vectors:ListVectors", INDEX)], id="list-keys"),
        pytest.param("PutVectors", BY_NAME, [("s3vectors:PutVectors", INDEX)], id="put"),
        pytest.param("DeleteVectors", BY_NAME, [("s3vectors:DeleteVectors", INDEX)], id="delete"),
        pytest.param(
            "CreateIndex",
            {"vectorBucketArn": BUCKET, "indexName": "search", "tags": {"team": "x"}},
            [("s3vectors:CreateIndex", INDEX), ("s3vectors:TagResource", INDEX)],
            id="create-index-with-tags",
        ),
        pytest.param(
            "CreateVectorBucket",
            {"vectorBucketName": "vectors"},
            [("s3vectors:CreateVectorBucket", BUCKET)],
            id="create-bucket",
        ),
        pytest.param(
            "ListIndexes",
            {"vectorBucketArn": BUCKET},
            [("s3vectors:ListIndexes", BUCKET)],
            id="list-indexes",
        ),
        pytest.param(
            "ListVectorBuckets", {}, [("s3vectors:ListVectorBuckets", "*")], id="list-buckets"
        ),
        pytest.param(
            "ListTagsForResource",
            {"resourceArn": INDEX.replace("/", "%2F")},
            [("s3vectors:ListTagsForResource", INDEX)],
            id="tags-on-the-uri",
        ),
    ],
)
def test_each_operation_needs_its_action_on_the_bucket_or_the_index(
    operation: str, params: dict[str, Any], needs: list[tuple[str, str | None]]
) -> None:
    assert _needs(operation, params) == needs


def test_every_s3vectors_need_names_a_resource() -> None:
    # A need without a resource is reported as unmapped: every operation the adapter calls
    # names one.
    for operation in ("PutVectors", "DeleteVectors", "QueryVectors", "ListVectors", "GetIndex"):
        request = AwsRequest("s3vectors", operation, BY_NAME, REGION, ACCOUNT, {})
        assert all(isinstance(p, Permission) and p.resource for p in permissions_for(request))
