"""EventBridge: rules deliver to Lambda targets, and the pipeline's own events can be refused
on request (--inject events-fail)."""

from __future__ import annotations

import json
from typing import Any

from moto.awslambda_simple.models import lambda_simple_backends
from moto.events.models import EventsBackend, Rule

from mmpipe.local.faults import Faults
from mmpipe.local.moto_patches.shared import asynchronous_invocation, originals, state


# --- Patch 2: EventBridge rules cannot target Lambda --------------------------------------
# moto's Rule.send_to_targets raises NotImplementedError for Lambda targets. Deliver the event
# to a Lambda target through the (patched) Lambda backend, as EventBridge would; other targets
# (SQS, logs, buses) still go through moto.
def _send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
    if not self.event_pattern.matches_event(original_event):
        return
    lambda_targets = [t for t in self.targets if ":lambda:" in t["Arn"]]
    other_targets = [t for t in self.targets if ":lambda:" not in t["Arn"]]
    if other_targets:
        # A shallow copy that only sees the targets moto supports.
        supported = object.__new__(type(self))
        supported.__dict__.update(self.__dict__)
        supported.targets = other_targets
        originals["send_to_targets"](supported, original_event, transform_input)
    for target in lambda_targets:
        arn = target["Arn"]
        account, region = arn.split(":")[4], arn.split(":")[3]
        backend = lambda_simple_backends[account][region]
        headers: dict[str, str] = {}
        # EventBridge invokes asynchronously: past the concurrency quota the event waits.
        token = asynchronous_invocation.set(True)
        try:
            backend.invoke(arn, None, json.dumps(original_event, default=str), {}, headers)
        finally:
            asynchronous_invocation.reset(token)


# --- Patch 14: injected EventBridge failures (--inject events-fail) -----------------------
# Not a moto gap: EventBridge answers the pipeline's own events with a failed entry, as it
# does when it cannot take them (InternalFailure), so the pipeline's handling is exercised.
PIPELINE_EVENT_SOURCE = "multimodal-pipeline"


def _put_events(self: EventsBackend, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    faults: Faults | None = state["faults"]
    if (
        faults is not None
        and faults.events_fail
        and any(e.get("Source") == PIPELINE_EVENT_SOURCE for e in events)
    ):
        return [
            {
                "ErrorCode": "InternalFailure",
                "ErrorMessage": "EventBridge could not take the event (injected)",
            }
            for _ in events
        ]
    result: list[dict[str, Any]] = originals["put_events"](self, events)
    return result


def patch() -> None:
    originals["put_events"] = EventsBackend.put_events
    EventsBackend.put_events = _put_events  # type: ignore[method-assign]
    originals["send_to_targets"] = Rule.send_to_targets
    Rule.send_to_targets = _send_to_targets  # type: ignore[method-assign]


def restore() -> None:
    Rule.send_to_targets = originals.pop("send_to_targets")  # type: ignore[method-assign]
    EventsBackend.put_events = originals.pop("put_events")  # type: ignore[method-assign]
