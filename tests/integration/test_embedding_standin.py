"""The embedding stand-in behind moto: the pipeline's real BedrockEmbedder -> moto's
bedrock-runtime InvokeModel -> LocalEmbeddings, and back. Its vectors mean something (a real
small model), it refuses what Bedrock refuses, and it throttles and is authorized as Bedrock
is. The model loads once per process (well under a second); each test is quick."""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from PIL import Image, ImageDraw, ImageFont

from mmpipe.local import moto_patches
from mmpipe.local.api_requests import RequestRejected
from mmpipe.local.faults import Faults
from mmpipe.local.iam import identity
from mmpipe.local.iam.enforcement import Enforcement
from mmpipe.local.iam.identity import Identities, acting_as
from mmpipe.local.quotas import EmulatedQuotas
from mmpipe.local.standins.embeddings import NOVA_MAX_INLINE_BASE64_CHARS, LocalEmbeddings
from mmpipe.local.standins.features import ocr_available
from mmpipe.local.template import ACCOUNT_ID, REGION
from pipeline.adapters.embeddings import BedrockEmbedder
from pipeline.config import ModelQuota, Quotas
from pipeline.errors import AccessDenied, ServiceThrottled

NOVA = "amazon.nova-2-multimodal-embeddings-v1:0"
TITAN = "amazon.titan-embed-image-v1"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
# One attempt: a refusal or a throttle reaches the test at once, without the SDK's backoff.
ONE_ATTEMPT = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def _client() -> Any:
    return boto3.client("bedrock-runtime", region_name=REGION, config=ONE_ATTEMPT)


def _png(colour: tuple[int, int, int], size: tuple[int, int], words: str = "") -> bytes:
    image = Image.new("RGB", size, colour)
    if words:
        ImageDraw.Draw(image).text(
            (30, size[1] // 3), words, fill=(20, 20, 20), font=ImageFont.truetype(str(FONT), 48)
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def served(monkeypatch) -> Iterator[dict[str, Any]]:
    """moto with local mode's patches and an embeddings stand-in (settings per test)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    settings: dict[str, Any] = {"faults": Faults(), "quotas": None, "ocr": ocr_available()}

    def install(**changes: Any) -> LocalEmbeddings:
        settings.update(changes)
        embeddings = LocalEmbeddings(
            settings["faults"],
            ocr=settings["ocr"],
            quotas=settings["quotas"],
            enforcement=settings.get("enforcement"),
        )
        moto_patches.install(
            lambda_runner=lambda *_: None,
            processing_runner=dict,
            scale=0.01,
            embeddings=embeddings,
            enforcement=settings.get("enforcement"),
        )
        return embeddings

    with mock_aws():
        settings["install"] = install
        install()
        try:
            yield settings
        finally:
            moto_patches.uninstall()


def _invoke(model_id: str, body: dict[str, Any] | str) -> dict[str, Any]:
    raw = body if isinstance(body, str) else json.dumps(body)
    answer = _client().invoke_model(modelId=model_id, body=raw.encode())
    return dict(json.loads(answer["body"].read()))


def _refusal(model_id: str, body: dict[str, Any] | str) -> ClientError:
    with pytest.raises(ClientError) as refused:
        _invoke(model_id, body)
    return refused.value


def _nova(**params: Any) -> dict[str, Any]:
    return {
        "schemaVersion": "nova-multimodal-embed-v1",
        "taskType": "SINGLE_EMBEDDING",
        "singleEmbeddingParams": {"embeddingPurpose": "GENERIC_INDEX", **params},
    }


TEXT = {"truncationMode": "END", "value": "a red mug"}


class TestVectors:
    def test_similar_texts_are_closer_than_unrelated_ones(self, served) -> None:
        # Given the real adapter, on Nova at 1024 dimensions
        embedder = BedrockEmbedder(NOVA, 1024, _client())

        # When it embeds a query and two pieces
        query = embedder.embed_text("a kitten sleeping on a sofa", "query")
        near = embedder.embed_text("A cat naps on the couch.", "index")
        far = embedder.embed_text("Quarterly revenue grew in Europe.", "index")

        # Then the vectors have the dimension asked for, and meaning decides the distance
        assert len(query.vector) == 1024
        assert _cosine(query.vector, near.vector) > _cosine(query.vector, far.vector) + 0.3
        assert query.text_tokens == 7  # 27 characters at 4 a token, as the prices count

    @pytest.mark.skipif(not ocr_available(), reason="tesseract is not installed")
    @pytest.mark.skipif(not FONT.exists(), reason="no TrueType font to print words with")
    def test_an_image_is_found_by_its_printed_words(self, served) -> None:
        # Given a poster with printed words, indexed through the real adapter
        embedder = BedrockEmbedder(NOVA, 1024, _client())
        poster = embedder.embed_image(
            _png((250, 250, 250), (640, 240), "LIGHTHOUSE TOURS"), "png", "index"
        )

        # When two queries are embedded, its words and unrelated ones
        match = embedder.embed_text("lighthouse tours", "query")
        other = embedder.embed_text("quarterly tax return forms", "query")

        # Then the poster is closer to the query of its words
        assert _cosine(poster.vector, match.vector) > _cosine(poster.vector, other.vector) + 0.3
        assert poster.text_tokens == 0

    def test_similar_images_are_closer_than_different_ones(self, served) -> None:
        embedder = BedrockEmbedder(TITAN, 384, _client())
        blue = embedder.embed_image(_png((40, 80, 200), (400, 200)), "png", "index")
        blue_too = embedder.embed_image(_png((45, 85, 205), (420, 210)), "png", "index")
        tall_red = embedder.embed_image(_png((200, 30, 30), (200, 400)), "png", "index")
        assert _cosine(blue.vector, blue_too.vector) > _cosine(blue.vector, tall_red.vector)

    def test_titan_counts_its_tokens_and_answers_in_its_shape(self, served) -> None:
        answer = _invoke(
            TITAN, {"inputText": "a red mug", "embeddingConfig": {"outputEmbeddingLength": 256}}
        )
        assert set(answer) == {"embedding", "inputTextTokenCount", "message"}
        assert (len(answer["embedding"]), answer["inputTextTokenCount"]) == (256, 3)
        embedding = BedrockEmbedder(TITAN, 1024, _client()).embed_text("a red mug", "index")
        assert (len(embedding.vector), embedding.text_tokens) == (1024, 3)

    def test_titan_averages_text_and_image_given_together(self, served) -> None:
        image = _b64(_png((40, 80, 200), (400, 200)))
        text, alone, both = (
            _invoke(TITAN, body)["embedding"]
            for body in (
                {"inputText": "a red mug"},
                {"inputImage": image},
                {"inputText": "a red mug", "inputImage": image},
            )
        )
        assert _cosine(both, text) > _cosine(alone, text)
        assert _cosine(both, alone) > _cosine(text, alone)

    def test_nova_answers_in_its_documented_shape(self, served) -> None:
        answer = _invoke(NOVA, _nova(text=TEXT))  # dimension left to its default, 3072
        (entry,) = answer["embeddings"]
        assert set(entry) == {"embeddingType", "embedding"}
        assert (entry["embeddingType"], len(entry["embedding"])) == ("TEXT", 3072)

    def test_a_text_past_8k_tokens_is_cut_where_the_answer_says(self, served) -> None:
        text = "sea " * 9000
        answer = _invoke(NOVA, _nova(text={"truncationMode": "END", "value": text}))
        cut = answer["embeddings"][0]["truncatedCharLength"]
        assert text[:cut].count("sea") == 8192

    def test_an_image_in_s3_is_embedded_as_the_same_image_inline(self, served) -> None:
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="media")
        image = _png((240, 140, 20), (300, 300))
        s3.put_object(Bucket="media", Key="a.png", Body=image)
        inline = _invoke(NOVA, _nova(image={"format": "png", "source": {"bytes": _b64(image)}}))
        stored = _invoke(
            NOVA,
            _nova(image={"format": "png", "source": {"s3Location": {"uri": "s3://media/a.png"}}}),
        )
        assert stored == inline


def test_the_dimension_mapping_keeps_cosine_exactly_when_padded(served) -> None:
    # Given two texts embedded at MiniLM's own 384 dimensions and at 1024, 3072 and 256
    texts = ("a cat sits on the mat", "a kitten rests on a rug")
    cosines = {}
    for dimension in (384, 1024, 3072, 256):
        first, second = (
            _invoke(NOVA, _nova(embeddingDimension=dimension, text={**TEXT, "value": t}))[
                "embeddings"
            ][0]["embedding"]
            for t in texts
        )
        assert math.isclose(math.hypot(*first), 1.0, abs_tol=1e-9)
        cosines[dimension] = _cosine(first, second)

    # Then zero-padding keeps it exactly; the 256-dimension projection keeps it roughly
    assert math.isclose(cosines[1024], cosines[384], abs_tol=1e-7)
    assert math.isclose(cosines[3072], cosines[384], abs_tol=1e-7)
    assert abs(cosines[256] - cosines[384]) < 0.15


BAD_PNG = _b64(b"\x89PNG\r\n\x1a\nnot really")


def _encoded(image_format: str) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format=image_format)
    return _b64(buffer.getvalue())


@pytest.mark.parametrize(
    ("model_id", "body", "says"),
    [
        (NOVA, _nova(text=TEXT, extra=1), "extraneous key [extra]"),
        (NOVA, _nova(text={**TEXT, "language": "en"}), "#/singleEmbeddingParams/text: extraneous"),
        (NOVA, _nova(embeddingDimension=512, text=TEXT), "512 is not a valid enum value"),
        (NOVA, _nova(embeddingDimension="1024", text=TEXT), "embeddingDimension"),
        (NOVA, _nova(), "exactly one of text, image, audio and video must be present, found none"),
        (
            NOVA,
            _nova(text=TEXT, image={"format": "png", "source": {"bytes": BAD_PNG}}),
            "found text, image",
        ),
        (NOVA, {**_nova(text=TEXT), "taskType": "SEGMENTED_EMBEDDING"}, "StartAsyncInvoke"),
        (NOVA, _nova(text={"value": "t"}), "required key [truncationMode] not found"),
        (
            NOVA,
            _nova(text={"truncationMode": "NONE", "value": "word " * 9000}),
            "9000 tokens; the model takes at most 8192",
        ),
        (NOVA, _nova(text={**TEXT, "value": "x" * 50_001}), "expected maxLength: 50000"),
        (
            NOVA,
            _nova(image={"format": "bmp", "source": {"bytes": _encoded("BMP")}}),
            "bmp is not a valid",
        ),
        (NOVA, _nova(image={"format": "png", "source": {"bytes": _encoded("BMP")}}), "format bmp"),
        (NOVA, _nova(image={"format": "png", "source": {"bytes": "%%%"}}), "not valid base64"),
        (
            NOVA,
            _nova(image={"format": "png", "source": {"bytes": BAD_PNG}}),
            "could not be decoded",
        ),
        (
            NOVA,
            _nova(
                image={
                    "format": "png",
                    "source": {"bytes": BAD_PNG, "s3Location": {"uri": "s3://b/k"}},
                }
            ),
            "exactly one of bytes and s3Location",
        ),
        (
            NOVA,
            _nova(audio={"format": "mp3", "source": {"bytes": BAD_PNG}}),
            "audio and video embeddings are not emulated",
        ),
        (NOVA, "not json", "the body is not JSON"),
        (TITAN, {"inputText": "t", "embeddingConfig": {"outputEmbeddingLength": 3072}}, "3072"),
        (TITAN, {"inputText": "t", "normalize": True}, "extraneous key [normalize]"),
        (TITAN, {"embeddingConfig": {"outputEmbeddingLength": 256}}, "at least one of inputText"),
        (
            TITAN,
            {"inputText": "word " * 257},
            "Max input tokens: 256, request input token count: 257",
        ),
        (TITAN, {"inputImage": _b64(_png((1, 2, 3), (2049, 10)))}, "2049x10 px"),
        (TITAN, {"inputImage": _encoded("BMP")}, "format bmp is not supported"),
        (TITAN, {"inputImage": _encoded("GIF")}, "gif is not supported; use one of png, jpeg"),
        (TITAN, {"inputImage": "%%%"}, "not valid base64"),
        ("amazon.titan-embed-image-v2:0", {"inputText": "t"}, "model identifier is invalid"),
    ],
)
def test_it_refuses_what_bedrock_refuses(served, model_id: str, body: Any, says: str) -> None:
    error = _refusal(model_id, body)
    assert error.response["Error"]["Code"] == "ValidationException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert says in error.response["Error"]["Message"]


def test_an_inline_image_past_25_mb_of_base64_is_refused() -> None:
    # Checked before anything decodes it: called directly, not through HTTP, for speed.
    body = _nova(
        image={"format": "png", "source": {"bytes": "A" * (NOVA_MAX_INLINE_BASE64_CHARS + 4)}}
    )
    with pytest.raises(RequestRejected, match="inline content may be at most 25000000") as refused:
        LocalEmbeddings(Faults(), ocr=False).invoke_model(NOVA, json.dumps(body))
    assert (refused.value.code, refused.value.error_type) == (400, "ValidationException")


def test_other_model_ids_still_get_motos_answer(served) -> None:
    assert _invoke("anthropic.claude-3-haiku-20240307-v1:0", {"prompt": "hi"}) == {}


def test_injected_throttling_reaches_the_adapter_as_service_throttled(served) -> None:
    served["install"](faults=Faults(bedrock_throttle=1.0))
    with pytest.raises(ServiceThrottled):
        BedrockEmbedder(NOVA, 1024, _client()).embed_text("t", "index")


def test_past_the_models_requests_a_minute_it_throttles(served) -> None:
    # Given an account allowed two requests a minute of Nova, on a clock that stands still
    quotas = EmulatedQuotas(
        Quotas(bedrock={NOVA: ModelQuota(requests_per_minute=2, tokens_per_minute=10**6)}),
        lambda: 0.0,
    )
    served["install"](quotas=quotas)
    embedder = BedrockEmbedder(NOVA, 1024, _client())

    # Then the third request of the minute is Bedrock's ThrottlingException, and counted
    embedder.embed_text("one", "index")
    embedder.embed_text("two", "index")
    with pytest.raises(ServiceThrottled):
        embedder.embed_text("three", "index")
    assert quotas.refused["bedrock"] == 1


def test_iam_checks_invoke_model_on_the_model_in_the_url(served) -> None:
    # Given a role that may invoke Titan only, and IAM enforced
    identity.install()
    try:
        identities = Identities(REGION)
        iam = boto3.client("iam", region_name=REGION)
        with acting_as(identities.operator):
            role = iam.create_role(RoleName="search", AssumeRolePolicyDocument="{}")["Role"]
            titan_arn = f"arn:aws:bedrock:{REGION}::foundation-model/{TITAN}"
            iam.put_role_policy(
                RoleName="search",
                PolicyName="titan",
                PolicyDocument=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "bedrock:InvokeModel",
                                "Resource": titan_arn,
                            }
                        ],
                    }
                ),
            )
        credentials = identities.assume(role["Arn"], "search")
        enforcement = Enforcement(identities)
        served["install"](enforcement=enforcement)

        # When it embeds with Titan, then with Nova
        with acting_as(credentials):
            allowed = BedrockEmbedder(TITAN, 256, _client()).embed_text("t", "index")
            with pytest.raises(AccessDenied) as denied:
                BedrockEmbedder(NOVA, 1024, _client()).embed_text("t", "index")
    finally:
        identity.uninstall()

    # Then Titan answers, and Nova is refused on its foundation model's ARN (from the URL)
    assert len(allowed.vector) == 256
    assert f"foundation-model/{NOVA}" in str(denied.value)
    assert [r.permission.action for r in enforcement.refusals] == ["bedrock:InvokeModel"]
    assert ACCOUNT_ID in str(denied.value)


def test_uninstall_gives_moto_its_invoke_model_back(served) -> None:
    moto_patches.uninstall()
    assert _invoke(NOVA, _nova(text=TEXT)) == {}
    served["install"]()
