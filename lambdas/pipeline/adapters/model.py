"""Foundation-model calls: the request/reply models, the protocol, and Bedrock Converse.

A request that names a response model is answered through Converse tool use: one tool whose
input schema is the answer's JSON Schema, forced with `toolChoice`, so the answer arrives as
the tool's JSON input rather than as prose to search for JSON. `structured_mode` says how each
model can be asked (not every Bedrock model accepts a forced tool).
"""

from __future__ import annotations

import re
from typing import Any, Literal, Protocol

import boto3
from pydantic import BaseModel, ConfigDict, Field

from pipeline.adapters.aws_errors import translated_aws_errors
from pipeline_contracts.vocabulary import Provider
from pipeline_contracts.work.vision import StructuredMode, ToolUse


class TextBlock(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["text"] = "text"
    text: str


class ImageBlock(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["image"] = "image"
    format: Literal["png", "jpeg", "gif", "webp"]
    data: bytes = Field(repr=False)


class DocumentBlock(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["document"] = "document"
    format: Literal["pdf", "txt", "md", "html"]
    name: str = Field(pattern=r"^[A-Za-z0-9 ()\[\]-]{1,200}$")
    data: bytes = Field(repr=False)


class VideoBlock(BaseModel):
    """A video the model reads from S3 (Nova models accept up to 1 GB this way)."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["video"] = "video"
    format: Literal["mp4", "mov", "mkv", "webm", "flv", "mpeg", "mpg", "wmv", "three_gp"]
    s3_uri: str
    bucket_owner: str | None = None


ContentBlock = TextBlock | ImageBlock | DocumentBlock | VideoBlock


class ModelRequest(BaseModel):
    model_config = ConfigDict(frozen=True)
    model_id: str
    system: str
    content: list[ContentBlock]
    max_tokens: int = 2048
    temperature: float = 0.0
    # The pydantic model the answer must validate against (e.g. "VisionAnalysis") and its
    # JSON Schema. Bedrock gets them as the forced answer tool (see `structured_mode`).
    response_model: str | None = None
    response_schema: dict[str, Any] | None = None


# `toolChoice.tool` is "only supported by Anthropic Claude 3 and Amazon Nova models" (Bedrock
# API reference, ToolChoice); Claude 3 and later, not Claude 2.x or Instant.
_FORCED_TOOL_MODELS = re.compile(r"amazon\.nova-|anthropic\.claude-(?!v\d|instant)")
# Mistral Large accepts `toolChoice` (the CloudFormation ToolChoice reference) but not the
# `tool` member; with one tool offered, `any` forces that tool all the same.
_ANY_TOOL_MODELS = re.compile(r"mistral\.mistral-large-")
_TOOL_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


def structured_mode(model_id: str) -> StructuredMode:
    """How `model_id` can be made to answer in a schema. Unknown models (and application
    inference profiles, whose ARN does not name the model) get the text-JSON fallback: a
    forced tool they do not support would be refused, not degraded."""
    base = model_id.rsplit("/", 1)[-1]
    if _FORCED_TOOL_MODELS.search(base):
        return "tool"
    if _ANY_TOOL_MODELS.search(base):
        return "any"
    return "text"


def answer_tool_name(response_model: str) -> str:
    """The answer tool's name (Converse ToolName: [a-zA-Z0-9_-]{1,64})."""
    return ("record_" + _TOOL_NAME_UNSAFE.sub("_", response_model))[:64]


class ModelReply(BaseModel):
    model_config = ConfigDict(frozen=True)
    text: str
    model_id: str
    provider: Provider
    input_tokens: int = 0
    output_tokens: int = 0
    stop_reason: str | None = None
    tool_use: ToolUse | None = None
    # How the request asked for the answer: with "tool"/"any" only `tool_use` is an answer.
    answer_via: StructuredMode = "text"


class ModelClient(Protocol):
    def converse(self, request: ModelRequest) -> ModelReply: ...


def _converse_block(block: ContentBlock) -> dict[str, Any]:
    if isinstance(block, TextBlock):
        return {"text": block.text}
    if isinstance(block, ImageBlock):
        return {"image": {"format": block.format, "source": {"bytes": block.data}}}
    if isinstance(block, DocumentBlock):
        return {
            "document": {
                "format": block.format,
                "name": block.name,
                "source": {"bytes": block.data},
            }
        }
    location: dict[str, str] = {"uri": block.s3_uri}
    if block.bucket_owner:
        location["bucketOwner"] = block.bucket_owner
    return {"video": {"format": block.format, "source": {"s3Location": location}}}


class BedrockModelClient:
    """Bedrock Runtime Converse: one API for every model the routing may choose.

    `provider` labels the replies: "aws" on AWS; local mode runs this same client against its
    Bedrock stand-in and labels what that stand-in wrote."""

    def __init__(self, client: Any | None = None, provider: Provider = "aws") -> None:
        self._bedrock = client or boto3.client("bedrock-runtime")
        self._provider: Provider = provider

    def converse(self, request: ModelRequest) -> ModelReply:
        params: dict[str, Any] = {
            "modelId": request.model_id,
            "system": [{"text": request.system}],
            "messages": [
                {
                    "role": "user",
                    "content": [_converse_block(block) for block in request.content],
                }
            ],
            "inferenceConfig": {
                "maxTokens": request.max_tokens,
                "temperature": request.temperature,
            },
        }
        mode: StructuredMode = "text"
        if request.response_model and request.response_schema is not None:
            mode = structured_mode(request.model_id)
            if mode != "text":
                params["toolConfig"] = _answer_tool(
                    request.response_model, request.response_schema, mode
                )
            # mode "text": the model has no forced tool choice; the prompt carries the schema
            # and the answer is read from the reply text (structured_output.parse_answer).
        with translated_aws_errors("Bedrock"):
            response = self._bedrock.converse(**params)
        parts = response.get("output", {}).get("message", {}).get("content", [])
        usage = response.get("usage", {})
        return ModelReply(
            text="".join(part.get("text", "") for part in parts),
            model_id=request.model_id,
            provider=self._provider,
            input_tokens=int(usage.get("inputTokens", 0)),
            output_tokens=int(usage.get("outputTokens", 0)),
            stop_reason=response.get("stopReason"),
            tool_use=_first_tool_use(parts),
            answer_via=mode,
        )


def _answer_tool(name: str, schema: dict[str, Any], mode: StructuredMode) -> dict[str, Any]:
    tool = answer_tool_name(name)
    choice: dict[str, Any] = {"tool": {"name": tool}} if mode == "tool" else {"any": {}}
    return {
        "tools": [
            {
                "toolSpec": {
                    "name": tool,
                    "description": f"Record the answer. The input is the whole {name} object.",
                    "inputSchema": {"json": schema},
                }
            }
        ],
        "toolChoice": choice,
    }


def _first_tool_use(parts: list[dict[str, Any]]) -> ToolUse | None:
    for part in parts:
        block = part.get("toolUse")
        if isinstance(block, dict):
            return ToolUse(name=str(block.get("name", "")), input=block.get("input"))
    return None
