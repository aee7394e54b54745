"""One place that creates the Powertools logger, tracer and metrics; everything imports these.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and
POWERTOOLS_METRICS_NAMESPACE, which the stack sets on every function.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger, Metrics, Tracer

from pipeline.errors import CapacityUnavailable

logger = Logger(service="multimodal-pipeline")
tracer = Tracer(service="multimodal-pipeline")
metrics = Metrics(namespace="MultimodalPipeline", service="multimodal-pipeline")


@contextmanager
def counting_capacity_waits(service: str) -> Iterator[None]:
    """`<service>CapacityWaits`: one each time admission control makes a step wait (the
    dashboard's "waiting work" widget); the wait itself is the state machine's retry."""
    try:
        yield
    except CapacityUnavailable:
        metrics.add_metric(name=f"{service}CapacityWaits", unit="Count", value=1)
        raise
