"""DynamoDB requests one at a time, as AWS makes each conditional write atomic.

moto evaluates a ConditionExpression and then writes, in two steps with no lock, and writes
update items in place while other requests copy them. With Lambda handlers on threads two
takers could both pass one condition (an admission ledger's last slot, one object's claim in
the search ledger: AWS lets only one through), and a read could copy an item mid-write
("dictionary changed size during iteration"). A lock around moto's handling of each DynamoDB
request restores AWS's per-request atomicity.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from moto.dynamodb.responses import DynamoHandler

from mmpipe.local.moto_patches.shared import originals

_KEY = "dynamodb.call_action"
_lock = threading.RLock()


def _one_at_a_time(self: DynamoHandler) -> Any:
    with _lock:
        return originals[_KEY](self)


def patch() -> None:
    originals[_KEY] = DynamoHandler.call_action
    DynamoHandler.call_action = _one_at_a_time  # type: ignore[method-assign]


def restore() -> None:
    DynamoHandler.call_action = originals.pop(_KEY)  # type: ignore[method-assign]


@contextlib.contextmanager
def atomic_writes() -> Iterator[None]:
    """The patch for code that runs moto without local mode (the ledgers' race tests); a no-op
    while local mode has it installed."""
    if _KEY in originals:
        yield
        return
    patch()
    try:
        yield
    finally:
        restore()
