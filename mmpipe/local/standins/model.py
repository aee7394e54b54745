"""Bedrock stand-in: deterministic answers in the Converse reply shape, built from real
features of the input, valid for the schema the prompt asks for, labelled `provider: local`.

`LocalBedrock` is the Converse API behind moto (so the pipeline's real `BedrockModelClient`
runs): it refuses what Bedrock refuses (the API model, the documented image, document and
video limits, video in S3 the caller may not read, tool configurations Converse rejects) and
throttles when asked to. With a `toolConfig` it answers as Bedrock does: a `toolUse` block
whose input is the answer, and stopReason "tool_use". `LocalModel` writes the answers.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from typing import Any

from PIL import Image, UnidentifiedImageError

from mmpipe.local.contracts import RequestRejected, check_request
from mmpipe.local.faults import Faults
from mmpipe.local.iam.enforcement import Enforcement, current_principal, stored_size
from mmpipe.local.standins.features import (
    ImageFeatures,
    TextFeatures,
    image_features,
    text_features,
)
from pipeline.adapters.model import (
    DocumentBlock,
    ImageBlock,
    ModelReply,
    ModelRequest,
    TextBlock,
    ToolUse,
    VideoBlock,
)
from pipeline.adapters.providers import ProviderName

# The pipeline's data blocks (structured_output.DataFence): markers with a per-request code.
_DATA_BLOCK = re.compile(
    r"<<<BEGIN UNTRUSTED DATA (?P<token>[0-9a-f]+): (?P<label>[^>]*)>>>\n(?P<body>.*?)\n"
    r"<<<END UNTRUSTED DATA (?P=token): (?P=label)>>>",
    re.DOTALL,
)
_MALFORMED = 'Sure! Here is the analysis you asked for: {"summary": '
_SCHEMA_MARKER = "JSON Schema: "
_LINE_PREFIX = re.compile(r"^\[[^\]\n]{1,40}\]\s*", re.MULTILINE)
_PROFILES = ("catalog", "moderation", "accessibility", "education", "general")


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
        self, model: LocalModel, faults: Faults, enforcement: Enforcement | None = None
    ) -> None:
        self._model = model
        self._faults = faults
        self._enforcement = enforcement

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
        return {
            "output": {"message": {"role": "assistant", "content": [content]}},
            "stopReason": reply.stop_reason or "end_turn",
            "usage": {
                "inputTokens": reply.input_tokens,
                "outputTokens": reply.output_tokens,
                "totalTokens": reply.input_tokens + reply.output_tokens,
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
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        # Bedrock reads the video with its caller's permissions.
        principal = current_principal()
        if self._enforcement is not None and principal is not None:
            try:
                self._enforcement.require_object_access(
                    principal, "s3:GetObject", bucket, key, "Converse"
                )
            except PermissionError as denied:
                raise RequestRejected(
                    f"Unable to access the video at {uri}: {denied}", "AccessDeniedException", 403
                ) from denied
        size = stored_size(bucket, key)
        if size is None:
            raise RequestRejected(f"The video at {uri} was not found.")
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


def _schema_from_text(text: str) -> dict[str, Any] | None:
    start = text.find(_SCHEMA_MARKER)
    if start == -1:
        return None
    try:
        schema, _ = json.JSONDecoder().raw_decode(text, start + len(_SCHEMA_MARKER))
    except json.JSONDecodeError:
        return None
    return schema if isinstance(schema, dict) else None


def _first_sentence(text: str, limit: int = 120) -> str:
    sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    return sentence[:limit].rstrip(" ,;:")


class LocalModel:
    """A ModelClient. Same request in, same answer out: runs are reproducible."""

    def __init__(self, *, ocr: bool, faults: Faults, provider: ProviderName = "local") -> None:
        self._ocr = ocr
        self._faults = faults
        self._provider: ProviderName = provider

    def converse(self, request: ModelRequest, tool: str | None = None) -> ModelReply:
        """The answer as JSON text, or with `tool` as that tool's input (Converse tool use).
        With the model-malformed fault: text that is not JSON, or a tool input off schema."""
        answer = None if self._faults.model_malformed else self._answer(request)
        if tool is None:
            text = _MALFORMED if answer is None else json.dumps(answer, ensure_ascii=False)
            return self._reply(request, text)
        tool_input = {"note": _MALFORMED} if answer is None else answer
        return self._reply(request, "", ToolUse(name=tool, input=tool_input))

    def _answer(self, request: ModelRequest) -> Any:
        texts = [b.text for b in request.content if isinstance(b, TextBlock)]
        schema = (
            request.response_schema
            or _schema_from_text(request.system)
            or next((s for s in map(_schema_from_text, texts) if s), None)
        )
        target = request.response_model or (schema or {}).get("title") or "Answer"
        data = [
            _readable(m.group("body"))
            for t in [request.system, *texts]
            for m in _DATA_BLOCK.finditer(t)
        ]
        for block in request.content:
            if isinstance(block, DocumentBlock) and block.format in ("txt", "md", "html"):
                data.append(block.data.decode("utf-8", "replace"))
        images = [
            image_features(b.data, self._ocr) for b in request.content if isinstance(b, ImageBlock)
        ]
        videos = [b for b in request.content if isinstance(b, VideoBlock)]
        words = text_features("\n".join(data)) if data else None
        properties = (schema or {}).get("properties", {})
        if target == "FusedOutput" or {"title", "key_points"} <= set(properties):
            answer = self._fused(request, words, images, "\n".join(texts))
            answer["details"] = dict(answer)
        else:
            answer = self._analysis(words, images, videos)
        return _fit(answer, schema)

    def _reply(
        self, request: ModelRequest, text: str, tool_use: ToolUse | None = None
    ) -> ModelReply:
        prompt_chars = len(request.system) + sum(
            len(b.text) for b in request.content if isinstance(b, TextBlock)
        )
        written = text if tool_use is None else json.dumps(tool_use.input, ensure_ascii=False)
        return ModelReply(
            text=text,
            model_id=request.model_id,
            provider=self._provider,
            input_tokens=prompt_chars // 4 + 1,
            output_tokens=len(written) // 4 + 1,
            stop_reason="end_turn" if tool_use is None else "tool_use",
            tool_use=tool_use,
        )

    def _analysis(
        self, words: TextFeatures | None, images: list[ImageFeatures], videos: list[VideoBlock]
    ) -> dict[str, Any]:
        parts: list[str] = []
        tags: list[str] = []
        objects: list[str] = []
        ocr = " ".join(i.ocr_text for i in images if i.ocr_text)
        for image in images:
            colours = ", ".join(image.colours) or "mixed colours"
            parts.append(
                f"A {image.orientation} {image.width}x{image.height} image, mostly {colours}."
            )
            tags += [image.orientation, *image.colours]
            objects += [f"{colour} region" for colour in image.colours[:2]]
            if image.exif:
                parts.append(
                    "Camera metadata: "
                    + ", ".join(f"{k} {v}" for k, v in sorted(image.exif.items()))
                    + "."
                )
        for video in videos:
            parts.append(f"A {video.format} video.")
            tags.append("video")
        if ocr:
            parts.append(f'Visible text reads: "{ocr[:160]}".')
            tags.append("text-in-image")
        if words and words.key_sentences:
            parts.append(
                ("The accompanying text" if images or videos else "The text")
                + f" ({words.words} words) says: {words.key_sentences[0]}"
            )
            tags += words.keywords[:4]
        relation = None
        if words and (images or videos):
            shared = sorted(
                {c for i in images for c in i.colours} & set(words.keywords)
                | set(_tokens(ocr)) & set(words.keywords)
            )
            relation = (
                "The text and the media share: " + ", ".join(shared) + "."
                if shared
                else "The text describes the media; no shared visible words or colours were found."
            )
        return {
            "summary": " ".join(parts) or "No analysable content.",
            "objects": objects,
            "text_in_media": ocr or None,
            "tags": list(dict.fromkeys(t for t in tags if t)),
            "safety_concerns": [],
            "relation_to_text": relation,
        }

    def _fused(
        self,
        request: ModelRequest,
        words: TextFeatures | None,
        images: list[ImageFeatures],
        prompt: str,
    ) -> dict[str, Any]:
        lowered = (request.system + "\n" + prompt).lower()
        profile = next(
            (
                p
                for p in _PROFILES
                if f"profile: {p}" in lowered or f"'{p}' profile" in lowered or f'"{p}"' in lowered
            ),
            "general",
        )
        key_points = words.key_sentences if words else []
        keywords = words.keywords if words else []
        title = _first_sentence(key_points[0], 80) if key_points else "Untitled item"
        summary = " ".join(key_points[:2]) or "The item had no analysable content."
        corpus = " ".join(words.sentences) if words else ""
        colours = sorted(
            {c for i in images for c in i.colours}
            | {c for c in _COLOUR_WORDS if re.search(rf"\b{c}\b", corpus, re.I)}
        )
        brands = re.findall(r"\b[A-Z]{3,}\b", corpus)
        return {
            "profile": profile,
            "provider": self._provider,
            "model_id": request.model_id,
            "title": title,
            "summary": summary,
            "key_points": key_points,
            "consistency": "Derived locally from the branch results; "
            f"{len(key_points)} key sentences agree across the inputs given.",
            # Profile details: the schema picks the ones its profile defines.
            "topics": keywords[:5] or ["content"],
            "entities": list(dict.fromkeys(brands))[:5],
            "product_name": title,
            "category": keywords[0] if keywords else None,
            "brand": brands[0] if brands else None,
            "colors": colours,
            "materials": [m for m in _MATERIALS if re.search(rf"\b{m}\b", corpus, re.I)],
            "attributes": {"keywords": ", ".join(keywords[:5])} if keywords else {},
            "listing_issues": [],
            "labels": [],
            "recommended_action": "allow",  # nothing in local features suggests otherwise
            "alt_text": summary[:600],
            "long_description": " ".join(key_points)[:2000] or None,
            "caption_notes": [],
            "chapters": [
                {"title": _first_sentence(s, 80), "start_s": None, "summary": s} for s in key_points
            ],
            "key_concepts": keywords[:5] or ["content"],
            "level": "introductory",
        }


_COLOUR_WORDS = (
    "black",
    "white",
    "grey",
    "gray",
    "red",
    "orange",
    "yellow",
    "green",
    "blue",
    "purple",
    "pink",
    "brown",
)
_MATERIALS = (
    "ceramic",
    "glass",
    "wood",
    "metal",
    "steel",
    "plastic",
    "cotton",
    "leather",
    "paper",
    "stone",
)


def _readable(body: str) -> str:
    """The prose inside a data block: a JSON document's sentences, or the text itself."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or numbers Python will not parse
        # Transcript lines arrive as "[12.3s spk_0] words": keep the words.
        return _LINE_PREFIX.sub("", body)
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str) and " " in value.strip() and "://" not in value:
            found.append(value.strip().rstrip(".") + ".")
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(document)
    return "\n".join(dict.fromkeys(found))


def _tokens(text: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Za-z]{3,}", text)]


def _fit(answer: dict[str, Any], schema: dict[str, Any] | None) -> Any:
    """Shape `answer` to the schema: its properties only, nested models filled from the same
    pool of values, and a value for every required field."""
    if not schema:
        return answer
    definitions = schema.get("$defs", {})

    def node(spec: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in spec:
            return node(definitions[spec["$ref"].rsplit("/", 1)[-1]])
        options = [o for o in spec.get("anyOf", []) if o.get("type") != "null"]
        return node(options[0]) if options else spec

    def fill(spec: dict[str, Any], value: Any) -> Any:
        spec = node(spec)
        if spec.get("type") == "object" and "properties" in spec:
            source = value if isinstance(value, dict) else answer
            filled = {}
            for name, sub in spec["properties"].items():
                if name in source and source[name] is not None:
                    filled[name] = fill(sub, source[name])
                elif name in spec.get("required", []):
                    filled[name] = fill(sub, answer.get(name))
            return filled
        choices = spec.get("enum") or ([spec["const"]] if "const" in spec else None)
        if choices:
            return value if value in choices else choices[0]
        if spec.get("type") == "array" and isinstance(value, list):
            return [fill(spec.get("items", {}), v) for v in value]
        if value is None:
            kind = spec.get("type")
            return {
                "string": "unknown",
                "array": [],
                "object": {},
                "number": 0,
                "integer": 0,
                "boolean": False,
            }.get(str(kind))
        return value

    return fill(schema, answer)
