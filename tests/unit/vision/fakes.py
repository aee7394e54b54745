"""A scripted `ModelClient`: replies (or errors) in order, and a record of every request."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.adapters.model import ModelReply, ModelRequest, TextBlock


class ScriptedModel:
    """Answers each `converse` with the next scripted reply; an exception entry is raised."""

    def __init__(self, script: Sequence[str | BaseException] = ()) -> None:
        self.script: list[str | BaseException] = list(script)
        self.requests: list[ModelRequest] = []

    def converse(self, request: ModelRequest) -> ModelReply:
        self.requests.append(request)
        if not self.script:
            raise AssertionError(f"unexpected model call #{len(self.requests)}")
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        return ModelReply(
            text=step,
            model_id=request.model_id,
            provider="stub",
            input_tokens=100,
            output_tokens=len(step) // 4,
            stop_reason="end_turn",
        )

    def prompt(self, call: int = -1) -> str:
        """All text blocks of one request, joined."""
        request = self.requests[call]
        return "\n".join(block.text for block in request.content if isinstance(block, TextBlock))
