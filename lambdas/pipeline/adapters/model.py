"""Foundation-model calls: the request/reply models, the protocol, and Bedrock Converse."""

from __future__ import annotations

from typing import Any, Literal, Protocol

import boto3
from pydantic import BaseModel, ConfigDict, Field

from pipeline.adapters.aws_errors import translated_aws_errors


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
    # The pydantic model the answer must validate against (e.g. "VisionAnalysis",
    # "FusedOutput"). Bedrock ignores it; local stand-ins use it to answer in that shape.
    response_model: str | None = None
    response_schema: dict[str, Any] | None = None


class ModelReply(BaseModel):
    model_config = ConfigDict(frozen=True)
    text: str
    model_id: str
    provider: Literal["aws", "local", "stub"]
    input_tokens: int = 0
    output_tokens: int = 0
    stop_reason: str | None = None


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

    def __init__(
        self, client: Any | None = None, provider: Literal["aws", "local", "stub"] = "aws"
    ) -> None:
        self._bedrock = client or boto3.client("bedrock-runtime")
        self._provider: Literal["aws", "local", "stub"] = provider

    def converse(self, request: ModelRequest) -> ModelReply:
        with translated_aws_errors("Bedrock"):
            response = self._bedrock.converse(
                modelId=request.model_id,
                system=[{"text": request.system}],
                messages=[
                    {
                        "role": "user",
                        "content": [_converse_block(block) for block in request.content],
                    }
                ],
                inferenceConfig={
                    "maxTokens": request.max_tokens,
                    "temperature": request.temperature,
                },
            )
        parts = response.get("output", {}).get("message", {}).get("content", [])
        usage = response.get("usage", {})
        return ModelReply(
            text="".join(part.get("text", "") for part in parts),
            model_id=request.model_id,
            provider=self._provider,
            input_tokens=int(usage.get("inputTokens", 0)),
            output_tokens=int(usage.get("outputTokens", 0)),
            stop_reason=response.get("stopReason"),
        )
