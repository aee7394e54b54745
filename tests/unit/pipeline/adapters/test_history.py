"""The history adapter reads every page of an execution's history (botocore's Stubber checks
each request against the API model, with no network)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.stub import Stubber

from pipeline.adapters.history import StepFunctionsHistory
from pipeline.errors import ServiceThrottled
from tests.unit.pipeline.adapters.stubbed import stubbed_client

ARN = "arn:aws:states:us-east-1:123456789012:execution:PipelineStateMachine-x:item-1"
AT = datetime(2026, 12, 1, tzinfo=UTC)


def test_every_page_of_the_history_is_read_in_order() -> None:
    sfn = stubbed_client("stepfunctions")
    with Stubber(sfn) as stub:
        stub.add_response(
            "get_execution_history",
            {
                "events": [{"timestamp": AT, "type": "ExecutionStarted", "id": 1}],
                "nextToken": "more",
            },
            {"executionArn": ARN, "maxResults": 1000},
        )
        stub.add_response(
            "get_execution_history",
            {"events": [{"timestamp": AT, "type": "PassStateEntered", "id": 2}]},
            {"executionArn": ARN, "maxResults": 1000, "nextToken": "more"},
        )
        events = StepFunctionsHistory(sfn).events(ARN)
        stub.assert_no_pending_responses()
    assert [e["id"] for e in events] == [1, 2]


def test_throttling_is_the_error_the_state_machine_retries() -> None:
    sfn = stubbed_client("stepfunctions")
    with Stubber(sfn) as stub:
        stub.add_client_error("get_execution_history", "ThrottlingException")
        with pytest.raises(ServiceThrottled):
            StepFunctionsHistory(sfn).events(ARN)
