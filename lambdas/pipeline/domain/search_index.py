"""Put a finished item into the search index, and take it out again.

Indexing runs just before the record is written, so the record can say whether the item is
findable and what that cost. Each piece (search_pieces.py) is embedded once: its content hash
(with the model and dimension) is looked up in the ledger's cache first, and every new vector
is cached as soon as it is made, so a retried step, a re-run and an identical file in another
item embed nothing again.

Vectors are keyed `<item id>:<n>`. One object (bucket and key) has one set in the index:
its latest version's. A newer version replaces an older one's vectors; an older version that
finishes later keeps none (`superseded`); the same item indexed again (a redrive) overwrites
its keys and removes the ones it no longer has. The ledger records the item's count before
the vectors are written, so whatever ends the item later (its failure, the deletion of its
result) can find and remove them: a failed item is never found.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pipeline.adapters.embeddings import ContentRefused, Embedder, Embedding
from pipeline.adapters.search_ledger import (
    DynamoDbSearchLedger,
    IndexedItem,
    IndexedSource,
    embedding_key,
)
from pipeline.adapters.storage import ObjectMissing, ObjectStore, read_json
from pipeline.adapters.vector_index import IndexedVector
from pipeline.config import SearchSettings
from pipeline.domain.media_preparation import MAX_MODEL_IMAGE_BYTES
from pipeline.domain.plans import load_plan
from pipeline.domain.publishing import assemble_result
from pipeline.domain.search_pieces import Piece, Pieces, image_bytes, pieces_of
from pipeline.errors import MediaNotPreparable, ModelOutputInvalid
from pipeline_contracts.events import ExecutionStatusEvent, ObjectDeletedEvent
from pipeline_contracts.item import ObjectRef
from pipeline_contracts.naming import RESULTS_PREFIX, record_key
from pipeline_contracts.records import ItemProcessed
from pipeline_contracts.search import EmbeddingUsage, SearchIndexing, VectorMetadata
from pipeline_contracts.states.index_for_search import IndexForSearchInput
from pipeline_contracts.work.fusion import FusionDraft


class VectorIndex(Protocol):
    index_arn: str

    def put(self, vectors: Sequence[IndexedVector]) -> int: ...
    def delete(self, keys: Sequence[str]) -> None: ...


SearchLedger = DynamoDbSearchLedger


@dataclass(frozen=True)
class Located:
    """Where the item's record will be (for the hits to point at), and its version's place
    among the object's versions (`ItemRequest.version_order`)."""

    result_uri: str
    order: str


def source_id_of(source: ObjectRef) -> str:
    return hashlib.sha256(f"{source.bucket}/{source.key}".encode()).hexdigest()[:32]


def vector_key(item_id: str, n: int) -> str:
    return f"{item_id}:{n:05d}"


def vector_keys(item_id: str, start: int, stop: int) -> list[str]:
    return [vector_key(item_id, n) for n in range(start, stop)]


def index_item(
    item_id: str,
    source: ObjectRef,
    pieces: Pieces,
    located: Located,
    store: ObjectStore,
    embedder: Embedder,
    index: VectorIndex,
    ledger: SearchLedger,
) -> SearchIndexing:
    """Index the item. Every step is safe to run again (the state retries throttling and
    outages): a retry finds its cached vectors, its own keys and the removals it still owes.
    If indexing fails for good, the item ends degraded and the forgetter's rules remove
    whatever it wrote."""
    source_id = source_id_of(source)
    holder = ledger.source(source_id)
    if holder and holder.item_id != item_id and holder.order > located.order:
        forget_item(item_id, index, ledger)  # an earlier attempt's vectors, if any
        return _superseded(embedder, index, holder)

    usage = _Usage()
    vectors = _vectors(item_id, source, pieces, located, store, embedder, ledger, usage)

    # Counted before the vectors are written: whatever ends the item can find them.
    earlier = ledger.item(item_id)
    ledger.record_item(item_id, IndexedItem(source_id, max(len(vectors), _count(earlier))))
    put_bytes = index.put(vectors) if vectors else 0
    removed = 0
    if earlier and earlier.vectors > len(vectors):
        index.delete(vector_keys(item_id, len(vectors), earlier.vectors))
        removed += earlier.vectors - len(vectors)
    ledger.record_item(item_id, IndexedItem(source_id, len(vectors)))

    read_before = {holder.item_id} if holder and holder.item_id != item_id else set()
    claim = IndexedSource(item_id, located.order, len(vectors))
    won, previous = ledger.claim_source(source_id, claim, read_before)
    if not won:
        # A newer version claimed the object while this one was embedding: it wins.
        forget_item(item_id, index, ledger)
        newer = ledger.source(source_id)
        return _superseded(embedder, index, newer, usage.report(embedder.model_id))
    if previous and previous.item_id not in (item_id, *read_before):
        ledger.note_replacing(source_id, item_id, previous.item_id)
    removed += _remove_replaced(source_id, item_id, index, ledger)
    return SearchIndexing(
        status="indexed",
        vectors=len(vectors),
        embedded=usage.embedded,
        cache_hits=usage.cache_hits,
        removed=removed,
        left_out=pieces.left_out + usage.refused,
        model_id=embedder.model_id,
        dimension=embedder.dimension,
        index_arn=index.index_arn,
        usage=usage.report(embedder.model_id),
        put_bytes=put_bytes,
    )


def _vectors(
    item_id: str,
    source: ObjectRef,
    pieces: Pieces,
    located: Located,
    store: ObjectStore,
    embedder: Embedder,
    ledger: SearchLedger,
    usage: _Usage,
) -> list[IndexedVector]:
    """Each piece's vector, from the cache or the model (and then cached at once)."""
    contents = _contents(pieces.pieces, store)
    cache_keys = {
        id(piece): embedding_key(embedder.model_id, embedder.dimension, digest)
        for piece, _, digest in contents
    }
    cached = ledger.cached(cache_keys.values())
    vectors: list[IndexedVector] = []
    for piece, content, _ in contents:
        cache_key = cache_keys[id(piece)]
        vector = cached.get(cache_key)
        if vector is None:
            embedded = usage.embed(embedder, piece, content)
            if embedded is None:
                continue  # refused for its content: counted, and the others go on
            vector = embedded.vector
            ledger.remember(cache_key, vector)
            cached[cache_key] = vector
        else:
            usage.cache_hits += 1
        metadata = VectorMetadata(
            item_id=item_id,
            asset_id=piece.asset_id,
            modality=piece.modality,
            embedded="image" if piece.image_uri else "text",
            start_s=piece.start_s,
            end_s=piece.end_s,
            chunk=piece.chunk,
            snippet=piece.snippet,
            source_key=f"{source.bucket}/{source.key}",
            result_uri=located.result_uri,
        )
        vectors.append(
            IndexedVector(vector_key(item_id, len(vectors)), vector, metadata.to_s3vectors())
        )
    return vectors


def _remove_replaced(source_id: str, item_id: str, index: VectorIndex, ledger: SearchLedger) -> int:
    """Remove the vectors of the object's earlier versions the claim listed; a retry after a
    failure here finds them still listed and finishes."""
    entry = ledger.source(source_id)
    if entry is None or entry.item_id != item_id:
        return 0
    done = set(entry.replacing) - {item_id}
    removed = sum(forget_item(old, index, ledger) for old in sorted(done))
    ledger.replaced(source_id, item_id, done)
    return removed


def forget_item(item_id: str, index: VectorIndex, ledger: SearchLedger) -> int:
    """Remove the item's vectors (its failure, or its deleted result), and those of earlier
    versions it was still to remove; how many went. Safe to repeat."""
    entry = ledger.item(item_id)
    if entry is None:
        return 0
    if entry.vectors:
        index.delete(vector_keys(item_id, 0, entry.vectors))
    removed = entry.vectors
    holder = ledger.source(entry.source_id)
    if holder is not None and holder.item_id == item_id:
        removed += sum(forget_item(old, index, ledger) for old in holder.replacing - {item_id})
        ledger.release_source(entry.source_id, item_id)
    ledger.forget_item(item_id)
    return removed


def _count(entry: IndexedItem | None) -> int:
    return entry.vectors if entry else 0


def _superseded(
    embedder: Embedder,
    index: VectorIndex,
    holder: IndexedSource | None,
    usage: EmbeddingUsage | None = None,
) -> SearchIndexing:
    newer = f" (item {holder.item_id})" if holder else ""
    return SearchIndexing(
        status="superseded",
        model_id=embedder.model_id,
        dimension=embedder.dimension,
        index_arn=index.index_arn,
        usage=usage,
        cause=f"a newer version of the object is in the index{newer}",
    )


def _contents(pieces: list[Piece], store: ObjectStore) -> list[tuple[Piece, bytes, str]]:
    """Each piece with what the model reads (text or image bytes) and its content hash; a
    piece whose image was never written is left out."""
    found: list[tuple[Piece, bytes, str]] = []
    for piece in pieces:
        if piece.image_uri is not None:
            data = image_bytes(store, piece.image_uri, MAX_MODEL_IMAGE_BYTES)
            if not data:
                continue
            kind = b"image\0"
        else:
            data = (piece.text or "").encode("utf-8")
            if not data.strip():
                continue
            kind = b"text\0"
        found.append((piece, data, hashlib.sha256(kind + data).hexdigest()))
    return found


class _Usage:
    def __init__(self) -> None:
        self.text_calls = 0
        self.text_tokens = 0
        self.image_calls = 0
        self.cache_hits = 0
        self.refused = 0

    @property
    def embedded(self) -> int:
        return self.text_calls + self.image_calls

    def embed(self, embedder: Embedder, piece: Piece, content: bytes) -> Embedding | None:
        """The piece's embedding, or None when the model refuses this content (an image it
        cannot read, an answer that is not a vector): one bad piece does not fail the item;
        throttling and outages still raise, for the state's Retry."""
        try:
            if piece.image_uri is not None and piece.image_format is not None:
                self.image_calls += 1
                return embedder.embed_image(content, piece.image_format, "index")
            self.text_calls += 1
            embedding = embedder.embed_text(content.decode("utf-8"), "index")
        except (ModelOutputInvalid, MediaNotPreparable, ContentRefused):
            self.refused += 1
            return None
        self.text_tokens += embedding.text_tokens
        return embedding

    def report(self, model_id: str) -> EmbeddingUsage:
        return EmbeddingUsage(
            model_id=model_id,
            text_calls=self.text_calls,
            text_tokens=self.text_tokens,
            image_calls=self.image_calls,
            cache_hits=self.cache_hits,
        )


def index_for_search(
    given: IndexForSearchInput,
    store: ObjectStore,
    processed_bucket: str,
    settings: SearchSettings,
    embedder: Embedder,
    index: VectorIndex,
    ledger: SearchLedger,
) -> SearchIndexing:
    """ "Index for search": the record about to be written, cut into pieces and indexed."""
    plan = load_plan(store, given.plan.plan_uri)
    draft = FusionDraft.model_validate(read_json(store, given.fusion.fusion_uri))
    result = assemble_result(given.request, plan, draft, given.final_gate, store, None, None)
    pieces = pieces_of(result, plan, store, settings, processed_bucket)
    key = record_key("results", plan.item_id, given.request.received_at)
    located = Located(f"s3://{processed_bucket}/{key}", given.request.version_order)
    return index_item(plan.item_id, plan.source, pieces, located, store, embedder, index, ledger)


def item_to_forget(event: dict[str, Any], store: ObjectStore) -> str | None:
    """The item whose vectors an event says must go (see handlers/forget_search_vectors.py),
    or None when it says nothing of the kind."""
    kind = event.get("detail-type")
    if kind == "Object Deleted":
        deleted = ObjectDeletedEvent.model_validate(event).detail
        item_id = item_of_result_key(deleted.object.key)
        if item_id is None:
            return None
        try:
            store.size(ObjectRef(bucket=deleted.bucket.name, key=deleted.object.key))
        except ObjectMissing:
            return item_id
        return None  # a non-current version went; the result is still there
    if kind == "ItemProcessed":
        processed = ItemProcessed.model_validate(event["detail"])
        return processed.item_id if "search" in processed.degraded_branches else None
    # The execution's name is its item's id (domain/dispatch.py).
    return ExecutionStatusEvent.model_validate(event).detail.name


def item_of_result_key(key: str) -> str | None:
    """`results/dt=.../<item>.json` -> the item id (None for any other key)."""
    if not key.startswith(RESULTS_PREFIX) or not key.endswith(".json"):
        return None
    return key.rsplit("/", 1)[-1].removesuffix(".json") or None
