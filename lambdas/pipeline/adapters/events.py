"""Publishing the pipeline's own events on EventBridge."""

from __future__ import annotations

import json
from typing import Any

import boto3

from pipeline.adapters.aws_errors import translated_aws_errors
from pipeline.errors import ServiceUnavailable

EVENT_SOURCE = "multimodal-pipeline"


class EventBridgePublisher:
    def __init__(self, client: Any | None = None, bus_name: str = "default") -> None:
        self._events = client or boto3.client("events")
        self._bus = bus_name

    def publish(self, detail_type: str, detail: dict[str, Any], resources: list[str]) -> None:
        with translated_aws_errors("EventBridge"):
            response = self._events.put_events(
                Entries=[
                    {
                        "Source": EVENT_SOURCE,
                        "DetailType": detail_type,
                        "EventBusName": self._bus,
                        "Detail": json.dumps(detail),
                        "Resources": resources,
                    }
                ]
            )
        if response.get("FailedEntryCount"):
            entry = response["Entries"][0]
            raise ServiceUnavailable(f"EventBridge refused the event: {entry.get('ErrorCode')}")
