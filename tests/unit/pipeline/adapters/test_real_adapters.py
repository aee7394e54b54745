"""The real adapters build requests the services accept: botocore's Stubber checks every
request against the service's own API model (names, types, required members), with no
network, and answers with a reply in the service's shape."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from mmpipe.local.api_requests import contract_problems
from pipeline.adapters.model import (
    BedrockModelClient,
    DocumentBlock,
    ImageBlock,
    ModelRequest,
    TextBlock,
    VideoBlock,
)
from pipeline.adapters.speech import JobAlreadyExists, TranscribeJobs, TranscriptionJobSpec
from pipeline.adapters.storage import ObjectMissing, S3ObjectStore
from pipeline.adapters.task_tokens import TaskTokens
from pipeline.config import PipelineConfig
from pipeline.domain.structured_output import answer_shape
from pipeline.errors import AccessDenied, ServiceThrottled
from pipeline_contracts.item import ObjectRef
from pipeline_contracts.states.transcribe_audio import TranscriptionJob
from pipeline_contracts.work.vision import VisionAnalysis


def _client(service: str) -> Any:
    return boto3.client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


class TestBedrockModelClient:
    def test_converse_request_with_every_block_kind_is_valid(self) -> None:
        # Given a request with text, an image, a document and a video in S3
        client = _client("bedrock-runtime")
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
        client = _client("bedrock-runtime")
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
        client = _client("bedrock-runtime")
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
        client = _client("bedrock-runtime")
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


class TestTranscribeJobs:
    spec = TranscriptionJobSpec(
        job_name="mmp-item-a1",
        media_uri="s3://ingest/incoming/talk.mp3",
        media_format="mp3",
        output_bucket="processed",
        output_key="work/item/transcripts/mmp-item-a1.json",
        language_code="en-US",
        vocabulary_name="mmp-vocab",
        item_id="item",
    )

    def test_start_request_is_valid_and_names_the_output(self) -> None:
        client = _client("transcribe")
        with Stubber(client) as stub:
            stub.add_response(
                "start_transcription_job",
                {
                    "TranscriptionJob": {
                        "TranscriptionJobName": "mmp-item-a1",
                        "TranscriptionJobStatus": "QUEUED",
                    }
                },
                expected_params={
                    "TranscriptionJobName": "mmp-item-a1",
                    "Media": {"MediaFileUri": "s3://ingest/incoming/talk.mp3"},
                    "MediaFormat": "mp3",
                    "LanguageCode": "en-US",
                    "OutputBucketName": "processed",
                    "OutputKey": "work/item/transcripts/mmp-item-a1.json",
                    "Settings": {
                        "ShowSpeakerLabels": True,
                        "MaxSpeakerLabels": 10,
                        "VocabularyName": "mmp-vocab",
                    },
                    "Subtitles": {"Formats": ["vtt", "srt"], "OutputStartIndex": 1},
                    "Tags": [{"Key": "multimodal-pipeline:item-id", "Value": "item"}],
                },
            )
            TranscribeJobs(client).start(self.spec)

    def test_without_a_language_it_asks_for_identification(self) -> None:
        client = _client("transcribe")
        spec = self.spec.model_copy(update={"language_code": None, "media_format": "mov"})
        with Stubber(client) as stub:
            stub.add_response(
                "start_transcription_job",
                {},
                expected_params={
                    "TranscriptionJobName": ANY,
                    "Media": ANY,
                    "OutputBucketName": ANY,
                    "OutputKey": ANY,
                    "Settings": ANY,
                    "Subtitles": ANY,
                    "Tags": ANY,
                    "IdentifyLanguage": True,
                },
            )
            TranscribeJobs(client).start(spec)

    def test_a_duplicate_start_and_a_finished_job(self) -> None:
        client = _client("transcribe")
        with Stubber(client) as stub:
            stub.add_client_error("start_transcription_job", "ConflictException")
            stub.add_response(
                "get_transcription_job",
                {
                    "TranscriptionJob": {
                        "TranscriptionJobName": "mmp-item-a1",
                        "TranscriptionJobStatus": "FAILED",
                        "FailureReason": "Unsupported media format",
                    }
                },
                expected_params={"TranscriptionJobName": "mmp-item-a1"},
            )
            jobs = TranscribeJobs(client)
            with pytest.raises(JobAlreadyExists):
                jobs.start(self.spec)
            state = jobs.state("mmp-item-a1")
        assert (state.status, state.failure_reason) == ("FAILED", "Unsupported media format")

    def test_a_missing_vocabulary_is_created(self) -> None:
        client = _client("transcribe")
        with Stubber(client) as stub:
            stub.add_client_error("get_vocabulary", "BadRequestException")
            stub.add_response(
                "create_vocabulary",
                {"VocabularyState": "PENDING"},
                expected_params={
                    "VocabularyName": "mmp-v",
                    "LanguageCode": "en-US",
                    "Phrases": ["Gore-Tex"],
                },
            )
            assert (
                TranscribeJobs(client).vocabulary_state("mmp-v", "en-US", ["Gore-Tex"]) == "PENDING"
            )

    def test_a_vocabulary_another_asset_just_created_is_pending_not_an_error(self) -> None:
        # Given two audio assets of one item starting at once: the other created it first
        client = _client("transcribe")
        with Stubber(client) as stub:
            stub.add_client_error("get_vocabulary", "BadRequestException")
            stub.add_client_error("create_vocabulary", "ConflictException")
            # When this one asks, Then it waits for the vocabulary like the first
            assert (
                TranscribeJobs(client).vocabulary_state("mmp-v", "en-US", ["Gore-Tex"]) == "PENDING"
            )

    def test_limits_the_client_leaves_to_the_service_are_refused_locally(self) -> None:
        # Given the adapter's request for a job name with a space and 40 speakers
        client, sent = _client("transcribe"), []
        client.meta.events.register(
            "provide-client-params.transcribe.StartTranscriptionJob",
            lambda params, **_: sent.append(params),
        )
        spec = self.spec.model_copy(update={"job_name": "mmp item", "max_speakers": 40})
        with Stubber(client) as stub:
            stub.add_response("start_transcription_job", {})
            TranscribeJobs(client).start(spec)  # botocore checks neither pattern nor maximum

        # Then the service's contract, as local mode checks it, refuses both
        problems = contract_problems("transcribe", "StartTranscriptionJob", sent[0])
        assert any("TranscriptionJobName" in p and "pattern" in p for p in problems)
        assert any("MaxSpeakerLabels" in p and "less than or equal to 30" in p for p in problems)


class TestS3ObjectStore:
    ref = ObjectRef(bucket="ingest", key="incoming/a.png", version_id="v1")

    def test_reads_name_the_version_and_a_range(self) -> None:
        client = _client("s3")
        with Stubber(client) as stub:
            stub.add_response(
                "head_object",
                {"ContentLength": 7},
                {"Bucket": "ingest", "Key": "incoming/a.png", "VersionId": "v1"},
            )
            stub.add_client_error("get_object", "NoSuchKey", http_status_code=404)
            store = S3ObjectStore(client)
            assert store.size(self.ref) == 7
            with pytest.raises(ObjectMissing):
                store.read_bytes(self.ref, max_bytes=10)

    def test_a_refused_head_is_access_denied_not_a_missing_object(self) -> None:
        # HEAD answers carry no body: botocore reports the bare status code, "403".
        client = _client("s3")
        with Stubber(client) as stub:
            stub.add_client_error("head_object", "403", http_status_code=403)
            with pytest.raises(AccessDenied):
                S3ObjectStore(client).size(self.ref)

    def test_writes_and_copies(self) -> None:
        client = _client("s3")
        with Stubber(client) as stub:
            stub.add_response(
                "put_object",
                {},
                {
                    "Bucket": "processed",
                    "Key": "work/x.json",
                    "Body": b"{}",
                    "ContentType": "application/json",
                },
            )
            stub.add_response(
                "copy_object",
                {},
                {
                    "CopySource": {"Bucket": "ingest", "Key": "incoming/a.png", "VersionId": "v1"},
                    "Bucket": "processed",
                    "Key": "quarantine/objects/i/a.png",
                },
            )
            store = S3ObjectStore(client)
            assert store.put_bytes("processed", "work/x.json", b"{}", "application/json") == (
                "s3://processed/work/x.json"
            )
            store.copy(self.ref, "processed", "quarantine/objects/i/a.png")


def test_task_token_requests_are_valid() -> None:
    sfn, dynamodb = (
        _client("stepfunctions"),
        boto3.resource(
            "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        ),
    )
    tokens = TaskTokens("tokens", dynamodb=dynamodb, stepfunctions=sfn)
    with Stubber(sfn) as stub:
        job = TranscriptionJob(job_name="j", status="COMPLETED", transcript_uri="s3://p/t.json")
        stub.add_response(
            "send_task_success", {}, {"taskToken": "t", "output": json.dumps(job.model_dump())}
        )
        stub.add_response(
            "send_task_failure", {}, {"taskToken": "t", "error": "AccessDenied", "cause": "why"}
        )
        tokens.resume("t", job)
        tokens.fail("t", "AccessDenied", "why")
