"""Indexing an item for search (domain/search_index.py) over the real search ledger on moto's
DynamoDB and an in-memory vector index: each piece is embedded once, an object has one set
of vectors (its newest version's), and an item that leaves takes its vectors with it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import boto3
import pytest
from moto import mock_aws

from pipeline.adapters.embeddings import Embedding
from pipeline.adapters.search_ledger import DynamoDbSearchLedger
from pipeline.adapters.vector_index import IndexedVector
from pipeline.domain.search_index import Located, forget_item, index_item, source_id_of
from pipeline.domain.search_pieces import Piece, Pieces
from pipeline_contracts.item import ObjectRef
from tests.fakes import InMemoryObjectStore

SOURCE = ObjectRef(bucket="ingest", key="incoming/talk.wav", version_id="v1")


@dataclass
class CountingEmbedder:
    model_id: str = "amazon.nova-2-multimodal-embeddings-v1:0"
    dimension: int = 4
    texts: list[str] = field(default_factory=list)
    images: int = 0

    def embed_text(self, text: str, purpose: str) -> Embedding:
        self.texts.append(text)
        return Embedding([float(len(text)), 1.0, 0.0, 0.0], len(text) // 4)

    def embed_image(self, image: bytes, image_format: str, purpose: str) -> Embedding:
        self.images += 1
        return Embedding([0.0, 0.0, 1.0, float(len(image))], 0)


@dataclass
class MemoryIndex:
    index_arn: str = "arn:aws:s3vectors:us-east-1:123456789012:bucket/b/index/i"
    vectors: dict[str, IndexedVector] = field(default_factory=dict)

    def put(self, vectors: Sequence[IndexedVector]) -> int:
        for vector in vectors:
            self.vectors[vector.key] = vector
        return 100 * len(vectors)

    def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.vectors.pop(key, None)

    def items(self) -> set[str]:
        return {str(v.metadata["item_id"]) for v in self.vectors.values()}


@pytest.fixture
def ledger() -> Iterator[DynamoDbSearchLedger]:
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="search",
            KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield DynamoDbSearchLedger("search", dynamodb=dynamodb)


def _speech(*texts: str) -> Pieces:
    return Pieces(
        [
            Piece(
                asset_id="a1",
                modality="speech",
                snippet=t,
                text=t,
                start_s=i * 30.0,
                end_s=i * 30.0 + 29,
            )
            for i, t in enumerate(texts)
        ],
        left_out=0,
    )


def _index(item: str, received: str, pieces: Pieces, embedder, index, ledger, store=None):
    return index_item(
        item,
        SOURCE,
        pieces,
        Located(f"s3://processed/results/dt=x/{item}.json", received),
        store or InMemoryObjectStore(),
        embedder,
        index,
        ledger,
    )


def test_each_piece_is_embedded_once_across_items_and_runs(ledger) -> None:
    embedder, index = CountingEmbedder(), MemoryIndex()
    first = _index(
        "item-1", "2026-12-01T10:00:00Z", _speech("hello", "world"), embedder, index, ledger
    )
    assert (first.embedded, first.cache_hits, first.vectors) == (2, 0, 2)
    # The same item again (a redrive): nothing is embedded, the vectors are the same keys
    again = _index(
        "item-1", "2026-12-01T10:00:00Z", _speech("hello", "world"), embedder, index, ledger
    )
    assert (again.embedded, again.cache_hits) == (0, 2)
    assert embedder.texts == ["hello", "world"]
    assert sorted(index.vectors) == ["item-1:00000", "item-1:00001"]
    assert again.usage is not None
    assert again.usage.cache_hits == 2


def test_a_model_or_dimension_change_misses_the_cache(ledger) -> None:
    index = MemoryIndex()
    _index("item-1", "2026-12-01T10:00:00Z", _speech("hello"), CountingEmbedder(), index, ledger)
    other = CountingEmbedder(dimension=8)
    result = _index("item-1", "2026-12-01T10:00:00Z", _speech("hello"), other, index, ledger)
    assert (result.embedded, result.cache_hits) == (1, 0)


def test_reindexing_with_fewer_pieces_removes_the_surplus(ledger) -> None:
    index = MemoryIndex()
    _index("item-1", "t1", _speech("a", "b", "c"), CountingEmbedder(), index, ledger)
    result = _index("item-1", "t1", _speech("a"), CountingEmbedder(), index, ledger)
    assert result.removed == 2
    assert sorted(index.vectors) == ["item-1:00000"]


def test_a_newer_version_of_the_object_replaces_the_older_ones_vectors(ledger) -> None:
    index = MemoryIndex()
    _index("item-old", "2026-12-01T10:00:00Z", _speech("a", "b"), CountingEmbedder(), index, ledger)
    newer = _index(
        "item-new", "2026-12-01T11:00:00Z", _speech("a"), CountingEmbedder(), index, ledger
    )
    assert (newer.status, newer.removed) == ("indexed", 2)
    assert index.items() == {"item-new"}
    assert ledger.item("item-old") is None


def test_an_older_version_finishing_later_is_superseded_and_adds_nothing(ledger) -> None:
    index, embedder = MemoryIndex(), CountingEmbedder()
    _index("item-new", "2026-12-01T11:00:00Z", _speech("new"), embedder, index, ledger)
    older = _index("item-old", "2026-12-01T10:00:00Z", _speech("old"), embedder, index, ledger)
    assert older.status == "superseded"
    assert older.vectors == 0
    assert index.items() == {"item-new"}
    # It did not spend a call on content that will not be found
    assert embedder.texts == ["new"]


def test_a_claim_lost_to_a_newer_version_mid_way_removes_its_own_vectors(ledger) -> None:
    index = MemoryIndex()

    class RacingLedger:
        """The newer version claims the object while this one is embedding."""

        def __getattr__(self, name):
            return getattr(ledger, name)

        def claim_source(self, source_id, claim):
            from pipeline.adapters.search_ledger import IndexedSource

            ledger.claim_source(source_id, IndexedSource("item-new", "2026-12-01T12:00:00Z", 0))
            return ledger.claim_source(source_id, claim)

    result = _index(
        "item-old",
        "2026-12-01T10:00:00Z",
        _speech("a", "b"),
        CountingEmbedder(),
        index,
        RacingLedger(),
    )
    assert result.status == "superseded"
    assert index.vectors == {}
    assert ledger.source(source_id_of(SOURCE)).item_id == "item-new"


def test_forgetting_an_item_removes_its_vectors_and_frees_the_object(ledger) -> None:
    index = MemoryIndex()
    _index("item-1", "t1", _speech("a", "b"), CountingEmbedder(), index, ledger)
    assert forget_item("item-1", index, ledger) == 2
    assert index.vectors == {}
    assert ledger.source(source_id_of(SOURCE)) is None
    # Forgetting twice (a redelivered event) is harmless
    assert forget_item("item-1", index, ledger) == 0


def test_images_are_read_hashed_and_cached_by_content(ledger) -> None:
    store = InMemoryObjectStore()
    store.put("processed", "work/i1/prepared/a1.jpg", b"\xff\xd8jpeg-bytes")
    store.put("processed", "work/i2/prepared/a1.jpg", b"\xff\xd8jpeg-bytes")
    embedder, index = CountingEmbedder(), MemoryIndex()

    def image(item: str) -> Pieces:
        return Pieces(
            [
                Piece(
                    asset_id="a1",
                    modality="image",
                    snippet="poster",
                    image_uri=f"s3://processed/work/{item}/prepared/a1.jpg",
                    image_format="jpeg",
                ),
                Piece(
                    asset_id="a1",
                    modality="image",
                    snippet="poster",
                    image_uri=f"s3://processed/work/{item}/prepared/missing.jpg",
                    image_format="jpeg",
                ),
            ],
            left_out=0,
        )

    first = index_item(
        "i1", SOURCE, image("i1"), Located("s3://r/1", "t1"), store, embedder, index, ledger
    )
    other = ObjectRef(bucket="ingest", key="incoming/copy.png")
    second = index_item(
        "i2", other, image("i2"), Located("s3://r/2", "t1"), store, embedder, index, ledger
    )
    # The same bytes in another item: embedded once; a never-written image is left out
    assert (first.embedded, second.embedded, second.cache_hits) == (1, 0, 1)
    assert embedder.images == 1
    assert first.vectors == 1
    assert index.vectors["i1:00000"].metadata["embedded"] == "image"
