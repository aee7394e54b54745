"""Bedrock Runtime: Converse, served by the stand-in (standins.bedrock)."""

from __future__ import annotations

from moto.bedrockruntime.responses import BedrockRuntimeResponse
from moto.core.responses import ActionResult

from mmpipe.local.moto_patches.shared import state


# --- Patch 8: moto's Bedrock Runtime has no Converse ----------------------------------------
# Served by local mode's Bedrock (standins.bedrock.LocalBedrock), behind the same API the real
# BedrockModelClient calls.
def _converse(self: BedrockRuntimeResponse) -> ActionResult:
    params = {
        name: self._get_param(name)
        for name in (
            "modelId",
            "messages",
            "system",
            "inferenceConfig",
            "toolConfig",
            "guardrailConfig",
            "additionalModelRequestFields",
            "promptVariables",
            "requestMetadata",
            "performanceConfig",
        )
    }
    return ActionResult(
        state["bedrock"].converse({k: v for k, v in params.items() if v is not None})
    )


def patch() -> None:
    BedrockRuntimeResponse.converse = _converse  # type: ignore[attr-defined]


def restore() -> None:
    del BedrockRuntimeResponse.converse  # type: ignore[attr-defined]
