"""Bedrock stand-in, the API half: request validation and the Converse reply shape.

`LocalBedrock` is the Converse API behind moto (so the pipeline's real `BedrockModelClient`
runs): it refuses what Bedrock refuses (the API model, the documented image, document and
video limits, video in S3 the caller may not read, tool configurations Converse rejects) and
throttles when asked to. With a `toolConfig` it answers as Bedrock does: a `toolUse` block
whose input is the answer, and stopReason "tool_use". Its `usage` is what Bedrock would
count for the request's size (text, tool schema, images, documents, video), so the records'
costs are plausible. `LocalModel` (standins.model) writes the answers.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from typing import Any

from PIL import Image, UnidentifiedImageError

from mmpipe.local.api_requests import RequestRejected, check_request
from mmpipe.local.faults import Faults
from mmpipe.local.iam.enforcement import Enforcement
from mmpipe.local.quotas import EmulatedQuotas
from mmpipe.local.standins.caller_reads import caller_may_read, stored_bytes
from mmpipe.local.standins.model import LocalModel
from pipeline.adapters.model import DocumentBlock, ImageBlock, ModelRequest, TextBlock, VideoBlock

# Converse limits (Bedrock API reference, Message and VideoSource; Nova user guide).
MAX_IMAGES = 20
MAX_IMAGE_BYTES = 3_750_000
MAX_IMAGE_EDGE_PX = 8000
MAX_DOCUMENTS = 5
MAX_DOCUMENT_BYTES = 4_500_000
MAX_INLINE_VIDEO_BYTES = 25_000_000 * 3 // 4  # the base64 text must stay under 25 MB
MAX_S3_VIDEO_BYTES = 1024**3
DOCUMENT_NAME = re.compile(r"[A-Za-z0-9()\[\]-]+(?: [A-Za-z0-9()\[\]-]+)*")
MODEL_ID = re.compile(r"(?:(?:us|eu|apac|jp|au|ca|global)\.)?[a-z0-9-]+\.[A-Za-z0-9.:-]+")
# toolChoice by model. `tool`: "Only supported by Anthropic Claude 3 and Amazon Nova models"
# (API reference, ToolChoice). Other models refuse members they lack with "This model doesn't
# support the toolConfig.toolChoice.<member> field"; `any` is accepted here only where it is
# documented (Claude 3+, Nova, and Mistral Large in the CloudFormation ToolChoice reference).
FORCED_TOOL_CHOICE = re.compile(r"amazon\.nova-|anthropic\.claude-(?!v\d|instant)")
ANY_TOOL_CHOICE = re.compile(
    r"amazon\.nova-|anthropic\.claude-(?!v\d|instant)|mistral\.mistral-large-"
)


class LocalBedrock:
    """Converse, served to moto's bedrock-runtime (see moto_patches, Patch 8)."""

    def __init__(
        self,
        model: LocalModel,
        faults: Faults,
        enforcement: Enforcement | None = None,
        quotas: EmulatedQuotas | None = None,
    ) -> None:
        self._model = model
        self._faults = faults
        self._enforcement = enforcement
        self._quotas = quotas

    def converse(self, params: dict[str, Any]) -> dict[str, Any]:
        check_request("bedrock-runtime", "Converse", params)
        model_id = str(params["modelId"])
        if not MODEL_ID.fullmatch(model_id):
            raise RequestRejected("The provided model identifier is invalid.")
        self._check_content(params.get("messages", []))
        tool = _check_tools(model_id, params)
        if self._faults.burst() or self._faults.hit(self._faults.bedrock_throttle):
            raise RequestRejected(
                "Too many requests, please wait before trying again (injected).",
                "ThrottlingException",
                429,
            )
        if self._quotas is not None:
            max_tokens = int(params.get("inferenceConfig", {}).get("maxTokens", 2048))
            self._quotas.bedrock_call(model_id, _input_tokens(params) + max_tokens)
        request = ModelRequest(
            model_id=model_id,
            system="\n".join(b.get("text", "") for b in params.get("system", [])),
            content=[
                _block(b)
                for m in params["messages"]
                for b in m.get("content", [])
                if _block(b) is not None
            ],
            max_tokens=int(params.get("inferenceConfig", {}).get("maxTokens", 2048)),
            response_model=tool["name"] if tool else None,
            response_schema=tool["inputSchema"]["json"] if tool else None,
        )
        reply = self._model.converse(request, tool=tool["name"] if tool else None)
        content: dict[str, Any] = {"text": reply.text}
        if reply.tool_use is not None:
            tool_input = reply.tool_use.input
            digest = hashlib.sha256(json.dumps(tool_input, sort_keys=True).encode()).hexdigest()
            content = {
                "toolUse": {
                    "toolUseId": f"tooluse_{digest[:22]}",
                    "name": reply.tool_use.name,
                    "input": tool_input,
                }
            }
        input_tokens = _input_tokens(params)
        return {
            "output": {"message": {"role": "assistant", "content": [content]}},
            "stopReason": reply.stop_reason or "end_turn",
            "usage": {
                "inputTokens": input_tokens,
                "outputTokens": reply.output_tokens,
                "totalTokens": input_tokens + reply.output_tokens,
            },
            "metrics": {"latencyMs": 1},
        }

    def _check_content(self, messages: list[dict[str, Any]]) -> None:
        images = documents = videos = 0
        names: set[str] = set()
        for message in messages:
            blocks = message.get("content", [])
            media = [b for b in blocks if {"image", "document", "video"} & set(b)]
            if media and message.get("role") != "user":
                raise RequestRejected(
                    "Images, documents and videos are only allowed in user messages."
                )
            if any("document" in b for b in blocks) and not any("text" in b for b in blocks):
                raise RequestRejected(
                    "A conversation that includes a document must also "
                    "include a text block in the same message."
                )
            for block in blocks:
                if "image" in block:
                    images += 1
                    _check_image(block["image"]["source"].get("bytes", b""))
                elif "document" in block:
                    documents += 1
                    name = str(block["document"]["name"])
                    if not DOCUMENT_NAME.fullmatch(name):
                        raise RequestRejected(
                            f"The document file name '{name}' can only contain alphanumeric "
                            "characters, whitespace characters (no more than one in a row), "
                            "hyphens, parentheses and square brackets."
                        )
                    if name in names:
                        raise RequestRejected("Messages can't contain duplicate document names.")
                    names.add(name)
                    size = len(block["document"]["source"].get("bytes", b""))
                    if size > MAX_DOCUMENT_BYTES:
                        raise RequestRejected(
                            f"The document is {size} bytes; documents may be "
                            f"at most {MAX_DOCUMENT_BYTES} bytes."
                        )
                elif "video" in block:
                    videos += 1
                    self._check_video(block["video"]["source"])
        if images > MAX_IMAGES:
            raise RequestRejected(f"too many images: {images} > {MAX_IMAGES}")
        if documents > MAX_DOCUMENTS:
            raise RequestRejected(
                f"You can't include more than {MAX_DOCUMENTS} documents in a request."
            )
        if videos > 1:
            raise RequestRejected("Amazon Nova accepts a single video per request.")

    def _check_video(self, source: dict[str, Any]) -> None:
        if "bytes" in source:
            if len(source["bytes"]) > MAX_INLINE_VIDEO_BYTES:
                raise RequestRejected(
                    "Videos sent as bytes must stay under 25 MB base64-encoded; use an S3 location."
                )
            return
        uri = str(source.get("s3Location", {}).get("uri", ""))
        _, _, size = caller_may_read(self._enforcement, uri, "Converse", "video")
        if size > MAX_S3_VIDEO_BYTES:
            raise RequestRejected(f"The video is {size} bytes; videos in S3 may be at most 1 GB.")


def _check_tools(model_id: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """The rules Converse adds to the API model's shape for tools; the tool to answer with."""
    config = params.get("toolConfig")
    blocks = [b for m in params.get("messages", []) for b in m.get("content", [])]
    if config is None:
        if any("toolUse" in b or "toolResult" in b for b in blocks):
            raise RequestRejected(
                "The toolConfig field must be defined when using toolUse and toolResult "
                "content blocks."
            )
        return None
    specs = [t["toolSpec"] for t in config.get("tools", []) if "toolSpec" in t]
    names = [str(spec["name"]) for spec in specs]
    if len(set(names)) != len(names):
        raise RequestRejected(f"The toolConfig.tools names must be unique: {names}.")
    for spec in specs:
        schema = spec.get("inputSchema", {}).get("json")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise RequestRejected(
                f"The input schema of tool {spec['name']} must be a JSON Schema whose top-level "
                "type is object."
            )
    choice = config.get("toolChoice", {})
    base = model_id.rsplit("/", 1)[-1]
    for member, supported in (("tool", FORCED_TOOL_CHOICE), ("any", ANY_TOOL_CHOICE)):
        if member in choice and not supported.search(base):
            raise RequestRejected(
                f"This model doesn't support the toolConfig.toolChoice.{member} field. "
                f"Remove toolConfig.toolChoice.{member} and try again."
            )
    if "tool" in choice:
        wanted = str(choice["tool"]["name"])
        if wanted not in names:
            raise RequestRejected(
                f"The tool {wanted!r} named in toolConfig.toolChoice is not in "
                f"toolConfig.tools ({', '.join(names) or 'no tool specifications'})."
            )
        chosen: dict[str, Any] = next(spec for spec in specs if spec["name"] == wanted)
        return chosen
    # `any` or `auto`: this model always uses a tool when offered one, the first.
    return specs[0] if specs else None


def _input_tokens(params: dict[str, Any]) -> int:
    """The `usage.inputTokens` Bedrock would report, from the request's size: text, the
    system prompt and the tool's schema at about 4 characters a token, media as below."""
    chars = sum(len(block.get("text", "")) for block in params.get("system", []))
    chars += len(json.dumps(params.get("toolConfig", {}).get("tools", [])))
    tokens = 0
    for message in params.get("messages", []):
        for block in message.get("content", []):
            chars += len(block.get("text", ""))
            if "image" in block:
                tokens += _image_tokens(block["image"]["source"].get("bytes", b""))
            elif "document" in block:
                tokens += _document_tokens(block["document"])
            elif "video" in block:
                tokens += _video_tokens(block["video"]["source"])
    return chars // 4 + tokens + 1


def _image_tokens(data: bytes) -> int:
    """(width x height) / 750, at most 2,600: Nova's estimates, the largest for its largest
    resized image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError):
        return 0
    return min(2600, width * height // 750)


def _document_tokens(document: dict[str, Any]) -> int:
    """Text formats at 4 characters a token; a PDF at about 1,500 tokens a page (its pages
    counted from its page objects), an approximation."""
    data = bytes(document.get("source", {}).get("bytes", b""))
    if document.get("format") != "pdf":
        return len(data) // 4
    return 1500 * max(1, len(re.findall(rb"/Type\s*/Page(?!s)", data)))


def _video_tokens(source: dict[str, Any]) -> int:
    """One frame a second up to 960 frames, at about 288 tokens a frame (an approximation of
    Nova's sampling, not a documented figure); the video is read back from the S3 stand-in."""
    data = source.get("bytes")
    if data is None:
        bucket, _, key = (
            str(source.get("s3Location", {}).get("uri", "")).removeprefix("s3://").partition("/")
        )
        data = stored_bytes(bucket, key)
    try:
        import av  # noqa: PLC0415 - only when a video is analysed

        with av.open(io.BytesIO(data or b""), mode="r") as container:
            seconds = (container.duration or 0) / 1_000_000
    except Exception:  # only an estimate: a video it cannot read counts one frame
        seconds = 0.0
    return 288 * min(960, max(1, math.ceil(seconds)))


def _check_image(data: bytes) -> None:
    if len(data) > MAX_IMAGE_BYTES:
        raise RequestRejected(
            f"The image is {len(data)} bytes; images may be at most {MAX_IMAGE_BYTES} bytes."
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError) as error:
        raise RequestRejected("The provided image could not be decoded.") from error
    if width > MAX_IMAGE_EDGE_PX or height > MAX_IMAGE_EDGE_PX:
        raise RequestRejected(
            f"The image is {width}x{height} px; images may be at most "
            f"{MAX_IMAGE_EDGE_PX} px a side."
        )


def _block(block: dict[str, Any]) -> TextBlock | ImageBlock | DocumentBlock | VideoBlock | None:
    if "text" in block:
        return TextBlock(text=block["text"])
    if "image" in block:
        return ImageBlock(
            format=block["image"]["format"], data=block["image"]["source"].get("bytes", b"")
        )
    if "document" in block:
        document = block["document"]
        return DocumentBlock(
            format=document["format"],
            name=document["name"],
            data=document["source"].get("bytes", b""),
        )
    if "video" in block:
        location = block["video"]["source"].get("s3Location", {})
        return VideoBlock(format=block["video"]["format"], s3_uri=location.get("uri", "s3://-/-"))
    return None
