"""Start a Transcribe job and park the task token: the execution waits, at no cost,
until the job's EventBridge state change resumes it (see transcription_callback)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.adapters.speech import JobAlreadyExists
from pipeline.adapters.task_tokens import TaskTokens
from pipeline.domain.plans import load_plan
from pipeline.domain.transcription import StartRequest, job_spec, report_job_outcome
from pipeline.observability import logger, metrics, tracer
from pipeline.settings import get_settings


@logger.inject_lambda_context(correlation_id_path="item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = StartRequest.model_validate(event)
    settings, providers = get_settings(), get_providers()
    speech = providers.speech
    tokens = TaskTokens(settings.require("task_tokens_table"))
    plan = load_plan(providers.store, request.plan_uri)
    spec = job_spec(request, plan, settings.require("processed_bucket"), speech)
    # Park first: the job may finish before start() returns.
    tokens.park(spec.job_name, request.task_token, request.item_id)
    try:
        speech.start(spec)
    except JobAlreadyExists:
        # A retry or duplicate: if the job already ended, its event is gone; answer now.
        if speech.state(spec.job_name).status in ("COMPLETED", "FAILED"):
            report_job_outcome(spec.job_name, request.task_token, speech, tokens)
            tokens.forget(spec.job_name)
    logger.info("Transcription started", extra={"job_name": spec.job_name})
    return {"job_name": spec.job_name}
