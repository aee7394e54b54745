"""Search: what a vector in the search index says about itself, what indexing an item did
(`SearchIndexing`, the record's `search`), and the search function's request and answer.

One vector is one piece of an item: an image, a keyframe, a stretch of a transcript or of
captions with its time span, a chunk of a text, the item's fused summary. S3 Vectors splits
its metadata in two: the filterable keys (at most 2 KB per vector) are the ones a query may
filter on; the non-filterable keys (named when the index is created, at most 10) carry the
long values a hit shows, the snippet and the locations.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pipeline_contracts._base import Message

# What the piece is a piece of, as users filter on it (`mmpipe search --modality`).
SearchModality = Literal["image", "video", "text", "document", "speech", "captions", "summary"]
SEARCH_MODALITIES: tuple[SearchModality, ...] = (
    "image",
    "video",
    "text",
    "document",
    "speech",
    "captions",
    "summary",
)
# What the model embedded for it: the pixels, or words (a description, a transcript, text).
Embedded = Literal["image", "text"]
ImageFormat = Literal["png", "jpeg", "gif", "webp"]

# The metadata keys no query filters on: declared non-filterable when the index is created.
NON_FILTERABLE_KEYS: tuple[str, ...] = ("snippet", "source_key", "result_uri")
MAX_SNIPPET_CHARS = 600
MAX_TOP_K = 100  # QueryVectors' topK limit
MAX_QUERY_CHARS = 4000
# An image query travels inside a synchronous Lambda invoke (6 MB request): base64 of at most
# 3.75 MB, Bedrock's own image limit.
MAX_QUERY_IMAGE_BASE64_CHARS = 5_000_000


class _Found(Message):
    """What a vector says about the piece it stands for: a vector's metadata, and a hit."""

    item_id: str
    asset_id: str
    modality: SearchModality
    embedded: Embedded
    start_s: float | None = None
    end_s: float | None = None
    page: int | None = None
    chunk: int | None = None
    snippet: str = Field(default="", max_length=MAX_SNIPPET_CHARS)
    source_key: str = ""
    result_uri: str = ""


class VectorMetadata(_Found):
    """Every vector's metadata. None values are left out when written (S3 Vectors takes
    strings, numbers, booleans and lists, not nulls)."""

    def to_s3vectors(self) -> dict[str, str | float | int | bool]:
        return {k: v for k, v in self.model_dump().items() if v is not None and v != ""}


class EmbeddingUsage(Message):
    """What the embedding model was asked for while indexing one item (priced per text token
    and per image), and what the content-hash cache answered instead."""

    model_id: str
    text_calls: int = Field(default=0, ge=0)
    text_tokens: int = Field(default=0, ge=0, description="Estimated: 4 characters a token.")
    image_calls: int = Field(default=0, ge=0)
    cache_hits: int = Field(default=0, ge=0)


class SearchIndexing(Message):
    """`$.search`, and the record's `search`: whether the item can be found, and how it got
    there. `failed` comes from the state's Catch (the item is then degraded, branch
    "search"); `superseded`: a newer version of the same object was indexed first, and its
    vectors stay."""

    status: Literal["indexed", "superseded", "failed"]
    vectors: int = Field(default=0, ge=0, description="Vectors the item has in the index.")
    embedded: int = Field(default=0, ge=0, description="Pieces the model embedded this time.")
    cache_hits: int = Field(default=0, ge=0, description="Pieces the cache already held.")
    removed: int = Field(
        default=0, ge=0, description="Vectors of the object's earlier processing removed."
    )
    left_out: int = Field(
        default=0, ge=0, description="Pieces over the per-item limit, not in the index."
    )
    model_id: str | None = None
    dimension: int | None = None
    index_arn: str | None = None
    usage: EmbeddingUsage | None = None
    put_bytes: int = Field(default=0, ge=0, description="Logical bytes written to the index.")
    error: str | None = None
    cause: str | None = None


class SearchRequest(Message):
    """The search function's input: words or an image (base64), never both."""

    query: str | None = Field(default=None, min_length=1, max_length=MAX_QUERY_CHARS)
    image_base64: str | None = Field(
        default=None, min_length=1, max_length=MAX_QUERY_IMAGE_BASE64_CHARS
    )
    image_format: ImageFormat | None = None
    modalities: list[SearchModality] = Field(default_factory=list)
    item_id: str | None = None
    top_k: int = Field(default=10, ge=1, le=MAX_TOP_K)

    @model_validator(mode="after")
    def _one_kind_of_query(self) -> SearchRequest:
        if (self.query is None) == (self.image_base64 is None):
            raise ValueError("give a query or an image, not both and not neither")
        if self.image_base64 is not None and self.image_format is None:
            raise ValueError("an image query needs its image_format")
        return self


class SearchHit(_Found):
    key: str
    score: float = Field(description="1 - cosine distance: 1 is the same direction.")
    distance: float


class SearchResponse(Message):
    hits: list[SearchHit]
    model_id: str
    dimension: int
    index_arn: str
    embed_ms: float = Field(ge=0)
    query_ms: float = Field(ge=0)
