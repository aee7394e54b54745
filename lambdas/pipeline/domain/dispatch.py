"""Turn an S3 "Object Created" event into exactly one pipeline execution request.

Every object under the ingest prefix starts an execution, so every object is accounted for:
a loose object is an item; a `manifest.json` anywhere under the bundle prefix starts the
bundle rooted at its folder; any other file under the bundle prefix is a bundle file, whose
execution finds the manifest that lists it (or quarantines it). Only folder markers (keys
ending in "/", what the S3 console's "Create folder" writes) and the metadata files operating
systems leave in copied folders (.DS_Store, ._*, Thumbs.db, desktop.ini) start nothing; the
dispatcher logs and counts them.

The execution name is derived from bucket + key + version, so a duplicated or redelivered
event maps to the same name and Step Functions refuses a second execution.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel

from pipeline.adapters.providers import Executions
from pipeline.adapters.storage import ObjectMissing, ObjectStore
from pipeline.config import PipelineConfig
from pipeline_contracts.item import ItemRequest, ObjectRef
from pipeline_contracts.manifest import MANIFEST_FILE_NAME

MAX_EXECUTION_NAME = 80
# Files operating systems write next to what users copy (Finder, Explorer): never content.
_OS_METADATA = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", "Icon\r"})


def is_os_metadata(name: str) -> bool:
    """Finder's .DS_Store and AppleDouble `._*` files, Explorer's Thumbs.db and desktop.ini."""
    return name in _OS_METADATA or name.startswith("._")


@dataclass(frozen=True)
class Skipped:
    """An event that starts nothing, and why (logged, never an error)."""

    reason: str


def request_for_event(
    event: S3EventNotificationEventBridgeModel, store: ObjectStore, config: PipelineConfig
) -> tuple[str, ItemRequest | Skipped]:
    """The object's key, decoded, and what its "Object Created" event starts. Whoever reads
    an event (the dispatcher, the recorder of undispatched ones) names the same item."""
    bucket = event.detail.bucket.name

    def exists(key: str) -> bool:
        try:
            store.size(ObjectRef(bucket=bucket, key=key))
        except ObjectMissing:
            return False
        return True

    key = decode_event_key(event.detail.object.key, exists)
    request = request_for(
        bucket,
        key,
        event.detail.object.version_id,
        event.time.isoformat(),
        config,
        sequencer=event.detail.object.sequencer,
    )
    return key, request


def decode_event_key(raw_key: str, exists: Callable[[str], bool]) -> str:
    """S3 event payloads carry URL-encoded keys ('red+flower.jpg'). Decode, but if the decoded
    key does not exist and the raw one does (a key with a literal '+'), keep the raw one."""
    decoded = unquote_plus(raw_key)
    if decoded != raw_key and not exists(decoded) and exists(raw_key):
        return raw_key
    return decoded


def item_id_for(bucket: str, key: str, version_id: str | None) -> str:
    """A readable, unique, deterministic id that is also a valid execution name."""
    digest = hashlib.sha256(f"{bucket}\n{key}\n{version_id or ''}".encode()).hexdigest()[:20]
    stem = key.rstrip("/").rsplit("/", 1)[-1]
    if stem == MANIFEST_FILE_NAME:
        stem = key.rstrip("/").rsplit("/", 2)[-2]
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", ascii_stem).strip("-")[:40] or "item"
    return f"{slug}-{digest}"[:MAX_EXECUTION_NAME]


def request_for(
    bucket: str,
    key: str,
    version_id: str | None,
    received_at: str,
    config: PipelineConfig,
    sequencer: str | None = None,
) -> ItemRequest | Skipped:
    if not key.startswith(config.ingest_prefix):
        return Skipped(f"outside the ingest prefix {config.ingest_prefix!r}")
    if key.endswith("/"):
        return Skipped("a folder marker, not a file")
    if is_os_metadata(key.rsplit("/", 1)[-1]):
        # Counted and logged by the dispatcher: a synced folder carries these everywhere.
        return Skipped("operating-system metadata (.DS_Store, ._*, Thumbs.db, desktop.ini)")
    source = ObjectRef(bucket=bucket, key=key, version_id=version_id)
    item_id = item_id_for(bucket, key, version_id)
    if key.startswith(config.bundle_prefix):
        folder, _, name = key.rpartition("/")
        if name == MANIFEST_FILE_NAME and len(folder) >= len(config.bundle_prefix):
            return ItemRequest(
                item_id=item_id,
                kind="bundle",
                source=source,
                bundle_prefix=f"{folder}/",
                received_at=received_at,
                sequencer=sequencer,
            )
        return ItemRequest(
            item_id=item_id,
            kind="bundle_file",
            source=source,
            received_at=received_at,
            manifest_wait_s=config.bundle_manifest_wait_s,
            sequencer=sequencer,
        )
    return ItemRequest(
        item_id=item_id, kind="object", source=source, received_at=received_at, sequencer=sequencer
    )


@dataclass(frozen=True)
class Dispatched:
    """What one event did: started an execution, hit an existing one, or started nothing."""

    key: str
    outcome: Literal["started", "duplicate", "skipped"]
    item_id: str | None = None
    reason: str | None = None


def dispatch_event(
    event: S3EventNotificationEventBridgeModel,
    store: ObjectStore,
    config: PipelineConfig,
    executions: Executions,
) -> Dispatched:
    key, request = request_for_event(event, store, config)
    if isinstance(request, Skipped):
        return Dispatched(key=key, outcome="skipped", reason=request.reason)
    # The same object version was already started: a duplicate event, not an error.
    started = executions.start(request)
    return Dispatched(
        key=key, outcome="started" if started else "duplicate", item_id=request.item_id
    )
