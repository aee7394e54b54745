"""Transcribe output in, Transcript and gate verdicts out."""

from __future__ import annotations

import pytest

from pipeline.adapters.speech import JobState, TranscriptionJobSpec
from pipeline.config import Thresholds
from pipeline.domain.transcription import callback_output, clean_phrases, job_spec
from pipeline.domain.transcripts import normalise_transcript, transcript_gates
from pipeline.errors import AssetNotInPlan, TranscriptionFailed, VocabularyPending
from pipeline_contracts.item import Asset, BranchPlan, ItemPlan, ObjectRef
from pipeline_contracts.states.transcribe_audio import TranscribeAudioInput, TranscriptionJob
from pipeline_contracts.states.transcribe_each_audio_asset import AudioAssetState
from tests.fakes import plan_fields

ASSET = Asset(
    asset_id="a1-0123456789ab",
    path="talk.wav",
    source=ObjectRef(bucket="in", key="incoming/talk.wav", version_id="v1"),
    modality="audio",
    media_format="wav",
    mime_type="audio/x-wav",
    size_bytes=1000,
    duration_s=10.0,
    has_audio=True,
)


def _item(start, end, word, confidence, speaker="spk_0"):
    return {
        "type": "pronunciation",
        "start_time": str(start),
        "end_time": str(end),
        "speaker_label": speaker,
        "alternatives": [{"confidence": str(confidence), "content": word}],
    }


TRANSCRIBE_JSON = {
    "jobName": "mmp-x",
    "results": {
        "language_code": "en-US",
        "language_identification": [{"code": "en-US", "score": "0.97"}],
        "transcripts": [{"transcript": "Hello world. Second speaker here."}],
        "items": [
            _item(0.5, 0.9, "Hello", 0.99),
            _item(0.9, 1.4, "world", 0.95),
            {"type": "punctuation", "alternatives": [{"confidence": "0.0", "content": "."}]},
            _item(3.0, 3.5, "Second", 0.9, "spk_1"),
            _item(3.5, 4.0, "speaker", 0.8, "spk_1"),
            _item(4.0, 4.3, "here", 0.7, "spk_1"),
        ],
    },
}


class FakeSpeech:
    def __init__(self, vocabulary_state: str = "READY") -> None:
        self.vocabulary = vocabulary_state

    def start(self, spec: TranscriptionJobSpec) -> None:
        raise AssertionError("not used")

    def state(self, job_name: str) -> JobState:
        raise AssertionError("not used")

    def vocabulary_state(self, name: str, language_code: str, phrases: list[str]) -> str:
        return self.vocabulary


ITERATION = AudioAssetState(
    asset_id=ASSET.asset_id,
    media_format="wav",
    sample_rate_hz=16_000,
    item_id="talk-wav-1",
    plan_uri="s3://processed/work/talk-wav-1/plan.json",
    work_prefix="work/talk-wav-1/",
    transcribe_timeout_s=900,
)
REQUEST = TranscribeAudioInput(task_token="t", asset=ITERATION)


def _plan(language=None, vocabulary=None) -> ItemPlan:
    """The plan the request's asset is read from: the language and vocabulary are in it."""
    return ItemPlan(
        item_id="talk-wav-1",
        kind="object",
        source=ASSET.source,
        accepted=True,
        language=language,
        vocabulary=vocabulary,
        assets=[ASSET],
        branches=BranchPlan(audio=[ASSET]),
        **plan_fields("talk-wav-1"),
    )


def test_words_segments_speakers_and_scores_come_from_transcribe_output():
    transcript = normalise_transcript(TRANSCRIBE_JSON, ASSET, "mmp-x", "aws", {})
    assert [w.text for w in transcript.words] == ["Hello", "world", "Second", "speaker", "here"]
    assert transcript.speakers == ["spk_0", "spk_1"]
    assert [s.speaker for s in transcript.segments] == ["spk_0", "spk_1"]
    assert transcript.language == "en-US"
    assert transcript.language_confidence == 0.97
    assert transcript.mean_confidence == pytest.approx(0.868)
    assert transcript.speech_coverage == pytest.approx(0.22)


def test_gates_pass_good_speech_and_flag_silence():
    thresholds = Thresholds()
    good = normalise_transcript(TRANSCRIBE_JSON, ASSET, "mmp-x", "aws", {})
    assert all(g.passed for g in transcript_gates(good, thresholds, "en-US"))
    silent = normalise_transcript(
        {"results": {"items": [], "transcripts": []}}, ASSET, "mmp-x", "aws", {}
    )
    gates = {g.name: g for g in transcript_gates(silent, thresholds, None)}
    assert not gates["transcript-confidence"].passed
    assert gates["transcript-confidence"].reason == "no speech was recognised"
    assert not gates["transcript-coverage"].passed


def test_a_language_other_than_the_manifests_fails_the_language_gate():
    transcript = normalise_transcript(TRANSCRIBE_JSON, ASSET, "mmp-x", "aws", {})
    (language,) = [
        g
        for g in transcript_gates(transcript, Thresholds(), "de-DE")
        if g.name == "transcript-language"
    ]
    assert not language.passed
    assert language.reason == "expected de-DE, detected en-US"


def test_job_spec_identifies_language_unless_one_is_given():
    auto = job_spec(REQUEST, _plan(), "processed", FakeSpeech())
    given = job_spec(REQUEST, _plan(language="fr-FR"), "processed", FakeSpeech())
    assert auto.language_code is None
    assert given.language_code == "fr-FR"
    assert auto.output_key == f"work/talk-wav-1/job/transcripts/{auto.job_name}.json"
    assert auto.job_name.startswith("mmp-")
    assert auto.media_uri == "s3://in/incoming/talk.wav"


def test_vocabulary_being_built_is_a_retryable_pending_error():
    # Given a plan with a language and a vocabulary (the state carries neither)
    plan = _plan(language="en-US", vocabulary=["Kubernetes"])
    # When the vocabulary is still being built, Then the start is retried later
    with pytest.raises(VocabularyPending):
        job_spec(REQUEST, plan, "p", FakeSpeech("PENDING"))
    # And once it is ready the job uses it; a failed vocabulary does not block the job
    ready = job_spec(REQUEST, plan, "p", FakeSpeech())
    failed = job_spec(REQUEST, plan, "p", FakeSpeech("FAILED"))
    assert ready.vocabulary_name is not None
    assert ready.vocabulary_name.startswith("mmp-")
    assert failed.vocabulary_name is None


def test_an_asset_the_plan_does_not_list_is_a_typed_error():
    # Given a request naming an asset the plan does not have
    stray = REQUEST.model_copy(
        update={"asset": ITERATION.model_copy(update={"asset_id": "a1-000000000000"})}
    )
    # When the job is specified, Then the iteration fails with the error's class name
    with pytest.raises(AssetNotInPlan, match="a1-000000000000"):
        job_spec(stray, _plan(), "p", FakeSpeech())


def test_vocabulary_phrases_are_cleaned_for_transcribe():
    assert clean_phrases(["  C++ ", "Dr. Who", "Dr.   Who", "", "<script>"]) == [
        "C",
        "Dr. Who",
        "script",
    ]


def test_a_failed_job_raises_the_typed_error_the_state_machine_catches():
    with pytest.raises(TranscriptionFailed, match="Unsupported media"):
        callback_output(JobState(job_name="j", status="FAILED", failure_reason="Unsupported media"))
    done = callback_output(JobState(job_name="j", status="COMPLETED", transcript_uri="u"))
    assert done == TranscriptionJob(job_name="j", status="COMPLETED", transcript_uri="u")
