"""Parked Step Functions task tokens (DynamoDB) and resuming the waiting execution."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3

from pipeline.adapters.aws_errors import translated_aws_errors
from pipeline_contracts.states.transcribe_audio import TranscriptionJob

# A token outlives the longest allowed Transcribe wait, then DynamoDB's TTL removes it.
TOKEN_TTL_S = 2 * 24 * 3600


class TaskTokens:
    def __init__(
        self, table_name: str, dynamodb: Any | None = None, stepfunctions: Any | None = None
    ) -> None:
        self._table = (dynamodb or boto3.resource("dynamodb")).Table(table_name)
        self._sfn = stepfunctions or boto3.client("stepfunctions")

    def park(self, job_name: str, task_token: str, item_id: str) -> None:
        with translated_aws_errors("DynamoDB"):
            self._table.put_item(
                Item={
                    "job_name": job_name,
                    "task_token": task_token,
                    "item_id": item_id,
                    "expiration": int(time.time()) + TOKEN_TTL_S,
                }
            )

    def take(self, job_name: str) -> tuple[str, str] | None:
        """The parked (token, item id) for a job, or None when nothing waits for it."""
        with translated_aws_errors("DynamoDB"):
            item = self._table.get_item(Key={"job_name": job_name}, ConsistentRead=True).get("Item")
        return (str(item["task_token"]), str(item.get("item_id", ""))) if item else None

    def forget(self, job_name: str) -> None:
        with translated_aws_errors("DynamoDB"):
            self._table.delete_item(Key={"job_name": job_name})

    def resume(self, task_token: str, output: TranscriptionJob) -> None:
        with translated_aws_errors("Step Functions"):
            self._sfn.send_task_success(
                taskToken=task_token, output=json.dumps(output.model_dump(mode="json"))
            )

    def fail(self, task_token: str, error: str, cause: str) -> None:
        with translated_aws_errors("Step Functions"):
            self._sfn.send_task_failure(taskToken=task_token, error=error, cause=cause[:32000])
