"""The task-token adapter's DynamoDB and Step Functions requests are valid (botocore's
Stubber checks each against the API model, with no network)."""

from __future__ import annotations

import json

import boto3
from botocore.stub import Stubber

from pipeline.adapters.task_tokens import TaskTokens
from pipeline_contracts.states.transcribe_audio import TranscriptionJob
from tests.unit.pipeline.adapters.stubbed import stubbed_client


def test_task_token_requests_are_valid() -> None:
    sfn, dynamodb = (
        stubbed_client("stepfunctions"),
        boto3.resource(
            "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        ),
    )
    tokens = TaskTokens("tokens", dynamodb=dynamodb, stepfunctions=sfn)
    with Stubber(sfn) as stub:
        job = TranscriptionJob(job_name="j", status="COMPLETED", transcript_uri="s3://p/t.json")
        stub.add_response(
            "send_task_success", {}, {"taskToken": "t", "output": json.dumps(job.model_dump())}
        )
        stub.add_response(
            "send_task_failure", {}, {"taskToken": "t", "error": "AccessDenied", "cause": "why"}
        )
        tokens.resume("t", job)
        tokens.fail("t", "AccessDenied", "why")
