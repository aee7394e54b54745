"""The tokens a step's model calls used, as Bedrock reported them, per model.

`MeteredModel` wraps the step's `ModelClient` and keeps every reply's `usage`, whatever path
asked (the answer, a repair): the step stores `usage()` with its output, and the result
writer prices it.
"""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.adapters.model import ModelClient, ModelReply, ModelRequest
from pipeline_contracts.cost import ModelUsage


class MeteredModel:
    """A ModelClient that remembers the usage of each reply it passes on."""

    def __init__(self, model: ModelClient) -> None:
        self._model = model
        self._replies: list[ModelReply] = []

    def converse(self, request: ModelRequest) -> ModelReply:
        reply = self._model.converse(request)
        self._replies.append(reply)
        return reply

    def usage(self) -> list[ModelUsage]:
        return usage_of(self._replies)


def usage_of(replies: Iterable[ModelReply]) -> list[ModelUsage]:
    """Calls and tokens per model id, in the order the models were first asked."""
    totals: dict[str, list[int]] = {}
    for reply in replies:
        calls_in_out = totals.setdefault(reply.model_id, [0, 0, 0])
        calls_in_out[0] += 1
        calls_in_out[1] += reply.input_tokens
        calls_in_out[2] += reply.output_tokens
    return [
        ModelUsage(model_id=model_id, calls=calls, input_tokens=tokens_in, output_tokens=out)
        for model_id, (calls, tokens_in, out) in totals.items()
    ]
