"""A scripted `ModelClient`: replies (or errors) in order, and a record of every request."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from pipeline.adapters.model import ModelReply, ModelRequest, TextBlock, answer_tool_name
from pipeline_contracts.work.vision import ToolUse

# A str is a reply in text (a model without tool choice); a dict is the input of the answer
# tool the request asked for (forced tool choice); a ModelReply is returned as it is.
Step = str | dict[str, Any] | ModelReply | BaseException


class ScriptedModel:
    """Answers each `converse` with the next scripted reply; an exception entry is raised."""

    def __init__(self, script: Sequence[Step] = ()) -> None:
        self.script: list[Step] = list(script)
        self.requests: list[ModelRequest] = []

    def converse(self, request: ModelRequest) -> ModelReply:
        self.requests.append(request)
        if not self.script:
            raise AssertionError(f"unexpected model call #{len(self.requests)}")
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, ModelReply):
            return step
        if isinstance(step, dict):
            return ModelReply(
                text="",
                model_id=request.model_id,
                provider="stub",
                input_tokens=100,
                output_tokens=len(json.dumps(step)) // 4,
                stop_reason="tool_use",
                tool_use=ToolUse(name=answer_tool_name(request.response_model or ""), input=step),
                answer_via="tool",
            )
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


# The pipeline's data blocks: markers carry the request's random code (structured_output).
DATA_BLOCK = re.compile(
    r"<<<BEGIN UNTRUSTED DATA ([0-9a-f]+): ([^>]*)>>>\n(.*?)\n<<<END UNTRUSTED DATA \1: \2>>>",
    re.DOTALL,
)


def data_blocks(prompt: str) -> dict[str, str]:
    """Each data block's body, by label."""
    return {label: body for _, label, body in DATA_BLOCK.findall(prompt)}


def outside_data(prompt: str) -> str:
    """The prompt without its data blocks: what the model may take as instructions."""
    return DATA_BLOCK.sub("", prompt)
