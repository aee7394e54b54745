"""The Transcribe and SageMaker stand-ins refuse what the services refuse: each request is
checked against the API's own model and the documented limits, and answered with the
service's error (the Bedrock stand-in's limits are in test_bedrock_limits.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, ClassVar

import pytest

from mmpipe.local.api_requests import RequestRejected
from mmpipe.local.faults import Faults
from mmpipe.local.standins.media_probe import MediaRefused, detect_media
from mmpipe.local.standins.recognition import StubRecognizer
from mmpipe.local.standins.sagemaker import CreationRefused, LocalProcessing, stub_job
from mmpipe.local.standins.transcribe import LocalTranscribe


class TestTranscribe:
    service = LocalTranscribe(StubRecognizer(), Faults())
    request: ClassVar[dict[str, Any]] = {
        "TranscriptionJobName": "mmp-item-a1",
        "Media": {"MediaFileUri": "s3://ingest/incoming/talk.wav"},
        "OutputBucketName": "processed",
        "OutputKey": "work/t.json",
    }

    @pytest.mark.parametrize(
        ("change", "says"),
        [
            ({"TranscriptionJobName": "mmp item"}, "regular expression"),
            ({"TranscriptionJobName": "x" * 201}, "less than or equal to 200"),
            ({"MediaFormat": "mov"}, "enum value set"),
            (
                {"Settings": {"ShowSpeakerLabels": True, "MaxSpeakerLabels": 31}},
                "less than or equal to 30",
            ),
        ],
    )
    def test_start_refuses_what_the_api_model_refuses(self, change, says) -> None:
        with pytest.raises(RequestRejected, match=says):
            self.service.check_start({**self.request, **change})

    def test_a_vocabulary_over_50_kb_is_refused(self) -> None:
        phrases = [f"phrase{i:05d} alpha beta gamma" for i in range(2000)]
        with pytest.raises(RequestRejected, match="50 KB") as refused:
            self.service.check_vocabulary(
                {"VocabularyName": "mmp-v", "LanguageCode": "en-US", "Phrases": phrases}
            )
        assert refused.value.error_type == "BadRequestException"

    @pytest.mark.parametrize(
        ("make", "says"),
        [
            (
                [
                    "-f",
                    "lavfi",
                    "-i",
                    "testsrc=duration=1:size=64x48",
                    "-f",
                    "lavfi",
                    "-i",
                    "sine=duration=1",
                    "-c:v",
                    "mpeg4",
                    "-c:a",
                    "aac",
                    "-shortest",
                    "clip.mov",
                ],
                "Unsupported media format",
            ),
            (
                [
                    "-f",
                    "lavfi",
                    "-i",
                    "testsrc=duration=1:size=64x48",
                    "-f",
                    "lavfi",
                    "-i",
                    "sine=duration=1",
                    "-c:v",
                    "mpeg4",
                    "-c:a",
                    "libopus",
                    "-shortest",
                    "clip.mkv",
                ],
                "Unsupported media format",
            ),
            (
                ["-f", "lavfi", "-i", "sine=duration=1:sample_rate=96000", "hi-res.wav"],
                "Invalid sample rate",
            ),
        ],
    )
    def test_media_transcribe_does_not_take_fails_the_job(self, tmp_path, make, says) -> None:
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-y", *make[:-1], str(tmp_path / make[-1])], check=True
        )
        with pytest.raises(MediaRefused, match=says):
            self.service.refuse_unless_transcribable(detect_media(tmp_path / make[-1]), None)

    def test_media_it_takes_passes(self, tmp_path) -> None:
        subprocess.run(
            [
                "ffmpeg",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "sine=duration=1:sample_rate=16000",
                str(tmp_path / "ok.wav"),
            ],
            check=True,
        )
        found = detect_media(tmp_path / "ok.wav")
        self.service.refuse_unless_transcribable(found, wanted="wav")
        with pytest.raises(MediaRefused, match="does not match"):
            self.service.refuse_unless_transcribable(found, wanted="mp3")


def test_a_processing_job_name_sagemaker_refuses() -> None:
    # Given a job name over SageMaker's 63 characters
    processing = LocalProcessing(
        stub_job,
        Faults(),
        identities=None,  # type: ignore[arg-type]
        enforcement=None,
        state_machine_role="",
    )
    request = {
        "ProcessingJobName": "mmp-align-" + "x" * 60,
        "RoleArn": "arn:aws:iam::123456789012:role/job",
        "AppSpecification": {"ImageUri": "image"},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "VolumeSizeInGB": 30,
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }

    # Then creation is refused as Step Functions reports a SageMaker error
    with pytest.raises(CreationRefused, match="less than or equal to 63") as refused:
        processing(request)
    assert refused.value.error == "SageMaker.AmazonSageMakerException"


def test_sample_rates_in_range(tmp_path: Path) -> None:
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=1:sample_rate=8000",
            str(tmp_path / "phone.wav"),
        ],
        check=True,
    )
    assert detect_media(tmp_path / "phone.wav").sample_rate_hz == 8000
