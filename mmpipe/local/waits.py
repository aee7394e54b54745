"""Who waited for which quota, read from a run's execution histories.

Admission control makes a step wait by failing it with `CapacityUnavailable` (the state's
Retry is the wait); a service that throttles anyway fails it with `ServiceThrottled` or its
own throttling error. Each such failure is one attempt that waited, counted for the state
it belongs to (`recorded_states.owning_state`).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmpipe.local.recorded_states import owning_state

# The service whose quota each waiting state spends.
SERVICE_OF_STATE = {
    "Analyze with Bedrock": "bedrock",
    "Fuse modalities": "bedrock",
    "Transcribe audio": "transcribe",
    "Reserve an alignment instance": "sagemaker",
    "Run alignment job": "sagemaker",
}
ADMISSION_ERRORS = {"CapacityUnavailable"}
THROTTLING_ERRORS = {
    "ServiceThrottled",
    "Lambda.TooManyRequestsException",
    "SageMaker.ResourceLimitExceededException",
    "SageMaker.ThrottlingException",
}


@dataclass
class Waits:
    """Attempts that waited, and the items that waited at least once, per service and why."""

    attempts: Counter[tuple[str, str]] = field(default_factory=Counter)
    items: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    def add(self, service: str, why: str, item_id: str) -> None:
        self.attempts[(service, why)] += 1
        self.items.setdefault((service, why), set()).add(item_id)

    def rows(self) -> list[tuple[str, str, int, int]]:
        """(service, why, attempts, items), sorted."""
        return [
            (service, why, count, len(self.items[(service, why)]))
            for (service, why), count in sorted(self.attempts.items())
        ]


def _failure(event: dict[str, Any]) -> str | None:
    for key in ("taskFailedEventDetails", "lambdaFunctionFailedEventDetails"):
        details = event.get(key)
        if details:
            return str(details.get("error", ""))
    return None


def waits_in(executions_dir: Path) -> Waits:
    waits = Waits()
    for path in sorted(executions_dir.glob("*.json")):
        history = json.loads(path.read_text())
        events: list[dict[str, Any]] = history.get("events", [])
        by_id = {int(e["id"]): e for e in events if "id" in e}
        for event in events:
            error = _failure(event)
            if error not in ADMISSION_ERRORS | THROTTLING_ERRORS:
                continue
            state = owning_state(event, by_id) or "?"
            service = (
                "lambda"
                if error == "Lambda.TooManyRequestsException"
                else SERVICE_OF_STATE.get(state, state)
            )
            why = "admission" if error in ADMISSION_ERRORS else "throttled"
            waits.add(service, why, path.stem)
    return waits
