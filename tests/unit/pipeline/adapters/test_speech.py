"""The Transcribe adapter builds job and vocabulary requests Transcribe accepts (botocore's
Stubber checks each against the API model, with no network) and reads its answers."""

from __future__ import annotations

import pytest
from botocore.stub import ANY, Stubber

from mmpipe.local.api_requests import contract_problems
from pipeline.adapters.speech import JobAlreadyExists, TranscribeJobs, TranscriptionJobSpec
from tests.unit.pipeline.adapters.stubbed import stubbed_client


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
        client = stubbed_client("transcribe")
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
        client = stubbed_client("transcribe")
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
        client = stubbed_client("transcribe")
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
        client = stubbed_client("transcribe")
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
        client = stubbed_client("transcribe")
        with Stubber(client) as stub:
            stub.add_client_error("get_vocabulary", "BadRequestException")
            stub.add_client_error("create_vocabulary", "ConflictException")
            # When this one asks, Then it waits for the vocabulary like the first
            assert (
                TranscribeJobs(client).vocabulary_state("mmp-v", "en-US", ["Gore-Tex"]) == "PENDING"
            )

    def test_limits_the_client_leaves_to_the_service_are_refused_locally(self) -> None:
        # Given the adapter's request for a job name with a space and 40 speakers
        client, sent = stubbed_client("transcribe"), []
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
