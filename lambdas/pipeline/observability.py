"""One place that creates the Powertools logger, tracer and metrics; everything imports these.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and
POWERTOOLS_METRICS_NAMESPACE, which the stack sets on every function.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="multimodal-pipeline")
tracer = Tracer(service="multimodal-pipeline")
metrics = Metrics(namespace="MultimodalPipeline", service="multimodal-pipeline")
