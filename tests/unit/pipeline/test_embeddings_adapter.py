"""The embeddings adapter sends each model's documented InvokeModel body (botocore's Stubber
checks the request against the API model, with no network; the body is compared as JSON) and
takes only answers of the dimension it asked for."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from pipeline.adapters.embeddings import BedrockEmbedder
from pipeline.errors import MediaNotPreparable, ModelOutputInvalid, ServiceThrottled
from tests.unit.pipeline.adapters.stubbed import stubbed_client

NOVA = "amazon.nova-2-multimodal-embeddings-v1:0"
TITAN = "amazon.titan-embed-image-v1"
PNG = b"\x89PNG\r\n\x1a\n tiny"


class JsonBody:
    """Equal to a request body (bytes) whose JSON is `expected`."""

    def __init__(self, expected: dict[str, Any]) -> None:
        self.expected = expected
        self.seen: Any = None

    def __eq__(self, other: object) -> bool:
        self.seen = json.loads(other) if isinstance(other, bytes | str) else other
        return bool(self.seen == self.expected)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"JsonBody({self.expected!r}, seen={self.seen!r})"


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    return {"body": StreamingBody(io.BytesIO(raw), len(raw)), "contentType": "application/json"}


def _expect(stub: Stubber, model_id: str, body: dict[str, Any], answer: dict[str, Any]) -> None:
    stub.add_response(
        "invoke_model",
        _answer(answer),
        expected_params={
            "modelId": model_id,
            "body": JsonBody(body),
            "contentType": "application/json",
            "accept": "application/json",
        },
    )


def _nova_body(purpose: str, dimension: int, **content: Any) -> dict[str, Any]:
    return {
        "schemaVersion": "nova-multimodal-embed-v1",
        "taskType": "SINGLE_EMBEDDING",
        "singleEmbeddingParams": {
            "embeddingPurpose": purpose,
            "embeddingDimension": dimension,
            **content,
        },
    }


class TestNova:
    def test_text_is_indexed_and_queried_with_the_documented_purposes(self) -> None:
        # Given Nova at 256 dimensions
        client = stubbed_client("bedrock-runtime")
        vector = [0.5] * 256
        with Stubber(client) as stub:
            for purpose in ("GENERIC_INDEX", "GENERIC_RETRIEVAL"):
                _expect(
                    stub,
                    NOVA,
                    _nova_body(purpose, 256, text={"truncationMode": "END", "value": "a red mug"}),
                    {"embeddings": [{"embeddingType": "TEXT", "embedding": vector}]},
                )
            embedder = BedrockEmbedder(NOVA, 256, client)

            # When a piece is indexed and a query embedded
            indexed = embedder.embed_text("a red mug", "index")
            queried = embedder.embed_text("a red mug", "query")

        # Then both bodies were the documented ones, and the tokens are estimated
        assert indexed.vector == queried.vector == vector
        assert indexed.text_tokens == 3  # 9 characters, 4 a token, rounded up

    def test_a_truncated_text_counts_only_what_was_embedded(self) -> None:
        client = stubbed_client("bedrock-runtime")
        text = "x" * 100
        with Stubber(client) as stub:
            _expect(
                stub,
                NOVA,
                _nova_body("GENERIC_INDEX", 1024, text={"truncationMode": "END", "value": text}),
                {
                    "embeddings": [
                        {
                            "embeddingType": "TEXT",
                            "embedding": [0.1] * 1024,
                            "truncatedCharLength": 40,
                        }
                    ]
                },
            )
            embedding = BedrockEmbedder(NOVA, 1024, client).embed_text(text, "index")
        assert embedding.text_tokens == 10

    def test_an_image_goes_inline_as_base64_with_its_format(self) -> None:
        client = stubbed_client("bedrock-runtime")
        with Stubber(client) as stub:
            _expect(
                stub,
                NOVA,
                _nova_body(
                    "GENERIC_RETRIEVAL",
                    3072,
                    image={
                        "format": "png",
                        "detailLevel": "STANDARD_IMAGE",
                        "source": {"bytes": base64.b64encode(PNG).decode()},
                    },
                ),
                {"embeddings": [{"embeddingType": "IMAGE", "embedding": [0.0] * 3071 + [1.0]}]},
            )
            embedding = BedrockEmbedder(NOVA, 3072, client).embed_image(PNG, "png", "query")
        assert (len(embedding.vector), embedding.text_tokens) == (3072, 0)

    @pytest.mark.parametrize(
        ("answer", "says"),
        [
            (
                {"embeddings": [{"embeddingType": "TEXT", "embedding": [0.1] * 384}]},
                "384-dimension",
            ),
            ({"embeddings": []}, "exactly one embedding"),
            ({"embeddings": [{"embeddingType": "IMAGE", "embedding": [0.1] * 1024}]}, "'IMAGE'"),
            ({"embeddings": [{"embeddingType": "TEXT", "embedding": ["a"] * 1024}]}, "not numbers"),
            ({"embeddings": [{"embeddingType": "TEXT", "embedding": [0] * 1024}]}, "all-zero"),
            ({"message": "boom"}, "exactly one embedding"),
        ],
    )
    def test_an_answer_that_is_not_the_embedding_asked_for_is_refused(
        self, answer: dict[str, Any], says: str
    ) -> None:
        client = stubbed_client("bedrock-runtime")
        with Stubber(client) as stub:
            stub.add_response("invoke_model", _answer(answer))
            with pytest.raises(ModelOutputInvalid, match=says):
                BedrockEmbedder(NOVA, 1024, client).embed_text("words", "index")

    def test_an_image_too_large_to_send_inline_is_not_preparable(self) -> None:
        with pytest.raises(MediaNotPreparable, match="base64"):
            BedrockEmbedder(NOVA, 1024, stubbed_client("bedrock-runtime")).embed_image(
                b"\0" * 19_000_000, "png", "index"
            )


class TestTitan:
    def test_text_and_image_use_the_documented_fields_and_the_reported_token_count(self) -> None:
        # Given Titan Multimodal Embeddings G1 at 384 dimensions
        client = stubbed_client("bedrock-runtime")
        config = {"embeddingConfig": {"outputEmbeddingLength": 384}}
        with Stubber(client) as stub:
            _expect(
                stub,
                TITAN,
                {"inputText": "a red mug", **config},
                {"embedding": [0.2] * 384, "inputTextTokenCount": 4, "message": None},
            )
            _expect(
                stub,
                TITAN,
                {"inputImage": base64.b64encode(PNG).decode(), **config},
                {"embedding": [0.3] * 384, "inputTextTokenCount": 0, "message": None},
            )
            embedder = BedrockEmbedder(TITAN, 384, client)

            # When text and an image are embedded (Titan has no purpose: both alike)
            text = embedder.embed_text("a red mug", "query")
            image = embedder.embed_image(PNG, "png", "index")

        # Then the token count is Titan's own, and images count none
        assert (text.text_tokens, image.text_tokens) == (4, 0)
        assert image.vector == [0.3] * 384

    def test_a_wrong_dimension_or_an_error_message_is_refused(self) -> None:
        client = stubbed_client("bedrock-runtime")
        with Stubber(client) as stub:
            stub.add_response("invoke_model", _answer({"embedding": [0.1] * 256}))
            stub.add_response("invoke_model", _answer({"embedding": None, "message": "bad image"}))
            embedder = BedrockEmbedder(TITAN, 1024, client)
            with pytest.raises(ModelOutputInvalid, match=r"256-dimension.*1024 were asked"):
                embedder.embed_text("t", "index")
            with pytest.raises(ModelOutputInvalid, match="bad image"):
                embedder.embed_image(PNG, "png", "index")


def test_throttling_becomes_service_throttled() -> None:
    client = stubbed_client("bedrock-runtime")
    with Stubber(client) as stub:
        stub.add_client_error("invoke_model", "ThrottlingException", http_status_code=429)
        with pytest.raises(ServiceThrottled):
            BedrockEmbedder(NOVA, 1024, client).embed_text("t", "index")


@pytest.mark.parametrize(
    ("model_id", "dimension", "says"),
    [
        ("amazon.titan-embed-text-v2:0", 1024, "is not one of"),
        (TITAN, 3072, "offers dimensions"),
        (NOVA, 512, "offers dimensions"),
    ],
)
def test_only_a_multimodal_model_at_a_dimension_it_offers(
    model_id: str, dimension: int, says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        BedrockEmbedder(model_id, dimension, stubbed_client("bedrock-runtime"))


def test_empty_text_is_not_sent() -> None:
    with pytest.raises(ValueError, match="no text"):
        BedrockEmbedder(NOVA, 1024, stubbed_client("bedrock-runtime")).embed_text("  ", "index")
