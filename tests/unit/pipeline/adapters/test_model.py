"""The Bedrock adapter builds Converse requests Bedrock accepts (botocore's Stubber checks
each against the API model, with no network) and reads its replies."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from pipeline.adapters.model import (
    BedrockModelClient,
    DocumentBlock,
    ImageBlock,
    ModelRequest,
    TextBlock,
    VideoBlock,
)
from pipeline.config import PipelineConfig
from pipeline.domain.structured_output import answer_shape
from pipeline.errors import AccessDenied, ServiceThrottled
from pipeline_contracts.work.vision import VisionAnalysis
from tests.unit.pipeline.adapters.stubbed import stubbed_client


class TestBedrockModelClient:
    def test_converse_request_with_every_block_kind_is_valid(self) -> None:
        # Given a request with text, an image, a document and a video in S3
        client = stubbed_client("bedrock-runtime")
        request = ModelRequest(
            model_id="us.amazon.nova-lite-v1:0",
            system="Answer in JSON.",
            content=[
                TextBlock(text="Describe."),
                ImageBlock(format="png", data=b"\x89PNG"),
                DocumentBlock(format="txt", name="notes (1)", data=b"hello"),
                VideoBlock(format="mp4", s3_uri="s3://b/v.mp4"),
            ],
            max_tokens=512,
        )
        with Stubber(client) as stub:
            stub.add_response(
                "converse",
                {
                    "output": {"message": {"role": "assistant", "content": [{"text": "{}"}]}},
                    "stopReason": "end_turn",
                    "usage": {"inputTokens": 10, "outputTokens": 2, "totalTokens": 12},
                    "metrics": {"latencyMs": 5},
                },
                expected_params={
                    "modelId": "us.amazon.nova-lite-v1:0",
                    "system": [{"text": "Answer in JSON."}],
                    "messages": [{"role": "user", "content": ANY}],
                    "inferenceConfig": {"maxTokens": 512, "temperature": 0.0},
                },
            )

            # When the adapter sends it
            reply = BedrockModelClient(client).converse(request)

        # Then the service model accepted it, and the reply carries text and token usage
        assert (reply.text, reply.input_tokens, reply.output_tokens) == ("{}", 10, 2)
        assert reply.provider == "aws"

    def test_throttling_and_access_denied_become_the_typed_errors(self) -> None:
        client = stubbed_client("bedrock-runtime")
        request = ModelRequest(
            model_id="amazon.nova-lite-v1:0", system="s", content=[TextBlock(text="t")]
        )
        with Stubber(client) as stub:
            stub.add_client_error("converse", "ThrottlingException", http_status_code=429)
            stub.add_client_error(
                "converse",
                "AccessDeniedException",
                "User: r is not authorized to perform: bedrock:InvokeModel",
                http_status_code=403,
            )
            with pytest.raises(ServiceThrottled):
                BedrockModelClient(client).converse(request)
            with pytest.raises(AccessDenied, match="bedrock:InvokeModel"):
                BedrockModelClient(client).converse(request)

    def test_a_structured_request_forces_the_answer_tool_and_reads_its_input(self) -> None:
        # Given a request for a VisionAnalysis answer from the default (Nova) model
        client = stubbed_client("bedrock-runtime")
        schema = VisionAnalysis.model_json_schema()
        request = ModelRequest(
            model_id=PipelineConfig().models.image,
            system="s",
            content=[TextBlock(text="Describe.")],
            response_model="VisionAnalysis",
            response_schema=schema,
        )
        answer = {"summary": "A blue mug.", "tags": ["mug"]}
        with Stubber(client) as stub:
            stub.add_response(
                "converse",
                {
                    "output": {
                        "message": {
                            "role": "assistant",
                            "content": [
                                {
                                    "toolUse": {
                                        "toolUseId": "tooluse_1",
                                        "name": "record_VisionAnalysis",
                                        "input": answer,
                                    }
                                }
                            ],
                        }
                    },
                    "stopReason": "tool_use",
                    "usage": {"inputTokens": 10, "outputTokens": 8, "totalTokens": 18},
                    "metrics": {"latencyMs": 5},
                },
                expected_params={
                    "modelId": PipelineConfig().models.image,
                    "system": ANY,
                    "messages": ANY,
                    "inferenceConfig": ANY,
                    # Then the one tool carries the model's JSON Schema, and is forced
                    "toolConfig": {
                        "tools": [
                            {
                                "toolSpec": {
                                    "name": "record_VisionAnalysis",
                                    "description": ANY,
                                    "inputSchema": {"json": schema},
                                }
                            }
                        ],
                        "toolChoice": {"tool": {"name": "record_VisionAnalysis"}},
                    },
                },
            )

            # When the adapter sends it
            reply = BedrockModelClient(client).converse(request)

        # Then the answer is the toolUse block's input, marked as asked through the tool
        assert reply.tool_use is not None
        assert (reply.tool_use.name, reply.tool_use.input) == ("record_VisionAnalysis", answer)
        assert (reply.answer_via, reply.stop_reason, reply.text) == ("tool", "tool_use", "")

    @pytest.mark.parametrize(
        ("model_id", "mode"),
        [
            ("us.amazon.nova-lite-v1:0", "tool"),
            ("amazon.nova-pro-v1:0", "tool"),
            ("anthropic.claude-3-haiku-20240307-v1:0", "tool"),
            ("us.anthropic.claude-sonnet-4-20250514-v1:0", "tool"),
            ("anthropic.claude-v2:1", "text"),
            ("mistral.mistral-large-2407-v1:0", "any"),
            ("meta.llama3-70b-instruct-v1:0", "text"),
            ("arn:aws:bedrock:us-east-1:1:application-inference-profile/abc123", "text"),
        ],
    )
    def test_models_without_forced_tool_choice_fall_back(self, model_id: str, mode: str) -> None:
        # Given a structured request for a model of each kind
        client = stubbed_client("bedrock-runtime")
        request = ModelRequest(
            model_id=model_id,
            system="s",
            content=[TextBlock(text="t")],
            **answer_shape(VisionAnalysis),
        )
        sent: list[dict[str, Any]] = []
        client.meta.events.register(
            "provide-client-params.bedrock-runtime.Converse",
            lambda params, **_: sent.append(params),
        )
        with Stubber(client) as stub:
            stub.add_response(
                "converse",
                {
                    "output": {"message": {"role": "assistant", "content": [{"text": "{}"}]}},
                    "stopReason": "end_turn",
                    "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
                    "metrics": {"latencyMs": 1},
                },
            )
            # When the adapter sends it
            reply = BedrockModelClient(client).converse(request)

        # Then the tool is forced, any tool is required (the only one), or no tool is sent
        choice = sent[0].get("toolConfig", {}).get("toolChoice")
        expected = {
            "tool": {"tool": {"name": "record_VisionAnalysis"}},
            "any": {"any": {}},
            "text": None,
        }[mode]
        assert choice == expected
        assert reply.answer_via == mode
