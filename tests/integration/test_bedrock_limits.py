"""The Bedrock stand-in refuses what Bedrock refuses: each Converse request is checked
against the API's own model and the documented limits, and answered with Bedrock's error
(Transcribe's and SageMaker's limits are in test_service_limits.py)."""

from __future__ import annotations

import io
import re
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from PIL import Image

from mmpipe.local import moto_patches
from mmpipe.local.api_requests import RequestRejected
from mmpipe.local.faults import Faults
from mmpipe.local.standins.bedrock import LocalBedrock
from mmpipe.local.standins.model import LocalModel
from pipeline.adapters.model import BedrockModelClient, ImageBlock, ModelRequest, TextBlock
from pipeline.domain.structured_output import answer_shape
from pipeline_contracts.work.vision import VisionAnalysis

MODEL = "us.amazon.nova-lite-v1:0"


def _png(size: tuple[int, int], noise: bool = False) -> bytes:
    image = Image.effect_noise(size, 80).convert("RGB") if noise else Image.new("RGB", size)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _converse(*blocks: dict[str, Any], role: str = "user") -> dict[str, Any]:
    return {"modelId": MODEL, "messages": [{"role": role, "content": list(blocks)}]}


def _image(data: bytes) -> dict[str, Any]:
    return {"image": {"format": "png", "source": {"bytes": data}}}


def _document(name: str, size: int = 10) -> dict[str, Any]:
    return {"document": {"format": "txt", "name": name, "source": {"bytes": b"x" * size}}}


BEDROCK = LocalBedrock(LocalModel(ocr=False, faults=Faults()), Faults())


@pytest.mark.parametrize(
    ("request_", "says"),
    [
        pytest.param(
            _converse({"text": "hi"}, _image(_png((8001, 10)))),
            "8000 px",
            id="image-wider-than-8000-px",
        ),
        pytest.param(
            _converse({"text": "hi"}, _image(b"\x89PNG" + b"x" * 3_800_000)),
            "3750000",
            id="image-over-3.75-MB",
        ),
        pytest.param(
            _converse({"text": "hi"}, *[_image(_png((8, 8)))] * 21),
            "too many images",
            id="21-images",
        ),
        pytest.param(
            _converse({"text": "hi"}, *[_document(f"d{i}") for i in range(6)]),
            "more than 5 documents",
            id="6-documents",
        ),
        pytest.param(
            _converse({"text": "hi"}, _document("notes.txt")),
            "can only contain",
            id="document-name-with-a-dot",
        ),
        pytest.param(
            _converse({"text": "hi"}, _document("a"), _document("a")),
            "duplicate",
            id="duplicate-document-names",
        ),
        pytest.param(_converse(_document("a")), "text block", id="document-without-text"),
        pytest.param(
            _converse({"text": "hi"}, _document("big", 4_600_000)),
            "at most 4500000",
            id="document-over-4.5-MB",
        ),
        pytest.param(
            _converse({"text": "hi"}, _image(_png((8, 8))), role="assistant"),
            "only allowed in user",
            id="image-from-the-assistant",
        ),
        pytest.param(
            {**_converse({"text": "hi"}), "modelId": "novalite"},
            "model identifier",
            id="unknown-model-id",
        ),
        pytest.param(
            {**_converse({"text": "hi"}), "modelId": "nova lite"},
            "regular expression",
            id="model-id-outside-the-api-pattern",
        ),
        pytest.param(
            _converse({"image": {"format": "jpg", "source": {"bytes": b"x"}}}),
            "enum value set",
            id="image-format-not-in-the-api-enum",
        ),
    ],
)
def test_converse_refuses_what_bedrock_refuses(request_, says) -> None:
    with pytest.raises(RequestRejected, match=says) as refused:
        BEDROCK.converse(request_)
    assert (refused.value.code, refused.value.error_type) == (400, "ValidationException")


def test_converse_answers_a_request_within_the_limits() -> None:
    answer = BEDROCK.converse(_converse({"text": "Describe."}, _image(_png((800, 600)))))
    assert answer["output"]["message"]["content"][0]["text"]
    assert answer["usage"]["inputTokens"] > 0


def _with_tools(
    request: dict[str, Any],
    choice: dict[str, Any] | None = None,
    names: tuple[str, ...] = ("record_VisionAnalysis",),
    schema: dict[str, Any] | None = None,
) -> dict[str, Any]:
    tools = [
        {"toolSpec": {"name": n, "inputSchema": {"json": schema or VISION_SCHEMA}}} for n in names
    ]
    config: dict[str, Any] = {"tools": tools}
    if choice is not None:
        config["toolChoice"] = choice
    return {**request, "toolConfig": config}


VISION_SCHEMA = VisionAnalysis.model_json_schema()
LLAMA = "meta.llama3-70b-instruct-v1:0"
FORCED = {"tool": {"name": "record_VisionAnalysis"}}


@pytest.mark.parametrize(
    ("request_", "says"),
    [
        pytest.param(
            _with_tools(_converse({"text": "hi"}), {"tool": {"name": "record_Other"}}),
            "'record_Other' named in toolConfig.toolChoice is not in toolConfig.tools",
            id="choice-names-an-unknown-tool",
        ),
        pytest.param(
            _with_tools({**_converse({"text": "hi"}), "modelId": LLAMA}, FORCED),
            "doesn't support the toolConfig.toolChoice.tool field",
            id="forced-tool-on-a-model-without-it",
        ),
        pytest.param(
            _with_tools({**_converse({"text": "hi"}), "modelId": LLAMA}, {"any": {}}),
            "toolChoice.any",
            id="any-tool-on-a-model-without-it",
        ),
        pytest.param(
            _with_tools(_converse({"text": "hi"}), FORCED, schema={"type": "array"}),
            "top-level type is object",
            id="schema-not-an-object",
        ),
        pytest.param(
            _with_tools(_converse({"text": "hi"}), names=("record_A", "record_A")),
            "unique",
            id="duplicate-tool-names",
        ),
        pytest.param(
            _with_tools(_converse({"text": "hi"}), names=("record VisionAnalysis",)),
            "regular expression",
            id="tool-name-pattern",
        ),
        pytest.param(
            _with_tools(_converse({"text": "hi"}), {"tool": {"name": "x"}, "any": {}}),
            "tagged union",
            id="two-choices",
        ),
        pytest.param(
            _converse(
                {"text": "hi"}, {"toolUse": {"toolUseId": "t1", "name": "record_A", "input": {}}}
            ),
            "toolConfig field must be defined",
            id="tool-use-without-tool-config",
        ),
    ],
)
def test_converse_refuses_tool_configurations_bedrock_refuses(request_, says) -> None:
    with pytest.raises(RequestRejected, match=re.escape(says)) as refused:
        BEDROCK.converse(request_)
    assert (refused.value.code, refused.value.error_type) == (400, "ValidationException")


def test_converse_answers_a_forced_tool_with_a_tool_use_block() -> None:
    # Given a request that forces the VisionAnalysis answer tool
    request = _with_tools(_converse({"text": "Describe."}, _image(_png((80, 60)))), FORCED)

    # When the stand-in answers
    answer = BEDROCK.converse(request)

    # Then, as Bedrock does, the reply is one toolUse block and the stop reason is tool_use
    (block,) = answer["output"]["message"]["content"]
    assert answer["stopReason"] == "tool_use"
    assert block["toolUse"]["name"] == "record_VisionAnalysis"
    assert re.fullmatch(r"[a-zA-Z0-9_.:-]{1,64}", block["toolUse"]["toolUseId"])
    assert "80x60" in VisionAnalysis.model_validate(block["toolUse"]["input"]).summary


def test_the_real_adapter_gets_bedrocks_refusal_through_the_api(monkeypatch) -> None:
    # Given local mode's Bedrock behind moto, and the pipeline's real Converse adapter
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    with mock_aws():
        moto_patches.install(
            lambda_runner=lambda *_: None, processing_runner=dict, scale=0.01, bedrock=BEDROCK
        )
        try:
            client = BedrockModelClient(
                boto3.client("bedrock-runtime", region_name="us-east-1"), provider="local"
            )
            ok = client.converse(
                ModelRequest(model_id=MODEL, system="s", content=[TextBlock(text="hello there")])
            )
            # When it sends an image past Converse's 8000 px limit
            with pytest.raises(ClientError) as refused:
                client.converse(
                    ModelRequest(
                        model_id=MODEL,
                        system="s",
                        content=[
                            TextBlock(text="t"),
                            ImageBlock(format="png", data=_png((9000, 9))),
                        ],
                    )
                )
        finally:
            moto_patches.uninstall()

    # Then the answer within limits is labelled local; the other is a ValidationException
    assert ok.provider == "local"
    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_the_real_adapter_gets_the_answer_tools_input_through_the_api(monkeypatch) -> None:
    # Given local mode's Bedrock behind moto, and a structured request from the real adapter
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    request = ModelRequest(
        model_id=MODEL,
        system="s",
        content=[TextBlock(text="Describe."), ImageBlock(format="png", data=_png((90, 30)))],
        **answer_shape(VisionAnalysis),
    )
    with mock_aws():
        moto_patches.install(
            lambda_runner=lambda *_: None, processing_runner=dict, scale=0.01, bedrock=BEDROCK
        )
        try:
            client = BedrockModelClient(
                boto3.client("bedrock-runtime", region_name="us-east-1"), provider="local"
            )
            # When it is sent through the Converse API
            reply = client.converse(request)
        finally:
            moto_patches.uninstall()

    # Then the answer arrives as the forced tool's input, and validates
    assert (reply.answer_via, reply.stop_reason) == ("tool", "tool_use")
    assert reply.tool_use is not None
    assert "90x30" in VisionAnalysis.model_validate(reply.tool_use.input).summary
