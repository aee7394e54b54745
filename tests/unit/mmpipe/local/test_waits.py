"""Waits are attributed to the state they happened in, even when Parallel branches interleave."""

from __future__ import annotations

import json
from pathlib import Path

from mmpipe.local.waits import waits_in


def _entered(id_: int, previous: int, name: str) -> dict[str, object]:
    return {
        "id": id_,
        "previousEventId": previous,
        "type": "TaskStateEntered",
        "stateEnteredEventDetails": {"name": name},
    }


def _failed(id_: int, previous: int, error: str, lambda_form: bool = True) -> dict[str, object]:
    key = "lambdaFunctionFailedEventDetails" if lambda_form else "taskFailedEventDetails"
    return {"id": id_, "previousEventId": previous, key: {"error": error, "cause": "x"}}


def test_each_wait_is_counted_for_its_own_states_service(tmp_path: Path) -> None:
    events = [
        _entered(1, 0, "Transcribe audio"),
        _entered(2, 0, "Analyze with Bedrock"),  # the other branch, interleaved
        {"id": 3, "previousEventId": 1, "type": "TaskScheduled"},
        _failed(4, 3, "CapacityUnavailable", lambda_form=False),
        _failed(5, 2, "ServiceThrottled"),
        _failed(6, 2, "Lambda.TooManyRequestsException"),
        _failed(7, 2, "ModelOutputInvalid"),  # not a wait
    ]
    (tmp_path / "item-1.json").write_text(json.dumps({"events": events}))
    (tmp_path / "item-2.json").write_text(
        json.dumps(
            {"events": [_entered(1, 0, "Fuse modalities"), _failed(2, 1, "ServiceThrottled")]}
        )
    )

    waits = waits_in(tmp_path)

    assert waits.rows() == [
        ("bedrock", "throttled", 2, 2),
        ("lambda", "throttled", 1, 1),
        ("transcribe", "admission", 1, 1),
    ]
