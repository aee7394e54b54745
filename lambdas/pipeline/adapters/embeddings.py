"""Embeddings: the protocol, and Bedrock's multimodal embedding models (one vector space for
text and images, so words find pictures).

`BedrockEmbedder` calls InvokeModel with each model's documented request body and checks the
answer before anyone stores it:

- Amazon Nova Multimodal Embeddings (`amazon.nova-2-multimodal-embeddings-v1:0`; Nova user
  guide, "Complete embeddings request and response schema"): a SINGLE_EMBEDDING task, the
  purpose GENERIC_INDEX for what is indexed and GENERIC_RETRIEVAL for queries (the index holds
  text and images), text truncated at its END past the model's 8K tokens, images inline as
  base64 (25 MB at most once encoded). The answer is `{"embeddings": [{"embeddingType",
  "embedding", "truncatedCharLength"?}]}`.
- Amazon Titan Multimodal Embeddings G1 (`amazon.titan-embed-image-v1`; Bedrock user guide,
  model parameters): `inputText` or `inputImage` (base64), `embeddingConfig.
  outputEmbeddingLength`; no purpose. Text is limited to 256 tokens (the service refuses more:
  chunk small for this model), images to 25 MB and 2048 x 2048 px. The answer is
  `{"embedding", "inputTextTokenCount", "message"}`.

Text tokens are estimated at 4 characters a token, as the prices are, unless the answer
counts them (Titan's `inputTextTokenCount`). Lambda code: no numpy.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import boto3
from botocore.exceptions import ClientError

from pipeline.adapters.aws_errors import error_code, translated_aws_errors
from pipeline.config import EMBEDDING_DIMENSIONS
from pipeline.errors import MediaNotPreparable, ModelOutputInvalid
from pipeline_contracts.search import ImageFormat

Purpose = Literal["index", "query"]

NOVA_PREFIX = "amazon.nova-"
# Nova: inline content is limited to 25 MB after base64 encoding (user guide, "File
# limitations for Nova Embeddings"); Titan G1: images of 25 MB at most (model card).
NOVA_MAX_INLINE_BASE64_CHARS = 25_000_000
TITAN_MAX_IMAGE_BYTES = 25_000_000
# Titan G1 reads at most 256 tokens of text and refuses more: longer text (a summary with its
# key points) is cut to what fits, about 4 characters a token with a margin.
TITAN_MAX_TEXT_CHARS = 900
_NOVA_PURPOSE: dict[Purpose, str] = {"index": "GENERIC_INDEX", "query": "GENERIC_RETRIEVAL"}


class ContentRefused(Exception):
    """The model refused this input (Bedrock's ValidationException): the same request would
    be refused again. Indexing skips the piece; a search reports it."""


@dataclass(frozen=True)
class Embedding:
    vector: list[float]
    text_tokens: int  # estimated tokens for text (0 for images)


class Embedder(Protocol):
    model_id: str
    dimension: int

    def embed_text(self, text: str, purpose: Purpose) -> Embedding: ...

    def embed_image(
        self, image: bytes, image_format: ImageFormat, purpose: Purpose
    ) -> Embedding: ...


def estimated_tokens(text: str) -> int:
    """4 characters a token, rounded up."""
    return math.ceil(len(text) / 4)


class BedrockEmbedder:
    """Bedrock Runtime InvokeModel for the multimodal embedding model of the search index."""

    def __init__(self, model_id: str, dimension: int, client: Any | None = None) -> None:
        offered = EMBEDDING_DIMENSIONS.get(model_id)
        if offered is None:
            raise ValueError(f"{model_id} is not one of {sorted(EMBEDDING_DIMENSIONS)}")
        if dimension not in offered:
            raise ValueError(f"{model_id} offers dimensions {offered}, not {dimension}")
        self.model_id = model_id
        self.dimension = dimension
        self._nova = model_id.startswith(NOVA_PREFIX)
        self._bedrock = client or boto3.client("bedrock-runtime")

    def embed_text(self, text: str, purpose: Purpose) -> Embedding:
        if not text.strip():
            raise ValueError("there is no text to embed")
        if self._nova:
            body = self._nova_body(purpose, text={"truncationMode": "END", "value": text})
            vector, truncated_at = self._nova_answer(self._invoke(body), "TEXT")
            embedded = text if truncated_at is None else text[:truncated_at]
            return Embedding(vector, estimated_tokens(embedded))
        text = text[:TITAN_MAX_TEXT_CHARS]
        answer = self._invoke(self._titan_body(inputText=text))
        counted = answer.get("inputTextTokenCount")
        tokens = counted if isinstance(counted, int) and counted >= 0 else estimated_tokens(text)
        return Embedding(self._titan_vector(answer), tokens)

    def embed_image(self, image: bytes, image_format: ImageFormat, purpose: Purpose) -> Embedding:
        encoded = base64.b64encode(image).decode("ascii")
        if self._nova:
            if len(encoded) > NOVA_MAX_INLINE_BASE64_CHARS:
                raise MediaNotPreparable(
                    f"the image is {len(encoded)} characters in base64; {self.model_id} takes "
                    f"at most {NOVA_MAX_INLINE_BASE64_CHARS} inline"
                )
            body = self._nova_body(
                purpose,
                image={
                    "format": image_format,
                    "detailLevel": "STANDARD_IMAGE",
                    "source": {"bytes": encoded},
                },
            )
            vector, _ = self._nova_answer(self._invoke(body), "IMAGE")
            return Embedding(vector, 0)
        if len(image) > TITAN_MAX_IMAGE_BYTES:
            raise MediaNotPreparable(
                f"the image is {len(image)} bytes; {self.model_id} takes at most "
                f"{TITAN_MAX_IMAGE_BYTES}"
            )
        # Titan reads the image's format from its bytes; the request names none.
        return Embedding(self._titan_vector(self._invoke(self._titan_body(inputImage=encoded))), 0)

    # --- the wire -------------------------------------------------------------------------

    def _nova_body(self, purpose: Purpose, **content: dict[str, Any]) -> dict[str, Any]:
        return {
            "schemaVersion": "nova-multimodal-embed-v1",
            "taskType": "SINGLE_EMBEDDING",
            "singleEmbeddingParams": {
                "embeddingPurpose": _NOVA_PURPOSE[purpose],
                "embeddingDimension": self.dimension,
                **content,
            },
        }

    def _titan_body(self, **content: str) -> dict[str, Any]:
        return {**content, "embeddingConfig": {"outputEmbeddingLength": self.dimension}}

    def _invoke(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            with translated_aws_errors("Bedrock"):
                response = self._bedrock.invoke_model(
                    modelId=self.model_id,
                    body=json.dumps(body).encode("utf-8"),
                    contentType="application/json",
                    accept="application/json",
                )
                raw = response["body"].read()
        except ClientError as error:
            if error_code(error) != "ValidationException":
                raise
            raise ContentRefused(f"{self.model_id} refused the input: {error}") from error
        try:
            answer = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as error:
            raise ModelOutputInvalid(f"{self.model_id} answered with no JSON body") from error
        if not isinstance(answer, dict):
            raise ModelOutputInvalid(f"{self.model_id} answered {type(answer).__name__}")
        return answer

    def _nova_answer(self, answer: dict[str, Any], kind: str) -> tuple[list[float], int | None]:
        embeddings = answer.get("embeddings")
        if not isinstance(embeddings, list) or len(embeddings) != 1:
            raise ModelOutputInvalid(
                f"{self.model_id} answered without exactly one embedding: {_keys(answer)}"
            )
        (entry,) = embeddings
        if not isinstance(entry, dict) or entry.get("embeddingType") != kind:
            found = entry.get("embeddingType") if isinstance(entry, dict) else entry
            raise ModelOutputInvalid(f"{self.model_id} answered a {found!r} embedding, not {kind}")
        truncated = entry.get("truncatedCharLength")
        if truncated is not None and (not isinstance(truncated, int) or truncated < 0):
            raise ModelOutputInvalid(f"{self.model_id} answered truncatedCharLength {truncated!r}")
        return self._vector(entry.get("embedding")), truncated

    def _titan_vector(self, answer: dict[str, Any]) -> list[float]:
        if answer.get("embedding") is None and answer.get("message"):
            raise ModelOutputInvalid(f"{self.model_id} answered: {answer['message']}")
        return self._vector(answer.get("embedding"))

    def _vector(self, values: Any) -> list[float]:
        """The embedding as floats, if it is one of the dimension asked for."""
        if not isinstance(values, list):
            raise ModelOutputInvalid(f"{self.model_id} answered no embedding vector")
        if len(values) != self.dimension:
            raise ModelOutputInvalid(
                f"{self.model_id} answered a {len(values)}-dimension embedding; "
                f"{self.dimension} were asked for"
            )
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in values
        ):
            raise ModelOutputInvalid(f"{self.model_id} answered an embedding that is not numbers")
        if not any(values):
            raise ModelOutputInvalid(f"{self.model_id} answered an all-zero embedding")
        return [float(v) for v in values]


def _keys(answer: dict[str, Any]) -> str:
    return ", ".join(sorted(answer)) or "an empty object"
