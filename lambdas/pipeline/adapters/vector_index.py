"""The search index: an S3 Vectors index, read and written with boto3.

S3 Vectors rather than a search cluster: it is serverless, priced per vector stored and per
query, and its filterable metadata is enough for what users filter on (modality, item). This
module stays light (plain boto3, no numpy): it runs in every indexing and search Lambda.
Writes and deletes go in the service's batches of at most 500; throttling and transient
faults become the pipeline's retryable exceptions (`translated_aws_errors`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import boto3

from pipeline.adapters.aws_errors import translated_aws_errors

MetadataValue = str | float | int | bool
# The service's limits per call (S3 Vectors "Limitations and restrictions").
MAX_VECTORS_PER_PUT = 500
MAX_KEYS_PER_DELETE = 500
_BYTES_PER_DIMENSION = 4  # float32
_SERVICE = "S3 Vectors"


@dataclass(frozen=True)
class IndexedVector:
    key: str
    vector: Sequence[float]
    metadata: dict[str, MetadataValue]


@dataclass(frozen=True)
class VectorMatch:
    key: str
    distance: float
    metadata: dict[str, Any]


@dataclass(frozen=True)
class IndexDescription:
    arn: str
    dimension: int
    distance_metric: str
    non_filterable_keys: tuple[str, ...]


def logical_bytes(vector: IndexedVector) -> int:
    """What a vector weighs as S3 Vectors counts a write: 4 bytes a dimension, the key and
    the metadata (as JSON)."""
    metadata = json.dumps(vector.metadata, ensure_ascii=False, separators=(",", ":"))
    return (
        _BYTES_PER_DIMENSION * len(vector.vector)
        + len(vector.key.encode())
        + len(metadata.encode())
    )


class S3VectorIndex:
    """One index of one vector bucket, named as the stack names them."""

    def __init__(self, bucket_name: str, index_name: str, client: Any | None = None) -> None:
        self.bucket_name = bucket_name
        self.index_name = index_name
        self._client = client or boto3.client("s3vectors")
        self._index_arn: str | None = None

    @property
    def index_arn(self) -> str:
        """The index's ARN: as set, else read once with GetIndex (s3vectors:GetIndex)."""
        if self._index_arn is None:
            self._index_arn = self.describe().arn
        return self._index_arn

    @index_arn.setter
    def index_arn(self, arn: str) -> None:
        self._index_arn = arn

    def _names(self) -> dict[str, str]:
        return {"vectorBucketName": self.bucket_name, "indexName": self.index_name}

    def put(self, vectors: Sequence[IndexedVector]) -> int:
        """Write (or overwrite, by key) the vectors; the logical bytes written."""
        written = 0
        for start in range(0, len(vectors), MAX_VECTORS_PER_PUT):
            batch = vectors[start : start + MAX_VECTORS_PER_PUT]
            with translated_aws_errors(_SERVICE):
                self._client.put_vectors(
                    **self._names(),
                    vectors=[
                        {
                            "key": v.key,
                            "data": {"float32": [float(x) for x in v.vector]},
                            "metadata": v.metadata,
                        }
                        for v in batch
                    ],
                )
            written += sum(logical_bytes(v) for v in batch)
        return written

    def delete(self, keys: Sequence[str]) -> None:
        """Delete the vectors with these keys (a key that is not there is no error)."""
        for start in range(0, len(keys), MAX_KEYS_PER_DELETE):
            with translated_aws_errors(_SERVICE):
                self._client.delete_vectors(
                    **self._names(), keys=list(keys[start : start + MAX_KEYS_PER_DELETE])
                )

    def query(
        self, vector: Sequence[float], top_k: int, filter: dict[str, Any] | None
    ) -> list[VectorMatch]:
        """The `top_k` nearest vectors that pass `filter`, nearest first."""
        request: dict[str, Any] = {
            **self._names(),
            "queryVector": {"float32": [float(x) for x in vector]},
            "topK": top_k,
            "returnDistance": True,
            "returnMetadata": True,
        }
        if filter is not None:
            request["filter"] = filter
        with translated_aws_errors(_SERVICE):
            answer = self._client.query_vectors(**request)
        return [
            VectorMatch(
                key=str(found["key"]),
                distance=float(found["distance"]),
                metadata=dict(found.get("metadata") or {}),
            )
            for found in answer.get("vectors", [])
        ]

    def every_vector(self) -> Iterator[IndexedVector]:
        """Every vector with its data and metadata, page by page (to export an index)."""
        request: dict[str, Any] = {**self._names(), "returnData": True, "returnMetadata": True}
        while True:
            with translated_aws_errors(_SERVICE):
                page = self._client.list_vectors(**request)
            for found in page.get("vectors", []):
                yield IndexedVector(
                    key=str(found["key"]),
                    vector=list(found["data"]["float32"]),
                    metadata=dict(found.get("metadata") or {}),
                )
            token = page.get("nextToken")
            if not token:
                return
            request["nextToken"] = token

    def describe(self) -> IndexDescription:
        with translated_aws_errors(_SERVICE):
            index = self._client.get_index(**self._names())["index"]
        configuration = index.get("metadataConfiguration") or {}
        self._index_arn = str(index["indexArn"])
        return IndexDescription(
            arn=self._index_arn,
            dimension=int(index["dimension"]),
            distance_metric=str(index["distanceMetric"]),
            non_filterable_keys=tuple(configuration.get("nonFilterableMetadataKeys", ())),
        )
