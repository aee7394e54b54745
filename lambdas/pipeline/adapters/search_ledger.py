"""The search ledger (DynamoDB): the embedding cache, and which vectors belong to whom.

S3 Vectors answers queries but cannot list an item's vectors or find one by its content, so
one table keeps what the index cannot, in three kinds of entry (key `key`):

- `embedding#<model>#<dimension>#<sha256 of the content>`: a vector the model already made
  (float32, little-endian, in a binary attribute). The same image or text is never embedded
  twice, across items and re-runs; a model or dimension change misses, as it must.
- `source#<source id>`: the item whose vectors the object (bucket and key) has in the index,
  its place among the object's versions (S3's event sequencer), how many vectors, and the
  items whose vectors it replaces and has not yet removed (so a retried step finishes the
  removal). A newer version of the object claims it; an older one that finishes later
  cannot (the claim is conditional on the version order).
- `item#<item id>`: how many vectors the item put and for which object, so deleting its
  result, or its failure, can remove them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from pipeline.adapters.aws_errors import error_code, translated_aws_errors

BATCH_GET_LIMIT = 100  # BatchGetItem's most keys a call


@dataclass(frozen=True)
class IndexedSource:
    item_id: str
    order: str  # ItemRequest.version_order: the newest version of the object wins
    vectors: int
    replacing: frozenset[str] = frozenset()  # items whose vectors are still to be removed


def _source(entry: dict[str, Any] | None) -> IndexedSource | None:
    if not entry or "item_id" not in entry:
        return None
    return IndexedSource(
        item_id=str(entry["item_id"]),
        order=str(entry.get("version_order", "")),
        vectors=int(entry.get("vectors", 0)),
        replacing=frozenset(str(x) for x in entry.get("replacing", set())),
    )


@dataclass(frozen=True)
class IndexedItem:
    source_id: str
    vectors: int


def embedding_key(model_id: str, dimension: int, content_sha256: str) -> str:
    return f"embedding#{model_id}#{dimension}#{content_sha256}"


def pack_vector(vector: list[float]) -> bytes:
    return struct.pack(f"<{len(vector)}f", *vector)


def unpack_vector(data: bytes) -> list[float]:
    return list(struct.unpack(f"<{len(data) // 4}f", data))


class DynamoDbSearchLedger:
    def __init__(self, table_name: str, dynamodb: Any | None = None) -> None:
        self._name = table_name
        self._resource = dynamodb or boto3.resource("dynamodb")
        self._table = self._resource.Table(table_name)

    # --- the embedding cache -----------------------------------------------------------------

    def cached(self, keys: Iterable[str]) -> dict[str, list[float]]:
        wanted = sorted(set(keys))
        found: dict[str, list[float]] = {}
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self._name: {
                    "Keys": [{"key": key} for key in wanted[start : start + BATCH_GET_LIMIT]],
                    "ProjectionExpression": "#k, vector",
                    "ExpressionAttributeNames": {"#k": "key"},
                }
            }
            while request:
                with translated_aws_errors("DynamoDB"):
                    answer = self._resource.batch_get_item(RequestItems=request)
                for entry in answer.get("Responses", {}).get(self._name, []):
                    found[str(entry["key"])] = unpack_vector(bytes(entry["vector"]))
                request = answer.get("UnprocessedKeys") or {}
        return found

    def remember(self, key: str, vector: list[float]) -> None:
        with translated_aws_errors("DynamoDB"):
            self._table.put_item(Item={"key": key, "vector": pack_vector(vector)})

    # --- whose vectors -----------------------------------------------------------------------

    def source(self, source_id: str) -> IndexedSource | None:
        with translated_aws_errors("DynamoDB"):
            entry = self._table.get_item(Key={"key": f"source#{source_id}"}).get("Item")
        return _source(entry)

    def claim_source(
        self, source_id: str, claim: IndexedSource, replacing: set[str]
    ) -> tuple[bool, IndexedSource | None]:
        """Make `claim` the object's indexed item unless a newer version holds it, noting the
        items whose vectors it replaces (removed by `replaced`, so a retry finishes the job).
        (won, the entry before the claim)."""
        update = "SET item_id = :item, #o = :order, vectors = :n"
        values: dict[str, Any] = {
            ":item": claim.item_id,
            ":order": claim.order,
            ":n": claim.vectors,
        }
        if replacing:
            update += " ADD replacing :replacing"
            values[":replacing"] = set(replacing)
        try:
            with translated_aws_errors("DynamoDB"):
                answer = self._table.update_item(
                    Key={"key": f"source#{source_id}"},
                    UpdateExpression=update,
                    ConditionExpression=(
                        "attribute_not_exists(#k) OR #o <= :order OR item_id = :item"
                    ),
                    ExpressionAttributeNames={"#k": "key", "#o": "version_order"},
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_OLD",
                )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            return False, None
        return True, _source(answer.get("Attributes"))

    def note_replacing(self, source_id: str, item_id: str, replaced: str) -> None:
        """Add an item whose vectors `item_id` replaces (one learnt only from the claim)."""
        self._replacing(source_id, item_id, "ADD", {replaced})

    def replaced(self, source_id: str, item_id: str, done: set[str]) -> None:
        """The vectors of `done` are gone: stop listing them."""
        if done:
            self._replacing(source_id, item_id, "DELETE", done)

    def _replacing(self, source_id: str, item_id: str, verb: str, items: set[str]) -> None:
        try:
            with translated_aws_errors("DynamoDB"):
                self._table.update_item(
                    Key={"key": f"source#{source_id}"},
                    UpdateExpression=f"{verb} replacing :items",
                    ConditionExpression="item_id = :item",
                    ExpressionAttributeValues={":items": items, ":item": item_id},
                )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    def release_source(self, source_id: str, item_id: str) -> None:
        """Forget the object's entry if it still names `item_id`."""
        try:
            with translated_aws_errors("DynamoDB"):
                self._table.delete_item(
                    Key={"key": f"source#{source_id}"},
                    ConditionExpression="item_id = :item",
                    ExpressionAttributeValues={":item": item_id},
                )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    def item(self, item_id: str) -> IndexedItem | None:
        with translated_aws_errors("DynamoDB"):
            entry = self._table.get_item(Key={"key": f"item#{item_id}"}).get("Item")
        if entry is None:
            return None
        return IndexedItem(source_id=str(entry["source_id"]), vectors=int(entry["vectors"]))

    def record_item(self, item_id: str, entry: IndexedItem) -> None:
        with translated_aws_errors("DynamoDB"):
            self._table.put_item(
                Item={
                    "key": f"item#{item_id}",
                    "source_id": entry.source_id,
                    "vectors": entry.vectors,
                }
            )

    def forget_item(self, item_id: str) -> None:
        with translated_aws_errors("DynamoDB"):
            self._table.delete_item(Key={"key": f"item#{item_id}"})
