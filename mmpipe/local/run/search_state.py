"""The local deployment's search index and ledger, kept in the run's folder between runs.

On AWS the S3 Vectors index and the search ledger (embedding cache, which item holds which
vectors) outlive every execution. Local mode's AWS lives only as long as a run, so the run
saves them to `<out>/search/` when it ends and puts them back when the next run into the same
folder starts: a file processed again replaces its vectors instead of adding a second set,
content seen before is not embedded again, and `mmpipe search --local <out>` searches all of
it. A folder saved with another embedding model or dimension (another index name) is not
restored; the run says so and starts empty, as a new index on AWS would.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.types import Binary

from mmpipe.local.resources import Deployment
from mmpipe.local.template import REGION
from pipeline.adapters.vector_index import IndexedVector, S3VectorIndex

FOLDER = "search"
INDEX_FILE = "index.json"
VECTORS_FILE = "vectors.jsonl"
LEDGER_FILE = "ledger.jsonl"
_PUT_BATCH = 500


@dataclass(frozen=True)
class SearchResources:
    vector_bucket: str
    index_name: str
    table: str

    @classmethod
    def of(cls, deployment: Deployment) -> SearchResources:
        env = deployment.environment
        return cls(env["VECTOR_BUCKET_NAME"], env["VECTOR_INDEX_NAME"], env["SEARCH_TABLE"])


@dataclass(frozen=True)
class Restored:
    vectors: int
    ledger_entries: int
    skipped_reason: str | None = None


def save(deployment: Deployment, out_dir: Path) -> int:
    """Write the index and the ledger to `<out>/search/`; how many vectors."""
    resources = SearchResources.of(deployment)
    folder = out_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    index = S3VectorIndex(resources.vector_bucket, resources.index_name)
    description = index.describe()
    count = 0
    with (folder / VECTORS_FILE).open("w", encoding="utf-8") as stream:
        for vector in index.every_vector():
            stream.write(
                json.dumps(
                    {"key": vector.key, "data": list(vector.vector), "metadata": vector.metadata},
                    ensure_ascii=False,
                )
                + "\n"
            )
            count += 1
    with (folder / LEDGER_FILE).open("w", encoding="utf-8") as stream:
        for entry in _scan(resources.table):
            stream.write(json.dumps(entry) + "\n")
    (folder / INDEX_FILE).write_text(
        json.dumps(
            {
                "index_name": resources.index_name,
                "dimension": description.dimension,
                "distance_metric": description.distance_metric,
                "vectors": count,
            },
            indent=2,
        )
    )
    return count


def restore(deployment: Deployment, out_dir: Path) -> Restored:
    """Put a previous run's index and ledger back, if it used the same index."""
    folder = out_dir / FOLDER
    if not (folder / INDEX_FILE).is_file():
        return Restored(0, 0)
    resources = SearchResources.of(deployment)
    saved = json.loads((folder / INDEX_FILE).read_text())
    if saved.get("index_name") != resources.index_name:
        return Restored(
            0,
            0,
            f"{folder} holds index {saved.get('index_name')!r}, this deployment uses "
            f"{resources.index_name!r} (another embedding model or dimension): starting empty",
        )
    index = S3VectorIndex(resources.vector_bucket, resources.index_name)
    batch: list[IndexedVector] = []
    vectors = 0
    for line in _lines(folder / VECTORS_FILE):
        record = json.loads(line)
        batch.append(IndexedVector(record["key"], record["data"], record["metadata"]))
        if len(batch) == _PUT_BATCH:
            vectors += len(batch)
            index.put(batch)
            batch = []
    if batch:
        vectors += len(batch)
        index.put(batch)
    table = boto3.resource("dynamodb", region_name=REGION).Table(resources.table)
    entries = 0
    with table.batch_writer() as writer:
        for line in _lines(folder / LEDGER_FILE):
            writer.put_item(Item=_from_json(json.loads(line)))
            entries += 1
    return Restored(vectors, entries)


def _scan(table_name: str) -> Iterator[dict[str, Any]]:
    table = boto3.resource("dynamodb", region_name=REGION).Table(table_name)
    request: dict[str, Any] = {}
    while True:
        page = table.scan(**request)
        for item in page.get("Items", []):
            yield _to_json(item)
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _to_json(item: dict[str, Any]) -> dict[str, Any]:
    encoded: dict[str, Any] = {}
    for name, value in item.items():
        if isinstance(value, Binary):
            encoded[name] = {"binary": base64.b64encode(bytes(value)).decode()}
        elif hasattr(value, "as_integer_ratio") and not isinstance(value, bool):
            encoded[name] = {"number": str(value)}
        else:
            encoded[name] = value
    return encoded


def _from_json(entry: dict[str, Any]) -> dict[str, Any]:
    from decimal import Decimal  # noqa: PLC0415

    decoded: dict[str, Any] = {}
    for name, value in entry.items():
        if isinstance(value, dict) and "binary" in value:
            decoded[name] = Binary(base64.b64decode(value["binary"]))
        elif isinstance(value, dict) and "number" in value:
            decoded[name] = Decimal(value["number"])
        else:
            decoded[name] = value
    return decoded


def _lines(path: Path) -> Iterator[str]:
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as stream:
        for line in stream:
            if line.strip():
                yield line
