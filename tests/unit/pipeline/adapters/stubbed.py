"""What the adapter tests share: a real boto3 client for botocore's Stubber, never sent."""

from __future__ import annotations

from typing import Any

import boto3


def stubbed_client(service: str) -> Any:
    return boto3.client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
