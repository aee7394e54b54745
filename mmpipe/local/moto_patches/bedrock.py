"""Bedrock Runtime: Converse and the embedding models' InvokeModel, served by the stand-ins
(standins.bedrock, standins.embeddings)."""

from __future__ import annotations

import json
from urllib.parse import unquote

from moto.bedrockruntime.responses import BedrockRuntimeResponse
from moto.core.responses import ActionResult

from mmpipe.local.moto_patches.shared import originals, state
from mmpipe.local.standins.embeddings import LocalEmbeddings


# --- Patch 8: moto's Bedrock Runtime has no Converse ----------------------------------------
# Served by local mode's Bedrock (standins.bedrock.LocalBedrock), behind the same API the real
# BedrockModelClient calls. Its InvokeModel answers `{}` for every model: the embedding models
# (any model id that names one) are served by local mode's embeddings
# (standins.embeddings.LocalEmbeddings), behind the API the real BedrockEmbedder calls; other
# model ids get moto's answer, as before.
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


def _invoke_model(self: BedrockRuntimeResponse) -> ActionResult:
    embeddings: LocalEmbeddings | None = state.get("embeddings")
    model_id = unquote(str(self._get_param("modelId") or ""))
    if embeddings is None or not embeddings.serves(model_id):
        result: ActionResult = originals["invoke_model"](self)
        return result
    answer = embeddings.invoke_model(model_id, self._get_param("body"))
    return ActionResult({"body": json.dumps(answer), "contentType": "application/json"})


def patch() -> None:
    BedrockRuntimeResponse.converse = _converse  # type: ignore[attr-defined]
    originals["invoke_model"] = BedrockRuntimeResponse.invoke_model
    BedrockRuntimeResponse.invoke_model = _invoke_model  # type: ignore[method-assign]


def restore() -> None:
    del BedrockRuntimeResponse.converse  # type: ignore[attr-defined]
    BedrockRuntimeResponse.invoke_model = originals.pop("invoke_model")  # type: ignore[method-assign]
