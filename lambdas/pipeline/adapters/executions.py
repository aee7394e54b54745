"""Step Functions executions: start one per item (idempotent by name), or ask whether one was."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError

from pipeline.adapters.aws_errors import error_code, translated_aws_errors
from pipeline_contracts.item import ItemRequest


class StepFunctionsExecutions:
    def __init__(self, state_machine_arn: str, client: Any | None = None) -> None:
        self._arn = state_machine_arn
        self._sfn = client or boto3.client("stepfunctions")

    def start(self, request: ItemRequest) -> bool:
        """Start the item's execution; False when it was already started (a duplicate event)."""
        try:
            with translated_aws_errors("Step Functions"):
                self._sfn.start_execution(
                    stateMachineArn=self._arn,
                    name=request.item_id,
                    input=json.dumps(request.model_dump(mode="json")),
                )
        except ClientError as error:
            if error_code(error) != "ExecutionAlreadyExists":
                raise
            return False
        return True

    def exists(self, name: str) -> bool:
        arn = self._arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
        try:
            with translated_aws_errors("Step Functions"):
                self._sfn.describe_execution(executionArn=arn)
        except ClientError as error:
            if error_code(error) == "ExecutionDoesNotExist":
                return False
            raise
        return True
