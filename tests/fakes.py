"""In-memory stand-ins for the pipeline's I/O ports, shared by the unit tests.

`InMemoryObjectStore` implements the `ObjectStore` protocol
(`pipeline.adapters.storage`) the way S3 behaves for it: versioned buckets, delete
markers, ranged reads from byte 0, `ObjectMissing` for a missing key or version,
lexicographic listing. It also records the calls made, and can be told to fail the next
call of a method (for example with `ServiceThrottled`) to test retries.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.adapters.storage import ObjectMissing
from pipeline.config import Thresholds
from pipeline.domain.admission import Bucket, BucketLevel
from pipeline_contracts.item import ObjectRef


@dataclass(frozen=True)
class StoredVersion:
    version_id: str
    body: bytes | None  # None is a delete marker
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class StoreCall:
    method: str
    bucket: str
    key: str
    version_id: str | None = None
    max_bytes: int | None = None


@dataclass
class InMemoryObjectStore:
    """A faithful, thread-safe, in-memory `ObjectStore`."""

    calls: list[StoreCall] = field(default_factory=list)
    _objects: dict[tuple[str, str], list[StoredVersion]] = field(default_factory=dict)
    _failures: dict[str, list[BaseException]] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # ------------------------------------------------------------------ test helpers

    def put(
        self,
        bucket: str,
        key: str,
        body: bytes,
        content_type: str = "application/octet-stream",
    ) -> ObjectRef:
        """Store a new version (as an upload would) and return a reference to it."""
        with self._lock:
            version = StoredVersion(self._new_version_id(), bytes(body), content_type)
            self._objects.setdefault((bucket, key), []).append(version)
            return ObjectRef(bucket=bucket, key=key, version_id=version.version_id)

    def delete(self, bucket: str, key: str) -> None:
        """Delete as a versioned bucket does: add a delete marker, keep older versions."""
        with self._lock:
            self._objects.setdefault((bucket, key), []).append(
                StoredVersion(self._new_version_id(), None)
            )

    def body(self, bucket: str, key: str) -> bytes:
        """The latest body (raises ObjectMissing like a GET would)."""
        return self._resolve(ObjectRef(bucket=bucket, key=key)).body or b""

    def content_type(self, bucket: str, key: str) -> str:
        return self._resolve(ObjectRef(bucket=bucket, key=key)).content_type

    def keys(self, bucket: str) -> list[str]:
        return list(self.list_keys(bucket, ""))

    def fail_next(self, method: str, error: BaseException) -> None:
        """Make the next call of `method` raise `error` (queued, one per call)."""
        with self._lock:
            self._failures.setdefault(method, []).append(error)

    def calls_to(self, method: str) -> list[StoreCall]:
        return [call for call in self.calls if call.method == method]

    # ------------------------------------------------------------------ ObjectStore

    def size(self, ref: ObjectRef) -> int:
        self._record("size", ref)
        return len(self._resolve(ref).body or b"")

    def read_bytes(self, ref: ObjectRef, max_bytes: int | None = None) -> bytes:
        if max_bytes is not None and max_bytes < 1:
            raise ValueError("max_bytes must be at least 1 (an S3 range is inclusive)")
        self._record("read_bytes", ref, max_bytes)
        body = self._resolve(ref).body or b""
        return body if max_bytes is None else body[:max_bytes]

    def download(self, ref: ObjectRef, destination: Path) -> None:
        self._record("download", ref)
        body = self._resolve(ref).body or b""
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(body)

    def list_keys(self, bucket: str, prefix: str) -> Iterator[str]:
        self._record("list_keys", ObjectRef(bucket=bucket, key=prefix))
        with self._lock:
            live = [
                key
                for (stored_bucket, key), versions in self._objects.items()
                if stored_bucket == bucket
                and key.startswith(prefix)
                and versions[-1].body is not None
            ]
        # S3 lists keys in the binary order of their UTF-8 encoding.
        yield from sorted(live, key=lambda key: key.encode("utf-8"))

    def put_bytes(self, bucket: str, key: str, body: bytes, content_type: str) -> str:
        self._record("put_bytes", ObjectRef(bucket=bucket, key=key))
        self.put(bucket, key, body, content_type)
        return f"s3://{bucket}/{key}"

    def copy(self, source: ObjectRef, bucket: str, key: str) -> str:
        self._record("copy", source)
        version = self._resolve(source)
        self.put(bucket, key, version.body or b"", version.content_type)
        return f"s3://{bucket}/{key}"

    # ------------------------------------------------------------------ internals

    def _new_version_id(self) -> str:
        return f"v{next(self._ids):08d}"

    def _record(self, method: str, ref: ObjectRef, max_bytes: int | None = None) -> None:
        with self._lock:
            self.calls.append(StoreCall(method, ref.bucket, ref.key, ref.version_id, max_bytes))
            pending = self._failures.get(method)
            error = pending.pop(0) if pending else None
        if error is not None:
            raise error

    def _resolve(self, ref: ObjectRef) -> StoredVersion:
        with self._lock:
            versions = self._objects.get((ref.bucket, ref.key), [])
            if ref.version_id is None:
                found = versions[-1] if versions else None
            else:
                found = next((v for v in versions if v.version_id == ref.version_id), None)
        if found is None or found.body is None:
            raise ObjectMissing(ref.uri)
        return found


class FixedThresholds:
    """The thresholds port, answering with fixed values (the SSM adapter has its own tests)."""

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds or Thresholds()
        self.asked: list[tuple[str, int]] = []

    def __call__(self, path: str, max_age_s: int) -> FixedThresholds:
        self.asked.append((path, max_age_s))
        return self

    def current(self) -> Thresholds:
        return self.thresholds


class MemoryLedger:
    """The capacity ledger in memory (DynamoDbCapacity's behaviour, without the races)."""

    def __init__(self) -> None:
        self.slots: dict[str, set[str]] = {}
        self.levels: dict[str, BucketLevel] = {}

    def take_slot(self, pool: str, holder: str, limit: int) -> bool:
        held = self.slots.setdefault(pool, set())
        if holder in held:
            return True
        if len(held) >= limit:
            return False
        held.add(holder)
        return True

    def release_slot(self, pool: str, holder: str) -> bool:
        if holder not in self.slots.get(pool, set()):
            return False
        self.slots[pool].discard(holder)
        return True

    def holders(self, pool: str) -> set[str]:
        return set(self.slots.get(pool, set()))

    def pools(self) -> list[str]:
        return sorted(self.slots)

    def take_from_bucket(self, bucket: Bucket, now: float) -> float:
        taken, wait = bucket.take(self.levels.get(bucket.name), now)
        if taken is not None:
            self.levels[bucket.name] = taken
        return wait


def function_environment(monkeypatch: Any, **variables: str) -> None:
    """Set a handler's environment variables as the stack would, and make it read them anew."""
    from pipeline.config import PipelineConfig
    from pipeline.environment import forget_environments

    monkeypatch.setenv("PIPELINE_CONFIG", PipelineConfig().model_dump_json())
    monkeypatch.setenv("THRESHOLDS_PARAMETER_PATH", "/test/thresholds")
    monkeypatch.setenv("CAPACITY_TABLE", "capacity")
    for name, value in variables.items():
        monkeypatch.setenv(name.upper(), value)
    forget_environments()


def plan_fields(item_id: str = "item-1", **overrides: Any) -> dict[str, Any]:
    """The names and job bounds every plan carries (the intake derives them from the item id;
    plan_fields.py has their tests), for plans built by hand."""
    work = f"work/{item_id}/"
    fields: dict[str, Any] = {
        "alignment_job_name": "mmp-align-test",
        "plan_uri": f"s3://processed/{work}job/plan.json",
        "job_input_uri": f"s3://processed/{work}job/",
        "work_prefix": work,
        "media_uri": "s3://ingest/incoming/",
        "alignment_output_uri": f"s3://processed/{work}alignment/",
        "transcribe_timeout_s": 900,
        "alignment_max_runtime_s": 900,
        "alignment_volume_size_gb": 30,
    }
    return {**fields, **overrides}
