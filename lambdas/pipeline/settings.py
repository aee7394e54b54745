"""Runtime settings of the Lambda functions, validated once at cold start.

Every function gets the same variable for the same thing (the stack guarantees the values
agree across functions), so local mode can run all handlers in one process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.config import PipelineConfig


class Settings(BaseModel):
    """The environment a function is deployed with. Fields a function does not get stay None."""

    model_config = ConfigDict(frozen=True)

    pipeline_config: PipelineConfig = Field(default_factory=PipelineConfig)
    ingest_bucket: str | None = None
    processed_bucket: str | None = None
    state_machine_arn: str | None = None
    task_tokens_table: str | None = None
    idempotency_table: str | None = None
    failed_items_queue_url: str | None = None
    event_bus_name: str | None = None
    thresholds_parameter_path: str | None = None
    # How long a function keeps the SSM thresholds it read (operators' changes apply within
    # this). Local mode sets 0: its handlers share one process, and each must read with its
    # own role, as each function does on AWS.
    thresholds_max_age_s: int = Field(default=300, ge=0)
    transcribe_output_prefix: str = "work/"

    @field_validator("pipeline_config", mode="before")
    @classmethod
    def _parse_json(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    def require(self, name: str) -> str:
        value = getattr(self, name)
        if not value:
            raise RuntimeError(f"{name.upper()} is not set for this function")
        return str(value)


def settings_from(environ: Mapping[str, str]) -> Settings:
    fields = Settings.model_fields
    return Settings.model_validate(
        {name: environ[name.upper()] for name in fields if name.upper() in environ}
    )


@cache
def get_settings() -> Settings:
    return settings_from(os.environ)
