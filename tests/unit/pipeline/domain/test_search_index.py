"""Indexing an item for search (domain/search_index.py) over the real search ledger on moto's
DynamoDB and an in-memory vector index: each piece is embedded once, an object has one set
of vectors (its newest version's), and an item that leaves takes its vectors with it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import boto3
import pytest
from moto import mock_aws

from pipeline.adapters.embeddings import ContentRefused, Embedding
from pipeline.adapters.search_ledger import DynamoDbSearchLedger, IndexedItem, IndexedSource
from pipeline.adapters.vector_index import IndexedVector
from pipeline.domain.search_index import (
    Located,
    forget_item,
    index_item,
    item_to_forget,
    source_id_of,
)
from pipeline.domain.search_pieces import Piece, Pieces
from pipeline.errors import ServiceThrottled
from pipeline_contracts.item import ItemRequest, ObjectRef
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

        def claim_source(self, source_id, claim, replacing):
            newer = IndexedSource("item-new", "2026-12-01T12:00:00Z", 0)
            ledger.claim_source(source_id, newer, set())
            return ledger.claim_source(source_id, claim, replacing)

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


def test_an_older_version_claiming_while_the_newer_embeds_is_still_removed(ledger) -> None:
    """The newer version read "no holder" before embedding; the older one claimed meanwhile.
    The claim itself says who held the object, and those vectors go."""
    index = MemoryIndex()
    _index("item-old", "2026-12-01T10:00:00Z", _speech("old"), CountingEmbedder(), index, ledger)

    class StaleRead:
        def __init__(self):
            self.reads = 0

        def __getattr__(self, name):
            return getattr(ledger, name)

        def source(self, source_id):
            self.reads += 1
            return None if self.reads == 1 else ledger.source(source_id)

    newer = _index(
        "item-new", "2026-12-01T11:00:00Z", _speech("new"), CountingEmbedder(), index, StaleRead()
    )
    assert newer.status == "indexed"
    assert newer.removed == 1
    assert index.items() == {"item-new"}


def test_versions_in_the_same_second_are_ordered_by_s3s_sequencer(ledger) -> None:
    def order(sequencer: str) -> str:
        request = ItemRequest(
            item_id="x",
            kind="object",
            source=SOURCE,
            received_at="2026-12-01T10:00:00+00:00",
            sequencer=sequencer,
        )
        return request.version_order

    # Sequencers of different lengths compare after left-padding with zeros
    assert order("0A") < order("0B") < order("1000")
    index = MemoryIndex()
    _index("item-2", order("0B"), _speech("second"), CountingEmbedder(), index, ledger)
    late = _index("item-1", order("0A"), _speech("first"), CountingEmbedder(), index, ledger)
    assert late.status == "superseded"
    assert index.items() == {"item-2"}


def test_a_retry_after_a_failed_removal_finishes_it(ledger) -> None:
    index = MemoryIndex()
    _index("item-old", "t1", _speech("old", "older"), CountingEmbedder(), index, ledger)

    class FlakyIndex(MemoryIndex):
        def __init__(self, inner):
            super().__init__(vectors=inner.vectors)
            self.failures = 1

        def delete(self, keys):
            if self.failures and any(k.startswith("item-old") for k in keys):
                self.failures -= 1
                raise ServiceThrottled("S3 Vectors throttled the call")
            super().delete(keys)

    flaky = FlakyIndex(index)
    with pytest.raises(ServiceThrottled):
        _index("item-new", "t2", _speech("new"), CountingEmbedder(), flaky, ledger)
    # The state retries: the removal it still owed is done, and the cache spared the model
    retried = _index("item-new", "t2", _speech("new"), CountingEmbedder(), flaky, ledger)
    assert (retried.status, retried.removed, retried.cache_hits) == ("indexed", 2, 1)
    assert flaky.items() == {"item-new"}
    assert ledger.source(source_id_of(SOURCE)).replacing == frozenset()


def test_forgetting_the_new_version_also_removes_what_it_still_owed(ledger) -> None:
    index = MemoryIndex()
    _index("item-old", "t1", _speech("old"), CountingEmbedder(), index, ledger)
    ledger.claim_source(source_id_of(SOURCE), IndexedSource("item-new", "t2", 0), {"item-old"})
    ledger.record_item("item-new", IndexedItem(source_id_of(SOURCE), 0))
    # The new version failed before removing the old vectors: its end removes both
    assert forget_item("item-new", index, ledger) == 1
    assert index.vectors == {}
    assert ledger.source(source_id_of(SOURCE)) is None


def test_a_piece_the_model_refuses_is_left_out_and_the_rest_indexed(ledger) -> None:
    class Refusing(CountingEmbedder):
        def embed_text(self, text, purpose):
            if text == "bad":
                raise ContentRefused("ValidationException")
            return super().embed_text(text, purpose)

    result = _index(
        "item-1", "t1", _speech("good", "bad", "fine"), Refusing(), MemoryIndex(), ledger
    )
    assert (result.status, result.vectors, result.left_out) == ("indexed", 2, 1)


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


def test_which_events_take_an_item_out_of_the_index() -> None:
    store = InMemoryObjectStore()
    key = "results/dt=2026-12-01/item-1.json"

    def deleted(k: str) -> dict:
        return {
            "detail-type": "Object Deleted",
            "detail": {"bucket": {"name": "processed"}, "object": {"key": k}},
        }

    # A result deleted for good: its item goes
    assert item_to_forget(deleted(key), store) == "item-1"
    # A non-current version expired while the result is still there: nothing goes
    store.put("processed", key, b"{}")
    assert item_to_forget(deleted(key), store) is None
    # Another prefix: nothing
    assert item_to_forget(deleted("work/item-1/plan.json"), store) is None
    # A record whose indexing failed goes; a degraded one for another reason stays
    processed = {
        "item_id": "item-2",
        "status": "degraded",
        "profile": "general",
        "result_uri": "s3://p/r",
        "modalities": [],
        "source": {"bucket": "b", "key": "k"},
    }
    event = {
        "detail-type": "ItemProcessed",
        "detail": {**processed, "degraded_branches": ["search"]},
    }
    assert item_to_forget(event, store) == "item-2"
    event["detail"]["degraded_branches"] = ["vision"]
    assert item_to_forget(event, store) is None
    # An execution that ended without a result: its name is the item
    ended = {
        "detail-type": "Step Functions Execution Status Change",
        "detail": {"executionArn": "arn:x", "name": "item-3", "status": "FAILED"},
    }
    assert item_to_forget(ended, store) == "item-3"
