"""Local mode's S3 Vectors (moto plus patches 27 to 30): QueryVectors' distances and filters
checked against numpy by hand, the service's limits refused as the service refuses them, the
index's non-filterable keys, ListVectors' pages, IAM's extra GetVectors for a filtered query,
the index created from a template, and the real adapter against all of it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws
from moto.s3vectors import urls as s3vectors_urls
from moto.s3vectors.responses import S3VectorsResponse

from mmpipe.local import moto_patches
from mmpipe.local.iam import identity
from mmpipe.local.iam.enforcement import Enforcement
from mmpipe.local.iam.identity import Identities
from mmpipe.local.moto_patches import s3vectors as s3vectors_patches
from mmpipe.local.resources import create_vector_indexes
from mmpipe.local.template import REGION, CloudAssembly
from pipeline.adapters.vector_index import IndexedVector, S3VectorIndex
from pipeline.errors import ServiceThrottled
from pipeline_contracts.search import NON_FILTERABLE_KEYS

BUCKET = "search-vectors"
NON_FILTERABLE = list(NON_FILTERABLE_KEYS)  # the contract's: snippet, source_key, result_uri
# One session for every test's clients: a new one loads botocore's models again (0.1 s).
SESSION = boto3.Session(region_name=REGION)


def _client(access_key: str = "local", secret_key: str = "local", token: str | None = None) -> Any:
    return SESSION.client(
        "s3vectors",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=token,
    )


@pytest.fixture
def s3vectors(monkeypatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        moto_patches.install(lambda_runner=lambda *_: None, processing_runner=dict, scale=1.0)
        try:
            client = _client()
            client.create_vector_bucket(vectorBucketName=BUCKET)
            yield client
        finally:
            moto_patches.uninstall()


def _index(client: Any, name: str, dimension: int, metric: str = "cosine") -> dict[str, str]:
    client.create_index(
        vectorBucketName=BUCKET,
        indexName=name,
        dataType="float32",
        dimension=dimension,
        distanceMetric=metric,
        metadataConfiguration={"nonFilterableMetadataKeys": NON_FILTERABLE},
    )
    return {"vectorBucketName": BUCKET, "indexName": name}


def _put(client: Any, where: dict[str, str], vectors: dict[str, Any], **metadata: Any) -> None:
    client.put_vectors(
        **where,
        vectors=[
            {
                "key": key,
                "data": {"float32": [float(x) for x in vector]},
                "metadata": metadata.get(key, {}),
            }
            for key, vector in vectors.items()
        ],
    )


def _refusal(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = error.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


# --- distances and order --------------------------------------------------------------------

RNG = np.random.default_rng(7)
POINTS = {f"v{i}": RNG.standard_normal(8).astype(np.float32) for i in range(12)}
QUERY = RNG.standard_normal(8).astype(np.float32)


def _by_hand(metric: str) -> list[tuple[str, float]]:
    """What the distances are, computed here without the emulation."""
    distances = {}
    for key, point in POINTS.items():
        a, b = point.astype(np.float64), QUERY.astype(np.float64)
        if metric == "cosine":
            distances[key] = 1 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
        else:
            distances[key] = float(np.sqrt(((a - b) ** 2).sum()))
    return sorted(distances.items(), key=lambda kv: kv[1])


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_query_returns_the_nearest_by_the_index_metric(s3vectors, metric) -> None:
    # Given twelve vectors in an index of that metric
    where = _index(s3vectors, f"points-{metric}", 8, metric)
    _put(s3vectors, where, POINTS)

    # When the five nearest to a query are asked for, with their distances
    answer = s3vectors.query_vectors(
        **where, queryVector={"float32": QUERY.tolist()}, topK=5, returnDistance=True
    )

    # Then they are the five nearest by numpy, nearest first, at numpy's distances
    expected = _by_hand(metric)[:5]
    assert answer["distanceMetric"] == metric
    assert [v["key"] for v in answer["vectors"]] == [k for k, _ in expected]
    assert [v["distance"] for v in answer["vectors"]] == pytest.approx(
        [d for _, d in expected], rel=1e-5, abs=1e-6
    )
    assert all("metadata" not in v for v in answer["vectors"])


def test_top_k_bounds_the_answer_and_above_100_is_refused(s3vectors) -> None:
    where = _index(s3vectors, "points", 8)
    _put(s3vectors, where, POINTS)
    query = {"float32": QUERY.tolist()}

    assert len(s3vectors.query_vectors(**where, queryVector=query, topK=1)["vectors"]) == 1
    assert len(s3vectors.query_vectors(**where, queryVector=query, topK=100)["vectors"]) == 12
    with pytest.raises(ClientError) as refused:
        s3vectors.query_vectors(**where, queryVector=query, topK=101)
    assert _refusal(refused)[:2] == ("ValidationException", 400)


def test_a_query_vector_of_another_dimension_is_refused(s3vectors) -> None:
    where = _index(s3vectors, "points", 8)
    _put(s3vectors, where, POINTS)
    with pytest.raises(ClientError) as refused:
        s3vectors.query_vectors(**where, queryVector={"float32": [1.0, 2.0]}, topK=3)
    code, status, message = _refusal(refused)
    assert (code, status) == ("ValidationException", 400)
    assert "length 8" in message


# --- metadata filters -----------------------------------------------------------------------

METADATA = {
    "a": {"modality": "image", "page": 1, "tags": ["x", "y"], "flag": True, "snippet": "cat"},
    "b": {"modality": "text", "page": 2, "tags": ["y"]},
    "c": {"modality": "speech", "page": 3, "start_s": 1.5},
    "d": {"modality": "image", "page": 10, "flag": False},
    "e": {"modality": "video", "page": "2", "flag": 1},
}


@pytest.fixture
def described(s3vectors) -> dict[str, str]:
    where = _index(s3vectors, "described", 2)
    # Distinct directions, so every vector has a distinct distance to the query
    points = {key: [1.0, float(i)] for i, key in enumerate(METADATA)}
    _put(s3vectors, where, points, **METADATA)
    return where


def _found(client: Any, where: dict[str, str], filter: Any, top_k: int = 100) -> list[str]:
    answer = client.query_vectors(
        **where, queryVector={"float32": [1.0, 0.0]}, topK=top_k, filter=filter
    )
    return [v["key"] for v in answer["vectors"]]


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        pytest.param({"modality": "image"}, {"a", "d"}, id="bare-value-is-eq"),
        pytest.param({"modality": {"$eq": "image"}}, {"a", "d"}, id="eq"),
        pytest.param({"modality": {"$ne": "image"}}, {"b", "c", "e"}, id="ne"),
        pytest.param({"page": {"$gt": 2}}, {"c", "d"}, id="gt"),
        pytest.param({"page": {"$gte": 2}}, {"b", "c", "d"}, id="gte-ignores-the-string-2"),
        pytest.param({"page": {"$lt": 3}}, {"a", "b"}, id="lt"),
        pytest.param({"page": {"$lte": 3}}, {"a", "b", "c"}, id="lte"),
        pytest.param({"page": {"$gte": 2, "$lt": 10}}, {"b", "c"}, id="two-operators-are-and"),
        pytest.param({"modality": {"$in": ["text", "speech"]}}, {"b", "c"}, id="in"),
        pytest.param({"modality": {"$nin": ["image", "text"]}}, {"c", "e"}, id="nin"),
        pytest.param({"start_s": {"$exists": True}}, {"c"}, id="exists"),
        pytest.param({"start_s": {"$exists": False}}, {"a", "b", "d", "e"}, id="not-exists"),
        pytest.param({"tags": "x"}, {"a"}, id="eq-matches-an-element-of-a-list"),
        pytest.param({"tags": {"$eq": "y"}}, {"a", "b"}, id="eq-on-lists"),
        pytest.param({"tags": {"$in": ["x", "z"]}}, {"a"}, id="in-on-lists"),
        pytest.param({"$and": [{"modality": "image"}, {"page": {"$gt": 5}}]}, {"d"}, id="and"),
        pytest.param({"$or": [{"modality": "text"}, {"flag": True}]}, {"a", "b"}, id="or"),
        pytest.param(
            {"$or": [{"$and": [{"modality": "image"}, {"flag": False}]}, {"page": 3}]},
            {"c", "d"},
            id="nested",
        ),
        pytest.param({"modality": "image", "flag": False}, {"d"}, id="several-keys-are-and"),
        pytest.param({"flag": True}, {"a"}, id="true-is-not-1"),
        pytest.param({"page": 2}, {"b"}, id="2-is-not-the-string-2"),
    ],
)
def test_each_filter_operator_selects_what_the_documentation_says(
    s3vectors, described, filter, expected
) -> None:
    assert set(_found(s3vectors, described, filter)) == expected


def test_the_filter_applies_before_top_k(s3vectors, described) -> None:
    # Given "a" nearest to the query, When one vector is asked for among the videos
    assert _found(s3vectors, described, None, top_k=1) == ["a"]
    # Then the nearest video comes back, not an empty answer
    assert _found(s3vectors, described, {"modality": "video"}, top_k=1) == ["e"]


@pytest.mark.parametrize(
    ("filter", "says"),
    [
        pytest.param({"snippet": "cat"}, "non-filterable", id="non-filterable-key"),
        pytest.param(
            {"$or": [{"modality": "text"}, {"result_uri": {"$exists": True}}]},
            "non-filterable",
            id="non-filterable-key-nested",
        ),
        pytest.param({"modality": {"$regex": "im.*"}}, "$regex", id="unknown-operator"),
        pytest.param({"modality": {"$in": []}}, "non-empty", id="empty-in"),
        pytest.param({"page": {"$gt": "2"}}, "number", id="gt-on-a-string"),
        pytest.param({"$and": {"modality": "text"}}, "array", id="and-of-an-object"),
        pytest.param({"start_s": {"$exists": 1}}, "boolean", id="exists-of-a-number"),
    ],
)
def test_an_invalid_filter_is_a_400(s3vectors, described, filter, says) -> None:
    with pytest.raises(ClientError) as refused:
        _found(s3vectors, described, filter)
    code, status, message = _refusal(refused)
    assert (code, status) == ("ValidationException", 400)
    assert says in message


def test_metadata_comes_back_whole_non_filterable_keys_included(s3vectors, described) -> None:
    answer = s3vectors.query_vectors(
        **described, queryVector={"float32": [1.0, 0.0]}, topK=1, returnMetadata=True
    )
    assert answer["vectors"] == [{"key": "a", "metadata": METADATA["a"]}]


def test_the_index_keeps_its_non_filterable_keys(s3vectors) -> None:
    where = _index(s3vectors, "configured", 4)
    index = s3vectors.get_index(**where)["index"]
    assert index["metadataConfiguration"] == {"nonFilterableMetadataKeys": NON_FILTERABLE}
    assert "creationTime" in index


# --- PutVectors, GetVectors, DeleteVectors limits ----------------------------------------


def _vector(key: str = "k", data: Any = (1.0, 0.0, 0.0, 0.0), **metadata: Any) -> dict[str, Any]:
    return {"key": key, "data": {"float32": list(data)}, "metadata": metadata}


@pytest.mark.parametrize(
    ("vectors", "says"),
    [
        pytest.param([_vector(f"k{i}") for i in range(501)], "between 1 and 500", id="501"),
        pytest.param([_vector(data=[1.0, 0.0])], "length 4", id="wrong-dimension"),
        pytest.param([_vector(data=[float("nan"), 1, 0, 0])], "NaN", id="nan"),
        pytest.param([_vector(data=[float("inf"), 1, 0, 0])], "Infinity", id="infinity"),
        pytest.param([_vector(data=[1e39, 1, 0, 0])], "finite", id="beyond-float32"),
        pytest.param([_vector(data=[0.0] * 4)], "zero vectors", id="zero-in-cosine"),
        pytest.param([_vector("k" * 1025)], "between 1 and 1024", id="key-over-1024"),
        pytest.param([_vector(modality="x" * 2100)], "2048 bytes", id="filterable-over-2-kb"),
        pytest.param([_vector(snippet="x" * 41_000)], "40960 bytes", id="metadata-over-40-kb"),
        pytest.param([_vector(**{f"m{i}": i for i in range(51)})], "at most 50 keys", id="51-keys"),
        pytest.param([_vector(nested={"a": 1})], "string, number, boolean", id="object-value"),
    ],
)
def test_put_vectors_refuses_what_the_service_refuses(s3vectors, vectors, says) -> None:
    where = _index(s3vectors, "limits", 4)
    with pytest.raises(ClientError) as refused:
        s3vectors.put_vectors(**where, vectors=vectors)
    code, status, message = _refusal(refused)
    assert (code, status) == ("ValidationException", 400)
    assert says in message
    assert s3vectors.list_vectors(**where)["vectors"] == []  # nothing of the call was written


def test_what_the_limits_allow_is_stored_as_float32(s3vectors) -> None:
    # Given 500 vectors, a 2 KB snippet that is non-filterable, a zero vector in a
    # euclidean index and a value float32 cannot hold exactly
    where = _index(s3vectors, "allowed", 4, "euclidean")
    vectors = [_vector(f"k{i}", snippet="x" * 2100, modality="x" * 1900) for i in range(498)]
    vectors += [_vector("tenth", data=[0.0, 0.0, 0.0, 0.1]), _vector("origin", data=[0.0] * 4)]

    # When those 500 are written (and one more would be refused)
    with pytest.raises(ClientError):
        s3vectors.put_vectors(**where, vectors=[*vectors, _vector("extra")])
    s3vectors.put_vectors(**where, vectors=vectors)

    # Then all are stored, 0.1 as the float32 nearest to it
    assert len(s3vectors.list_vectors(**where, maxResults=1000)["vectors"]) == 500
    stored = s3vectors.get_vectors(**where, keys=["tenth", "origin"], returnData=True)["vectors"]
    by_key = {v["key"]: v["data"]["float32"] for v in stored}
    assert by_key["origin"] == [0.0] * 4
    assert by_key["tenth"][3] == float(np.float32(0.1)) != 0.1


def test_get_and_delete_refuse_too_many_keys(s3vectors) -> None:
    where = _index(s3vectors, "keys", 4)
    with pytest.raises(ClientError) as refused:
        s3vectors.get_vectors(**where, keys=[f"k{i}" for i in range(101)])
    assert "between 1 and 100" in _refusal(refused)[2]
    with pytest.raises(ClientError) as refused:
        s3vectors.delete_vectors(**where, keys=[f"k{i}" for i in range(501)])
    assert "between 1 and 500" in _refusal(refused)[2]
    s3vectors.get_vectors(**where, keys=[f"k{i}" for i in range(100)])
    s3vectors.delete_vectors(**where, keys=[f"k{i}" for i in range(500)])


def test_a_deleted_vector_is_no_longer_found(s3vectors) -> None:
    where = _index(s3vectors, "points", 8)
    _put(s3vectors, where, POINTS)
    nearest = _by_hand("cosine")[0][0]
    s3vectors.delete_vectors(**where, keys=[nearest])
    answer = s3vectors.query_vectors(**where, queryVector={"float32": QUERY.tolist()}, topK=100)
    assert nearest not in {v["key"] for v in answer["vectors"]}
    assert len(answer["vectors"]) == 11


# --- ListVectors ----------------------------------------------------------------------------


def test_list_vectors_pages_through_every_vector(s3vectors) -> None:
    # Given 25 vectors
    where = _index(s3vectors, "listed", 2)
    _put(s3vectors, where, {f"k{i:02}": [1.0, float(i)] for i in range(25)})

    # When listed ten at a time
    pages, request = [], dict(where, maxResults=10)
    while True:
        page = s3vectors.list_vectors(**request)
        pages.append(page["vectors"])
        if "nextToken" not in page:
            break
        request["nextToken"] = page["nextToken"]

    # Then three pages hold each vector once, keys only unless data is asked for
    assert [len(p) for p in pages] == [10, 10, 5]
    assert sorted(v["key"] for p in pages for v in p) == [f"k{i:02}" for i in range(25)]
    assert all(set(v) == {"key"} for p in pages for v in p)
    with_data = s3vectors.list_vectors(**where, maxResults=1, returnData=True)["vectors"]
    assert set(with_data[0]) == {"key", "data"}


def test_list_vectors_segments_split_the_index_and_1001_is_refused(s3vectors) -> None:
    where = _index(s3vectors, "segmented", 2)
    _put(s3vectors, where, {f"k{i:02}": [1.0, float(i)] for i in range(30)})
    segments = [
        {
            v["key"]
            for v in s3vectors.list_vectors(**where, segmentCount=3, segmentIndex=i)["vectors"]
        }
        for i in range(3)
    ]
    assert sum(len(s) for s in segments) == 30
    assert set().union(*segments) == {f"k{i:02}" for i in range(30)}
    with pytest.raises(ClientError) as refused:
        s3vectors.list_vectors(**where, maxResults=1001)
    assert _refusal(refused)[:2] == ("ValidationException", 400)


# --- the adapter ----------------------------------------------------------------------------


def test_the_adapter_writes_lists_queries_and_deletes_in_the_services_batches(s3vectors) -> None:
    # Given the adapter on an index of dimension 4, counting the calls it makes
    _index(s3vectors, "adapter", 4)
    calls: list[tuple[str, int]] = []

    def count(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, len(params.get("vectors") or params.get("keys") or [])))

    s3vectors.meta.events.register("provide-client-params.s3vectors.*", count)
    index = S3VectorIndex(BUCKET, "adapter", client=s3vectors)
    vectors = [
        IndexedVector(f"item-{i:04}", [1.0, float(i % 7), 0.5, 0.0], {"item_id": f"i{i % 3}"})
        for i in range(1200)
    ]

    # When 1,200 vectors are put
    written = index.put(vectors)

    # Then in three calls of at most 500, reporting 4 bytes a dimension, key and metadata
    assert calls == [("PutVectors", 500), ("PutVectors", 500), ("PutVectors", 200)]
    assert written == sum(
        16 + len(v.key) + len(json.dumps(v.metadata, separators=(",", ":"))) for v in vectors
    )

    # And every vector comes back through ListVectors' pages, data and metadata whole
    exported = list(index.every_vector())
    assert len(exported) == 1200
    assert {v.key: (list(v.vector), v.metadata) for v in exported} == {
        v.key: (list(v.vector), v.metadata) for v in vectors
    }

    # And a query answers matches with distances and metadata, filtered
    matches = index.query([1.0, 0.0, 0.5, 0.0], 3, {"item_id": "i1"})
    assert len(matches) == 3
    assert all(m.metadata["item_id"] == "i1" for m in matches)
    assert matches[0].distance == pytest.approx(0.0, abs=1e-6)

    # And the description is the index's, its ARN read once when asked for
    description = index.describe()
    assert description.dimension == 4
    assert description.distance_metric == "cosine"
    assert description.non_filterable_keys == tuple(NON_FILTERABLE)
    assert index.index_arn == description.arn

    # And deleting all of them takes three calls and leaves the index empty
    calls.clear()
    index.delete([v.key for v in vectors])
    assert calls == [("DeleteVectors", 500), ("DeleteVectors", 500), ("DeleteVectors", 200)]
    assert list(index.every_vector()) == []


def test_the_adapter_turns_throttling_into_the_retryable_exception() -> None:
    client = _client()
    with Stubber(client) as stub:
        stub.add_client_error(
            "query_vectors", service_error_code="TooManyRequestsException", http_status_code=429
        )
        with pytest.raises(ServiceThrottled):
            S3VectorIndex(BUCKET, "any", client=client).query([1.0], 1, None)


# --- IAM -------------------------------------------------------------------------------------


def test_a_filtered_query_needs_get_vectors_as_well(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    with mock_aws():
        # Given two roles on one index: one may only query it, the other may also read it
        identities = Identities(REGION)
        iam = boto3.client("iam", region_name=REGION)
        index_arn = f"arn:aws:s3vectors:{REGION}:123456789012:bucket/{BUCKET}/index/guarded"
        credentials = {}
        for role, actions in (
            ("QueryOnly", ["s3vectors:QueryVectors"]),
            ("QueryAndRead", ["s3vectors:QueryVectors", "s3vectors:GetVectors"]),
        ):
            arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            policy = {"Effect": "Allow", "Action": actions, "Resource": index_arn}
            iam.put_role_policy(
                RoleName=role,
                PolicyName="search",
                PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [policy]}),
            )
            credentials[role] = identities.assume(arn, role)
        moto_patches.install(
            lambda_runner=lambda *_: None,
            processing_runner=dict,
            scale=1.0,
            enforcement=Enforcement(identities),
        )
        try:

            def client(keys: Any) -> Any:
                return _client(keys.access_key, keys.secret_key, keys.token)

            operator = client(identities.operator)
            operator.create_vector_bucket(vectorBucketName=BUCKET)
            where = _index(operator, "guarded", 2)
            _put(operator, where, {"a": [1.0, 0.0]}, a={"modality": "text"})
            query = {**where, "queryVector": {"float32": [1.0, 0.0]}, "topK": 1}

            # When the query-only role queries without, then with, a filter
            plain = client(credentials["QueryOnly"]).query_vectors(**query)
            with pytest.raises(ClientError) as refused:
                client(credentials["QueryOnly"]).query_vectors(**query, filter={"modality": "text"})

            # Then the filtered query is a 403 naming s3vectors:GetVectors on the index
            assert [v["key"] for v in plain["vectors"]] == ["a"]
            code, status, message = _refusal(refused)
            assert (code, status) == ("AccessDeniedException", 403)
            assert f"s3vectors:GetVectors on resource: {index_arn}" in message
            # And the role that may read answers it
            answer = client(credentials["QueryAndRead"]).query_vectors(
                **query, filter={"modality": "text"}, returnMetadata=True
            )
            assert answer["vectors"] == [{"key": "a", "metadata": {"modality": "text"}}]
        finally:
            moto_patches.uninstall()
            identity.uninstall()


# --- the template's resources ---------------------------------------------------------------


def test_vector_buckets_and_indexes_are_created_as_the_template_declares(s3vectors) -> None:
    # Given a template with an unnamed bucket, an index on it by ARN (unnamed too) and a
    # named index on a named bucket
    template = {
        "Resources": {
            "SearchVectors": {
                "Type": "AWS::S3Vectors::VectorBucket",
                "Properties": {"EncryptionConfiguration": {"SseType": "AES256"}},
            },
            "SearchIndex": {
                "Type": "AWS::S3Vectors::Index",
                "Properties": {
                    "VectorBucketArn": {"Fn::GetAtt": ["SearchVectors", "VectorBucketArn"]},
                    "DataType": "float32",
                    "Dimension": 1024,
                    "DistanceMetric": "cosine",
                    "MetadataConfiguration": {"NonFilterableMetadataKeys": NON_FILTERABLE},
                },
            },
            "NamedBucket": {
                "Type": "AWS::S3Vectors::VectorBucket",
                "Properties": {"VectorBucketName": "named-vectors"},
            },
            "NamedIndex": {
                "Type": "AWS::S3Vectors::Index",
                "Properties": {
                    "VectorBucketName": "named-vectors",
                    "IndexName": "titan.v2-256",
                    "DataType": "float32",
                    "Dimension": 256,
                    "DistanceMetric": "euclidean",
                },
            },
        }
    }
    assembly = CloudAssembly(
        outdir=Path("cdk.out"), stack_name="Test", template=template, assets={}
    )

    # When they are created in moto
    created = create_vector_indexes(assembly, s3vectors)

    # Then each index is where Ref and Fn::GetAtt say, with the template's settings
    search = s3vectors.get_index(indexArn=assembly.resolve({"Ref": "SearchIndex"}))["index"]
    assert search["indexArn"] == assembly.resolve({"Fn::GetAtt": ["SearchIndex", "IndexArn"]})
    assert search["indexArn"] == created["SearchIndex"].arn
    assert (search["dimension"], search["distanceMetric"]) == (1024, "cosine")
    assert search["metadataConfiguration"] == {"nonFilterableMetadataKeys": NON_FILTERABLE}
    bucket = search["vectorBucketName"]
    assert bucket == created["SearchIndex"].bucket_name
    assert 3 <= len(bucket) <= 63
    assert set(bucket) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    assert assembly.resolve({"Ref": "SearchVectors"}) == (
        f"arn:aws:s3vectors:{REGION}:123456789012:bucket/{bucket}"
    )
    named = s3vectors.get_index(vectorBucketName="named-vectors", indexName="titan.v2-256")
    assert named["index"]["indexArn"] == assembly.resolve({"Ref": "NamedIndex"})
    assert named["index"]["distanceMetric"] == "euclidean"
    assert created["NamedIndex"].non_filterable_keys == ()
    assert assembly.resolve({"Fn::GetAtt": ["NamedIndex", "CreationTime"]}).endswith("Z")


# --- reversibility -------------------------------------------------------------------------


def test_uninstall_gives_moto_its_own_s3vectors_back(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    original_put = S3VectorsResponse.put_vectors

    # Given the patches installed, then removed
    moto_patches.install(lambda_runner=lambda *_: None, processing_runner=dict, scale=1.0)
    assert S3VectorsResponse.put_vectors is not original_put
    assert hasattr(S3VectorsResponse, "query_vectors")
    moto_patches.uninstall()

    # Then moto has no QueryVectors again, and takes 501 vectors as it did
    assert S3VectorsResponse.put_vectors is original_put
    assert not hasattr(S3VectorsResponse, "query_vectors")
    assert s3vectors_patches._QUERY_ROUTE not in s3vectors_urls.url_paths
    with mock_aws():
        client = _client()
        client.create_vector_bucket(vectorBucketName=BUCKET)
        where = _index(client, "plain", 4)
        client.put_vectors(**where, vectors=[_vector(f"k{i}") for i in range(501)])
        assert len(client.list_vectors(**where)["vectors"]) == 501
