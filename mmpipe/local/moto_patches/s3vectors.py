"""S3 Vectors: QueryVectors (moto has none), the limits moto does not keep, and ListVectors'
pagination.

moto 5.2.5 stores buckets, indexes and vectors but has no QueryVectors route, accepts any
number of vectors or keys per call, NaN and zero vectors, metadata of any size, drops the
index's `metadataConfiguration`, and lists every vector in one page. Each refusal here is a
`ValidationException` (HTTP 400) raised inside moto, so boto3 callers see the service's own
ClientError. Limits: https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-vectors-limitations.html;
filters: .../s3-vectors-metadata-filtering.html; zero and non-finite vectors: the API
reference's PutInputVector. Where AWS does not document a message, ours says what was refused.

Distances are computed with numpy over a matrix kept per index (rebuilt after a write), so a
query over 10,000 vectors of dimension 1,024 takes milliseconds.
"""

from __future__ import annotations

import bisect
import json
import math
import secrets
import threading
import weakref
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from moto.core.responses import ActionResult
from moto.s3vectors import urls as s3vectors_urls
from moto.s3vectors.exceptions import ValidationError
from moto.s3vectors.models import Index
from moto.s3vectors.responses import S3VectorsResponse

from mmpipe.local.moto_patches.shared import originals

# The documented limits (Limitations and restrictions, and the API model's constraints).
MAX_PUT_VECTORS = 500  # vectors per PutVectors call
MAX_DELETE_KEYS = 500  # keys per DeleteVectors call
MAX_GET_KEYS = 100  # keys per GetVectors call
MAX_TOP_K = 100  # results per QueryVectors request
MAX_LIST_RESULTS = 1000  # vectors per ListVectors page (500 when not given)
DEFAULT_LIST_RESULTS = 500
MAX_SEGMENTS = 16  # segmentCount of a parallel ListVectors
MAX_KEY_CHARS = 1024  # a vector's key: 1 to 1,024 characters
MAX_METADATA_KEYS = 50  # metadata keys per vector
MAX_FILTERABLE_METADATA_BYTES = 2048  # filterable metadata per vector
MAX_METADATA_BYTES = 40 * 1024  # filterable + non-filterable metadata per vector
MAX_NON_FILTERABLE_KEYS = 10  # per index, each 1 to 63 characters
MAX_METADATA_KEY_CHARS = 63

_QUERY_ROUTE = "{0}/QueryVectors$"


def _length_refusal(path: str, length: int, low: int, high: int) -> ValidationError:
    """The API model's constraint message, as moto words its own (CreateVectorBucket)."""
    return ValidationError(
        f"1 validation error detected. Value with length {length} at '/{path}' failed to "
        f"satisfy constraint: Member must have length between {low} and {high}, inclusive"
    )


def _range_refusal(path: str, value: Any, low: int, high: int) -> ValidationError:
    return ValidationError(
        f"1 validation error detected. Value {value} at '/{path}' failed to satisfy "
        f"constraint: Member must be between {low} and {high}, inclusive"
    )


# --- what local mode keeps per index, beside moto's dict of vectors ---------------------


@dataclass
class _Matrix:
    version: int
    keys: list[str]
    vectors: np.ndarray[Any, np.dtype[np.float32]]
    norms: np.ndarray[Any, np.dtype[np.float32]]


@dataclass
class _IndexState:
    """Each vector as float32 (filled on write), and the matrix built from them."""

    arrays: dict[str, np.ndarray[Any, np.dtype[np.float32]]] = field(default_factory=dict)
    version: int = 0
    matrix: _Matrix | None = None


_lock = threading.Lock()
_states: weakref.WeakKeyDictionary[Index, _IndexState] = weakref.WeakKeyDictionary()
# ListVectors' nextToken -> (index ARN, the last key of the page it continues).
_list_tokens: dict[str, tuple[str, str]] = {}


def _state_of(index: Index) -> _IndexState:
    state = _states.get(index)
    if state is None:
        state = _states[index] = _IndexState()
    return state


def _matrix_of(index: Index) -> _Matrix:
    """The index's vectors as one float32 matrix, in moto's key order (cached per write)."""
    with _lock:
        state = _state_of(index)
        cached = state.matrix
        if cached is not None and cached.version == state.version:
            return cached
        keys = list(index.vectors)
        rows = []
        for key in keys:
            array = state.arrays.get(key)
            if array is None:  # written before the patch was installed
                array = np.asarray(index.vectors[key].data["float32"], dtype=np.float32)
                state.arrays[key] = array
            rows.append(array)
        vectors = np.stack(rows) if rows else np.zeros((0, int(index.dimension)), dtype=np.float32)
        state.matrix = _Matrix(
            state.version, keys, vectors, np.linalg.norm(vectors, axis=1).astype(np.float32)
        )
        return state.matrix


def _written(index: Index, arrays: Mapping[str, Any], deleted: tuple[str, ...] = ()) -> None:
    with _lock:
        state = _state_of(index)
        state.arrays.update(arrays)
        for key in deleted:
            state.arrays.pop(key, None)
        state.version += 1


def _non_filterable(index: Index) -> frozenset[str]:
    configuration = getattr(index, "metadata_configuration", None) or {}
    return frozenset(configuration.get("nonFilterableMetadataKeys", ()))


def _index_of(response: S3VectorsResponse) -> Index:
    bucket = response._get_param("vectorBucketName")
    name = response._get_param("indexName")
    arn = response._get_param("indexArn")
    response._validate_index_params(arn, name, bucket)
    return response.s3vectors_backend.get_index(bucket, name, arn)


# --- vectors and metadata, as PutVectors checks them ------------------------------------


def _float32(values: Any, index: Index, what: str) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The values as the service stores them (float32), or its refusal."""
    if not isinstance(values, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    ):
        raise ValidationError(f"{what}: vector data must be a list of float32 values")
    if len(values) != index.dimension:
        raise ValidationError(
            f"{what}: vector must have length {index.dimension}, but has length {len(values)}"
        )
    with np.errstate(over="ignore"):  # beyond float32's range: infinite, refused below
        array = np.asarray(values, dtype=np.float32)
    if not np.all(np.isfinite(array)):
        raise ValidationError(
            f"{what}: vector data must contain only finite values (no NaN or Infinity)"
        )
    if index.distance_metric == "cosine" and not np.any(array):
        raise ValidationError(
            f"{what}: zero vectors are not allowed for the cosine distance metric"
        )
    return array


def _is_scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str | int | bool)


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _check_metadata(key: str, metadata: Any, non_filterable: frozenset[str]) -> None:
    if metadata is None:
        return
    where = f"Invalid record for key '{key}'"
    if not isinstance(metadata, dict):
        raise ValidationError(f"{where}: metadata must be a JSON object")
    if len(metadata) > MAX_METADATA_KEYS:
        raise ValidationError(f"{where}: metadata must have at most {MAX_METADATA_KEYS} keys")
    for name, value in metadata.items():
        scalar_list = isinstance(value, list) and all(_is_scalar(v) for v in value)
        if not (_is_scalar(value) or scalar_list):
            raise ValidationError(
                f"{where}: metadata value of '{name}' must be a string, number, boolean or a "
                "list of them"
            )
    filterable = {k: v for k, v in metadata.items() if k not in non_filterable}
    # The service's own message (seen in langchain-aws#693); size measured as compact JSON.
    if _json_bytes(filterable) > MAX_FILTERABLE_METADATA_BYTES:
        raise ValidationError(
            f"{where}: Filterable metadata must have at most {MAX_FILTERABLE_METADATA_BYTES} bytes"
        )
    if _json_bytes(metadata) > MAX_METADATA_BYTES:
        raise ValidationError(
            f"{where}: Total metadata must have at most {MAX_METADATA_BYTES} bytes"
        )


def _check_keys(keys: Any, path: str, most: int) -> list[str]:
    if not isinstance(keys, list) or not 1 <= len(keys) <= most:
        raise _length_refusal(path, len(keys) if isinstance(keys, list) else 0, 1, most)
    for key in keys:
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_CHARS:
            raise _length_refusal(f"{path}/member", len(str(key)), 1, MAX_KEY_CHARS)
    return keys


# --- metadata filters ---------------------------------------------------------------------
# Operators and their inputs as documented: $eq/$ne take a string, number or boolean;
# $gt/$gte/$lt/$lte a number; $in/$nin a non-empty array of those; $exists a boolean;
# $and/$or a non-empty array of filters. Several keys in one object are an AND; a bare value
# is $eq; $eq on a list-valued key matches when any element is equal. $ne and $nin are their
# negations (so a vector without the key matches them): the documentation does not say.

Predicate = Callable[[Mapping[str, Any]], bool]
_MISSING = object()


def _same(stored: Any, wanted: Any) -> bool:
    """Equal and of the same kind: true is not 1, "1" is not 1."""
    return (
        isinstance(stored, bool) == isinstance(wanted, bool)
        and (isinstance(stored, str) == isinstance(wanted, str))
        and stored == wanted
    )


def _elements(stored: Any) -> list[Any]:
    return stored if isinstance(stored, list) else [stored]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


def _field_condition(name: str, operator: str, operand: Any) -> Predicate:
    def invalid(expected: str) -> ValidationError:
        return ValidationError(f"Invalid filter: {operator} on '{name}' takes {expected}")

    if operator in ("$eq", "$ne"):
        if not _is_scalar(operand):
            raise invalid("a string, number or boolean")
        negate = operator == "$ne"

        def equal(metadata: Mapping[str, Any]) -> bool:
            stored = metadata.get(name, _MISSING)
            found = stored is not _MISSING and any(_same(e, operand) for e in _elements(stored))
            return found != negate

        return equal
    if operator in _COMPARISONS:
        if not _is_number(operand):
            raise invalid("a number")
        compare = _COMPARISONS[operator]

        def ordered(metadata: Mapping[str, Any]) -> bool:
            stored = metadata.get(name, _MISSING)
            return stored is not _MISSING and any(
                _is_number(e) and compare(e, operand) for e in _elements(stored)
            )

        return ordered
    if operator in ("$in", "$nin"):
        if not isinstance(operand, list) or not operand or not all(map(_is_scalar, operand)):
            raise invalid("a non-empty array of strings, numbers or booleans")
        negate = operator == "$nin"

        def member(metadata: Mapping[str, Any]) -> bool:
            stored = metadata.get(name, _MISSING)
            found = stored is not _MISSING and any(
                _same(e, wanted) for e in _elements(stored) for wanted in operand
            )
            return found != negate

        return member
    if operator == "$exists":
        if not isinstance(operand, bool):
            raise invalid("a boolean")
        return lambda metadata: (name in metadata) == operand
    raise ValidationError(f"Invalid filter: unknown operator {operator} on '{name}'")


def _all_of(predicates: list[Predicate]) -> Predicate:
    return lambda metadata: all(p(metadata) for p in predicates)


def _any_of(predicates: list[Predicate]) -> Predicate:
    return lambda metadata: any(p(metadata) for p in predicates)


def compile_filter(document: Any, non_filterable: frozenset[str]) -> Predicate:
    """A metadata filter as a predicate, or the service's 400 for an invalid one."""
    if not isinstance(document, dict):
        raise ValidationError("Invalid filter: a filter is a JSON object")
    predicates: list[Predicate] = []
    for name, value in document.items():
        if name in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise ValidationError(f"Invalid filter: {name} takes a non-empty array of filters")
            parts = [compile_filter(part, non_filterable) for part in value]
            predicates.append(_all_of(parts) if name == "$and" else _any_of(parts))
            continue
        if name.startswith("$"):
            raise ValidationError(f"Invalid filter: unknown operator {name}")
        if name in non_filterable:
            raise ValidationError(
                f"Invalid filter: metadata key '{name}' is non-filterable and cannot be used "
                "in a query filter"
            )
        if isinstance(value, dict):
            if not value:
                raise ValidationError(f"Invalid filter: no operator for '{name}'")
            predicates.extend(_field_condition(name, op, arg) for op, arg in value.items())
        else:
            predicates.append(_field_condition(name, "$eq", value))
    return _all_of(predicates)


# --- Patch 27: moto has no QueryVectors -----------------------------------------------------
# Exact nearest neighbours by the index's metric (cosine: 1 - cosine similarity; euclidean:
# the L2 distance), nearest first, among the vectors the filter keeps: what an ENHANCED index
# (filter first) answers. The service's search is approximate, and a CLASSIC index may
# return fewer than topK when few vectors match. A zero query vector in a cosine index is
# refused like a zero vector written to it (its distance is undefined).
def _query_vectors(self: S3VectorsResponse) -> ActionResult:
    index = _index_of(self)
    top_k = self._get_param("topK")
    if not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise _range_refusal("topK", top_k, 1, MAX_TOP_K)
    query = _float32((self._get_param("queryVector") or {}).get("float32"), index, "Query vector")
    document = self._get_param("filter")
    matches = compile_filter(document, _non_filterable(index)) if document is not None else None
    return_distance = bool(self._get_param("returnDistance", False))
    return_metadata = bool(self._get_param("returnMetadata", False))

    matrix = _matrix_of(index)
    rows = np.arange(len(matrix.keys))
    if matches is not None:
        stored = index.vectors
        rows = np.fromiter(
            (i for i, key in enumerate(matrix.keys) if matches(stored[key].metadata or {})),
            dtype=np.intp,
        )
    candidates = matrix.vectors[rows]
    if index.distance_metric == "cosine":
        similarity = (candidates @ query) / (matrix.norms[rows] * np.linalg.norm(query))
        distances = np.clip(1.0 - similarity, 0.0, 2.0)
    else:
        distances = np.linalg.norm(candidates - query, axis=1)
    count = min(top_k, len(distances))
    nearest = (
        np.argpartition(distances, count - 1)[:count]
        if count < len(distances)
        else np.arange(len(distances))
    )
    order = nearest[np.argsort(distances[nearest], kind="stable")]
    vectors = []
    for position in order:
        key = matrix.keys[int(rows[position])]
        answer: dict[str, Any] = {"key": key}
        if return_distance:
            answer["distance"] = float(distances[position])
        if return_metadata:
            answer["metadata"] = index.vectors[key].metadata or {}
        vectors.append(answer)
    return ActionResult({"vectors": vectors, "distanceMetric": index.distance_metric})


# --- Patch 28: moto keeps none of PutVectors', GetVectors' and DeleteVectors' limits -------
# Up to 500 vectors (or keys) a write, 100 keys a read, keys of 1 to 1,024 characters, the
# index's dimension, finite float32 values, no zero vector in a cosine index, metadata of at
# most 50 keys, 2 KB filterable and 40 KB in all. Stored as float32, as the service stores
# them (GetVectors, ListVectors and QueryVectors return the float32 values).
def _put_vectors(self: S3VectorsResponse) -> Any:
    vectors = self._get_param("vectors")
    if not isinstance(vectors, list) or not 1 <= len(vectors) <= MAX_PUT_VECTORS:
        raise _length_refusal(
            "vectors", len(vectors) if isinstance(vectors, list) else 0, 1, MAX_PUT_VECTORS
        )
    index = _index_of(self)
    non_filterable = _non_filterable(index)
    arrays: dict[str, np.ndarray[Any, np.dtype[np.float32]]] = {}
    for vector in vectors:
        key = vector.get("key")
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_CHARS:
            raise _length_refusal("vectors/member/key", len(str(key or "")), 1, MAX_KEY_CHARS)
        data = vector.get("data") or {}
        array = _float32(data.get("float32"), index, f"Invalid record for key '{key}'")
        _check_metadata(key, vector.get("metadata"), non_filterable)
        data["float32"] = array.tolist()
        arrays[key] = array
    result = originals["s3vectors_put_vectors"](self)
    _written(index, arrays)
    return result


def _get_vectors(self: S3VectorsResponse) -> Any:
    _check_keys(self._get_param("keys"), "keys", MAX_GET_KEYS)
    return originals["s3vectors_get_vectors"](self)


def _delete_vectors(self: S3VectorsResponse) -> Any:
    keys = _check_keys(self._get_param("keys"), "keys", MAX_DELETE_KEYS)
    index = _index_of(self)
    result = originals["s3vectors_delete_vectors"](self)
    _written(index, {}, tuple(keys))
    return result


# --- Patch 29: moto drops CreateIndex's metadataConfiguration ------------------------------
# Kept on the index (GetIndex returns it, QueryVectors refuses filters on its keys, PutVectors
# leaves its keys out of the 2 KB). CreateIndex and CreateVectorBucket also answer with the
# new ARN, and GetIndex/GetVectorBucket with the creation time, as the service does.
def _create_index(self: S3VectorsResponse) -> ActionResult:
    configuration = self._get_param("metadataConfiguration")
    if configuration is not None:
        keys = configuration.get("nonFilterableMetadataKeys")
        if not isinstance(keys, list) or not 1 <= len(keys) <= MAX_NON_FILTERABLE_KEYS:
            raise _length_refusal(
                "metadataConfiguration/nonFilterableMetadataKeys",
                len(keys) if isinstance(keys, list) else 0,
                1,
                MAX_NON_FILTERABLE_KEYS,
            )
        for key in keys:
            if not isinstance(key, str) or not 1 <= len(key) <= MAX_METADATA_KEY_CHARS:
                raise _length_refusal(
                    "metadataConfiguration/nonFilterableMetadataKeys/member",
                    len(str(key)),
                    1,
                    MAX_METADATA_KEY_CHARS,
                )
    originals["s3vectors_create_index"](self)
    bucket = self.s3vectors_backend.get_vector_bucket(
        vector_bucket_name=self._get_param("vectorBucketName"),
        vector_bucket_arn=self._get_param("vectorBucketArn"),
    )
    name = self._get_param("indexName")
    index = next(i for i in bucket.indexes.values() if i.index_name == name)
    # Attributes moto's model lacks; its serializer returns them (creationTime, ...).
    index.creation_time = datetime.now(UTC)  # type: ignore[attr-defined]
    if configuration is not None:
        index.metadata_configuration = {  # type: ignore[attr-defined]
            "nonFilterableMetadataKeys": list(configuration["nonFilterableMetadataKeys"])
        }
    return ActionResult({"indexArn": index.index_arn})


def _create_vector_bucket(self: S3VectorsResponse) -> ActionResult:
    originals["s3vectors_create_vector_bucket"](self)
    bucket = self.s3vectors_backend.get_vector_bucket(
        vector_bucket_name=self._get_param("vectorBucketName")
    )
    bucket.creation_time = datetime.now(UTC)  # type: ignore[attr-defined]
    return ActionResult({"vectorBucketArn": bucket.vector_bucket_arn})


# --- Patch 30: moto's ListVectors returns every vector in one page -------------------------
# Pages of maxResults (1 to 1,000, 500 by default) in key order with a nextToken, and
# segmentCount/segmentIndex for parallel listing (a key's segment: a hash of it). The 1 MB
# a page may read is not emulated.
def _list_vectors(self: S3VectorsResponse) -> ActionResult:
    index = _index_of(self)
    most = self._get_param("maxResults", DEFAULT_LIST_RESULTS)
    if not isinstance(most, int) or not 1 <= most <= MAX_LIST_RESULTS:
        raise _range_refusal("maxResults", most, 1, MAX_LIST_RESULTS)
    segments = self._get_param("segmentCount")
    segment = self._get_param("segmentIndex")
    if (segments is None) != (segment is None):
        raise ValidationError("segmentCount and segmentIndex must be given together")
    keys = sorted(index.vectors)
    if segments is not None:
        if not 1 <= segments <= MAX_SEGMENTS:
            raise _range_refusal("segmentCount", segments, 1, MAX_SEGMENTS)
        if not 0 <= segment < segments:
            raise ValidationError("segmentIndex must be less than segmentCount")
        keys = [k for k in keys if zlib.crc32(k.encode()) % segments == segment]
    start = 0
    token = self._get_param("nextToken")
    if token is not None:
        continued = _list_tokens.get(token)
        if continued is None or continued[0] != index.index_arn:
            raise ValidationError("Invalid nextToken")
        start = bisect.bisect_right(keys, continued[1])
    page = keys[start : start + most]
    return_data = bool(self._get_param("returnData", False))
    return_metadata = bool(self._get_param("returnMetadata", False))
    vectors = []
    for key in page:
        stored = index.vectors[key]
        answer: dict[str, Any] = {"key": key}
        if return_data:
            answer["data"] = stored.data
        if return_metadata:
            answer["metadata"] = stored.metadata or {}
        vectors.append(answer)
    result: dict[str, Any] = {"vectors": vectors}
    if start + most < len(keys):
        following = secrets.token_urlsafe(24)
        _list_tokens[following] = (index.index_arn, page[-1])
        result["nextToken"] = following
    return ActionResult(result)


_REPLACEMENTS: dict[str, Callable[[S3VectorsResponse], Any]] = {
    "create_vector_bucket": _create_vector_bucket,
    "create_index": _create_index,
    "put_vectors": _put_vectors,
    "get_vectors": _get_vectors,
    "delete_vectors": _delete_vectors,
    "list_vectors": _list_vectors,
}


def patch() -> None:
    for name, replacement in _REPLACEMENTS.items():
        originals[f"s3vectors_{name}"] = getattr(S3VectorsResponse, name)
        setattr(S3VectorsResponse, name, replacement)
    S3VectorsResponse.query_vectors = _query_vectors  # type: ignore[attr-defined]
    s3vectors_urls.url_paths[_QUERY_ROUTE] = S3VectorsResponse.dispatch


def restore() -> None:
    s3vectors_urls.url_paths.pop(_QUERY_ROUTE, None)
    del S3VectorsResponse.query_vectors  # type: ignore[attr-defined]
    for name in _REPLACEMENTS:
        setattr(S3VectorsResponse, name, originals.pop(f"s3vectors_{name}"))
    with _lock:
        _states.clear()
        _list_tokens.clear()
