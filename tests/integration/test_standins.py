"""The stand-ins answer in the shapes the cloud code expects (no emulation needed)."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from mmpipe.local.api_requests import RequestRejected
from mmpipe.local.faults import Faults, FaultSpecError, parse_faults
from mmpipe.local.quotas import EmulatedQuotas
from mmpipe.local.standins.bedrock import LocalBedrock
from mmpipe.local.standins.model import LocalModel
from mmpipe.local.standins.recognition import Recognition, Segment, Word
from mmpipe.local.standins.transcripts import subtitles, transcribe_document
from pipeline.adapters.model import ImageBlock, ModelRequest, TextBlock
from pipeline.config import ModelQuota, Quotas
from pipeline.domain.data_fence import DataFence
from pipeline.domain.structured_output import schema_instructions
from pipeline_contracts.work.fusion import ANSWERS
from pipeline_contracts.work.vision import VisionAnalysis


def _png(colour: tuple[int, int, int], size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_vision_answer_validates_and_reflects_the_image() -> None:
    # Given a wide blue image and its description, asked for as VisionAnalysis
    request = ModelRequest(
        model_id="local",
        system=schema_instructions(VisionAnalysis),
        content=[
            ImageBlock(format="png", data=_png((30, 70, 200), (400, 200))),
            TextBlock(text=DataFence().wrap("description", "A blue mug. It is blue and tall.")),
        ],
    )

    # When the local model answers
    reply = LocalModel(ocr=False, faults=Faults()).converse(request)

    # Then the answer validates, is labelled local, and says what the image is
    analysis = VisionAnalysis.model_validate_json(reply.text)
    assert reply.provider == "local"
    assert "landscape 400x200" in analysis.summary
    assert "blue" in analysis.tags
    assert analysis.relation_to_text


@pytest.mark.parametrize("profile", sorted(ANSWERS))
def test_fusion_answers_validate_for_every_profile(profile: str) -> None:
    answer_model = ANSWERS[profile]  # type: ignore[index]
    request = ModelRequest(
        model_id="local",
        system=f"profile: {profile}\n" + schema_instructions(answer_model),
        content=[
            TextBlock(
                text=DataFence().wrap(
                    "transcript",
                    "Rivers carve valleys. Water moves sand to the sea. Valleys grow deep.",
                )
            )
        ],
    )
    reply = LocalModel(ocr=False, faults=Faults(), provider="stub").converse(request)
    answer = answer_model.model_validate_json(reply.text)
    assert answer.title


def test_throttling_is_the_services_answer_and_malformed_output_the_models() -> None:
    # Given every request throttled, then a model that answers malformed text
    throttled = LocalBedrock(LocalModel(ocr=False, faults=Faults()), Faults(bedrock_throttle=1.0))
    request = {
        "modelId": "amazon.nova-lite-v1:0",
        "messages": [{"role": "user", "content": [{"text": "t"}]}],
    }

    # Then Bedrock answers 429 ThrottlingException, as the service does
    with pytest.raises(RequestRejected) as refused:
        throttled.converse(request)
    assert (refused.value.code, refused.value.error_type) == (429, "ThrottlingException")
    reply = LocalModel(ocr=False, faults=Faults(model_malformed=True)).converse(
        ModelRequest(model_id="m", system="s", content=[TextBlock(text="t")])
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.text)


def test_bedrock_throttles_past_the_accounts_quota_on_the_runs_clock() -> None:
    # Given an account with two requests a minute of the model, on a clock we move
    now = [0.0]
    quotas = EmulatedQuotas(
        Quotas(
            bedrock={
                "amazon.nova-lite-v1:0": ModelQuota(requests_per_minute=2, tokens_per_minute=10**6)
            }
        ),
        lambda: now[0],
    )
    bedrock = LocalBedrock(LocalModel(ocr=False, faults=Faults()), Faults(), quotas=quotas)
    request = {
        "modelId": "amazon.nova-lite-v1:0",
        "messages": [{"role": "user", "content": [{"text": "t"}]}],
    }

    # Then the third request of the minute is throttled as Bedrock throttles, and counted
    bedrock.converse(request)
    bedrock.converse(request)
    with pytest.raises(RequestRejected) as refused:
        bedrock.converse(request)
    assert (refused.value.code, refused.value.error_type) == (429, "ThrottlingException")
    assert quotas.refused["bedrock"] == 1
    # And a minute later it answers again
    now[0] = 61.0
    assert bedrock.converse(request)["usage"]["inputTokens"] > 0


def test_transcribe_document_and_subtitles_have_transcribes_shape() -> None:
    # Given a recognition of two words and a full stop
    words = [Word(0.5, 0.9, "Hello", 0.98), Word(1.0, 1.4, "world.", 0.91)]
    recognition = Recognition("en-US", 0.99, [Segment(0.5, 1.4, "Hello world.", words)])

    # When written as Transcribe output
    document = transcribe_document("job", recognition)
    vtt, srt = subtitles(recognition, "vtt"), subtitles(recognition, "srt")

    # Then items carry times, confidences and types as Transcribe's do
    items = document["results"]["items"]
    assert [i["type"] for i in items] == ["pronunciation", "pronunciation", "punctuation"]
    assert items[1]["alternatives"][0] == {"confidence": "0.9100", "content": "world"}
    assert items[0]["start_time"] == "0.500"
    assert document["results"]["transcripts"][0]["transcript"] == "Hello world."
    assert document["results"]["language_code"] == "en-US"
    assert vtt.startswith("WEBVTT")
    assert "00:00:00.500 --> 00:00:01.400" in vtt
    assert "00:00:00,500 --> 00:00:01,400" in srt


def test_fault_spec_parsing() -> None:
    faults = parse_faults("bedrock-throttle=0.3,transcribe-fail,lambda-raise=fusion")
    assert faults.bedrock_throttle == 0.3
    assert faults.transcribe_fail
    assert faults.lambda_raise == frozenset({"fusion"})
    for bad in ("bedrock-throttle=2", "transcribe-fail=yes", "lambda-raise", "gremlins"):
        with pytest.raises(FaultSpecError):
            parse_faults(bad)
