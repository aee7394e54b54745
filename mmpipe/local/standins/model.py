"""Bedrock stand-in, the answer half: deterministic answers built from real features of the
input, valid for the schema the prompt asks for, labelled `provider: local`.

`LocalModel` writes the answers; `LocalBedrock` (standins.bedrock) serves them as Converse.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mmpipe.local.faults import Faults
from mmpipe.local.standins.answer_schema import fit, schema_from_text
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
    VideoBlock,
)
from pipeline_contracts.vocabulary import Provider
from pipeline_contracts.work.vision import ToolUse

# The pipeline's data blocks (data_fence.DataFence): markers with a per-request code.
_DATA_BLOCK = re.compile(
    r"<<<BEGIN UNTRUSTED DATA (?P<token>[0-9a-f]+): (?P<label>[^>]*)>>>\n(?P<body>.*?)\n"
    r"<<<END UNTRUSTED DATA (?P=token): (?P=label)>>>",
    re.DOTALL,
)
_MALFORMED = 'Sure! Here is the analysis you asked for: {"summary": '
_LINE_PREFIX = re.compile(r"^\[[^\]\n]{1,40}\]\s*", re.MULTILINE)
_PROFILES = ("catalog", "moderation", "accessibility", "education", "general")


def _first_sentence(text: str, limit: int = 120) -> str:
    sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    return sentence[:limit].rstrip(" ,;:")


class LocalModel:
    """A ModelClient. Same request in, same answer out: runs are reproducible."""

    def __init__(self, *, ocr: bool, faults: Faults, provider: Provider = "local") -> None:
        self._ocr = ocr
        self._faults = faults
        self._provider: Provider = provider

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
            or schema_from_text(request.system)
            or next((s for s in map(schema_from_text, texts) if s), None)
        )
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
        if {"title", "key_points"} <= set(properties):
            answer = self._fused(request, words, images, "\n".join(texts))
            answer["details"] = dict(answer)
        else:
            answer = self._analysis(words, images, videos)
        return fit(answer, schema)

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
