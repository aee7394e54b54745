"""Answer a search: embed the query the way items were embedded (same model, same dimension,
the retrieval purpose), ask the index for its nearest vectors, and return them as hits that
say where to look (item, asset, time span or chunk) and where the record is."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Sequence
from typing import Any, Protocol

from pipeline.adapters.embeddings import Embedder
from pipeline.adapters.vector_index import VectorMatch
from pipeline_contracts.search import SearchHit, SearchRequest, SearchResponse


class QueryableIndex(Protocol):
    index_arn: str

    def query(
        self, vector: Sequence[float], top_k: int, filter: dict[str, Any] | None
    ) -> list[VectorMatch]: ...


class QueryInvalid(ValueError):
    """The request names an image that is not base64."""


def search(request: SearchRequest, embedder: Embedder, index: QueryableIndex) -> SearchResponse:
    started = time.perf_counter()
    if request.query is not None:
        vector = embedder.embed_text(request.query, "query").vector
    else:
        if request.image_base64 is None or request.image_format is None:
            raise QueryInvalid("an image query needs image_base64 and image_format")
        try:
            image = base64.b64decode(request.image_base64, validate=True)
        except (binascii.Error, ValueError) as error:
            raise QueryInvalid(f"image_base64 is not base64: {error}") from error
        vector = embedder.embed_image(image, request.image_format, "query").vector
    embedded = time.perf_counter()
    matches = index.query(vector, request.top_k, query_filter(request))
    answered = time.perf_counter()
    return SearchResponse(
        hits=[hit_of(match) for match in matches],
        model_id=embedder.model_id,
        dimension=embedder.dimension,
        index_arn=index.index_arn,
        embed_ms=round((embedded - started) * 1000, 1),
        query_ms=round((answered - embedded) * 1000, 1),
    )


def query_filter(request: SearchRequest) -> dict[str, Any] | None:
    """S3 Vectors' metadata filter for the request's modalities and item."""
    conditions: list[dict[str, Any]] = []
    if request.modalities:
        conditions.append({"modality": {"$in": sorted(set(request.modalities))}})
    if request.item_id:
        conditions.append({"item_id": {"$eq": request.item_id}})
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}


def hit_of(match: VectorMatch) -> SearchHit:
    """A hit from a vector's metadata; the score is the cosine similarity."""
    fields = {
        name: value for name, value in match.metadata.items() if name in SearchHit.model_fields
    }
    return SearchHit.model_validate(
        {**fields, "key": match.key, "distance": match.distance, "score": 1 - match.distance}
    )
