"""The one seam between the handlers and the outside world.

Handlers ask `get_providers()` for their I/O. On AWS that is S3, Bedrock and Transcribe;
local mode calls `use_providers(...)` once with its stand-ins (same protocols), and unit
tests pass fakes straight into the domain functions. Nothing else is swapped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.adapters.model import BedrockModelClient, ModelClient
from pipeline.adapters.speech import SpeechJobs, TranscribeJobs
from pipeline.adapters.storage import ObjectStore, S3ObjectStore

ProviderName = Literal["aws", "local", "stub"]


@dataclass(frozen=True)
class Providers:
    store: ObjectStore
    model: ModelClient
    speech: SpeechJobs
    name: ProviderName = "aws"


_current: Providers | None = None


def get_providers() -> Providers:
    """The providers in use; built on first use (a cold start) and then reused."""
    global _current  # noqa: PLW0603 - one process-wide seam, set once per cold start
    if _current is None:
        _current = Providers(
            store=S3ObjectStore(), model=BedrockModelClient(), speech=TranscribeJobs()
        )
    return _current


def use_providers(providers: Providers | None) -> None:
    """Install stand-ins (local mode) or, with None, go back to the AWS defaults."""
    global _current  # noqa: PLW0603
    _current = providers
