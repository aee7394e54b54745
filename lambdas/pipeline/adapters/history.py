"""An execution's own history (Step Functions GetExecutionHistory), read by the result writer
to measure what the item used: state transitions, Lambda durations, the alignment job."""

from __future__ import annotations

from typing import Any

import boto3

from pipeline.adapters.aws_errors import translated_aws_errors


class StepFunctionsHistory:
    def __init__(self, client: Any | None = None) -> None:
        self._sfn = client or boto3.client("stepfunctions")

    def events(self, execution_arn: str) -> list[dict[str, Any]]:
        """Every event so far, oldest first, with its data (the alignment job's description
        is in its task's output)."""
        events: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            with translated_aws_errors("Step Functions"):
                page = self._sfn.get_execution_history(
                    executionArn=execution_arn,
                    maxResults=1000,
                    **({"nextToken": token} if token else {}),
                )
            events += page.get("events", [])
            token = page.get("nextToken")
            if not token:
                return events
