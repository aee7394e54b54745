"""Answering a search (domain/search.py) and asking a deployment for one (mmpipe/search.py,
botocore's Stubber: the request shapes are checked against the service models)."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from pydantic import ValidationError

from mmpipe.search import SearchFailed, invoke_search, stack_search_function, where
from pipeline.adapters.embeddings import Embedding
from pipeline.adapters.vector_index import VectorMatch
from pipeline.domain.search import QueryInvalid, query_filter, search
from pipeline_contracts.search import SearchHit, SearchRequest, SearchResponse


@dataclass
class Embedder:
    model_id: str = "amazon.nova-2-multimodal-embeddings-v1:0"
    dimension: int = 3
    asked: list[tuple[str, str]] = field(default_factory=list)

    def embed_text(self, text: str, purpose: str) -> Embedding:
        self.asked.append(("text", purpose))
        return Embedding([1.0, 0.0, 0.0], 1)

    def embed_image(self, image: bytes, image_format: str, purpose: str) -> Embedding:
        self.asked.append((f"image:{image_format}:{image!r}", purpose))
        return Embedding([0.0, 1.0, 0.0], 0)


@dataclass
class Index:
    index_arn: str = "arn:aws:s3vectors:us-east-1:123456789012:bucket/b/index/i"
    asked: list[dict[str, Any]] = field(default_factory=list)

    def query(self, vector, top_k, filter):
        self.asked.append({"vector": list(vector), "top_k": top_k, "filter": filter})
        metadata = {
            "item_id": "talk",
            "asset_id": "a1",
            "modality": "speech",
            "embedded": "text",
            "start_s": 30.0,
            "end_s": 58.5,
            "snippet": "refund",
        }
        return [VectorMatch("talk:00001", 0.25, metadata)]


def test_words_are_embedded_for_retrieval_and_hits_say_where() -> None:
    embedder, index = Embedder(), Index()
    answer = search(SearchRequest(query="refund", top_k=3), embedder, index)
    assert embedder.asked == [("text", "query")]
    assert index.asked == [{"vector": [1.0, 0.0, 0.0], "top_k": 3, "filter": None}]
    (hit,) = answer.hits
    assert (hit.item_id, hit.modality, hit.start_s, hit.end_s) == ("talk", "speech", 30.0, 58.5)
    assert hit.score == pytest.approx(0.75)
    assert where(hit) == "0:30.0-0:58.5"


def test_an_image_query_embeds_the_image() -> None:
    embedder = Embedder()
    request = SearchRequest(image_base64=base64.b64encode(b"png").decode(), image_format="png")
    search(request, embedder, Index())
    assert embedder.asked == [("image:png:b'png'", "query")]


def test_an_image_that_is_not_base64_is_refused() -> None:
    request = SearchRequest(image_base64="not base64!", image_format="png")
    with pytest.raises(QueryInvalid):
        search(request, Embedder(), Index())


def test_filters_by_modality_and_item_in_s3_vectors_syntax() -> None:
    assert query_filter(SearchRequest(query="x")) is None
    assert query_filter(SearchRequest(query="x", modalities=["video", "image"])) == {
        "modality": {"$in": ["image", "video"]}
    }
    assert query_filter(SearchRequest(query="x", modalities=["image"], item_id="i")) == {
        "$and": [{"modality": {"$in": ["image"]}}, {"item_id": {"$eq": "i"}}]
    }


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"query": "x", "image_base64": "eA==", "image_format": "png"},
        {"image_base64": "eA=="},
        {"query": "x", "top_k": 101},
    ],
)
def test_a_request_has_words_or_an_image_and_a_bounded_top_k(fields) -> None:
    with pytest.raises(ValidationError):
        SearchRequest(**fields)


def _response() -> SearchResponse:
    return SearchResponse(
        hits=[
            SearchHit(
                key="k",
                score=0.9,
                distance=0.1,
                item_id="i",
                asset_id="a",
                modality="image",
                embedded="image",
            )
        ],
        model_id="m",
        dimension=3,
        index_arn="arn",
        embed_ms=1,
        query_ms=2,
    )


def _payload(document: Any) -> StreamingBody:
    raw = json.dumps(document).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def test_a_deployment_is_asked_through_its_search_function() -> None:
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    with Stubber(cloudformation) as stub:
        stub.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "S",
                        "CreationTime": "2026-12-01T00:00:00Z",
                        "StackStatus": "CREATE_COMPLETE",
                        "Outputs": [
                            {"OutputKey": "SearchFunctionName", "OutputValue": "S-SearchFunction"}
                        ],
                    }
                ]
            },
            {"StackName": "S"},
        )
        assert stack_search_function(cloudformation, "S") == "S-SearchFunction"
    client = boto3.client("lambda", region_name="us-east-1")
    request = SearchRequest(query="mug", top_k=2)
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 200, "Payload": _payload(_response().model_dump(mode="json"))},
            {
                "FunctionName": "S-SearchFunction",
                "InvocationType": "RequestResponse",
                "Payload": request.model_dump_json(exclude_none=True).encode(),
            },
        )
        assert invoke_search(client, "S-SearchFunction", request).hits[0].item_id == "i"
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": _payload({"errorType": "AccessDenied", "errorMessage": "no"}),
            },
        )
        with pytest.raises(SearchFailed, match="AccessDenied: no"):
            invoke_search(client, "S-SearchFunction", request)
