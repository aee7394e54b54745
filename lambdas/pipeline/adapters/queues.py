"""Messages for people: the failed-items dead-letter queue."""

from __future__ import annotations

from typing import Any

import boto3

from pipeline.adapters.aws_errors import translated_aws_errors
from pipeline_contracts.records import DeadLetter


class SqsDeadLetters:
    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self._url = queue_url
        self._sqs = client or boto3.client("sqs")

    def send(self, message: DeadLetter) -> None:
        with translated_aws_errors("SQS"):
            self._sqs.send_message(QueueUrl=self._url, MessageBody=message.model_dump_json())
