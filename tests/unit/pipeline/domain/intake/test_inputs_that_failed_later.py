"""Inputs that used to pass intake and fail later in the pipeline (or crash it): each is now
quarantined with its own reason code, or, where the pipeline can cope, accepted and routed so
that it does. Built at test time from small valid files (see samples.py); the damaged and
lying files themselves are in test_hostile_inputs.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import pytest

from mmpipe.local.api_requests import RequestRejected
from mmpipe.local.faults import Faults
from mmpipe.local.standins.transcribe import LocalTranscribe
from pipeline.adapters.speech import (
    TRANSCRIBE_FORMATS,
    TRANSCRIBE_MAX_VOCABULARY_BYTES,
    TRANSCRIBE_SAMPLE_RATES_HZ,
)
from pipeline.domain.audio_extraction import extract_audio, transcribe_takes
from pipeline.domain.media_preparation import MAX_MODEL_DOCUMENT_BYTES
from pipeline.domain.structured_output import extract_json
from pipeline.domain.text_tools import readable_text
from pipeline.domain.transcription import clean_phrases, vocabulary_bytes
from pipeline_contracts.item import PlanSummary, RejectionCode
from tests.unit.pipeline.domain.intake.samples import (
    TEXTS,
    config_with,
    minimal_pdf,
    wav_bytes,
)

ASL = Path(__file__).resolve().parents[5] / "statemachines" / "pipeline.asl.json"


class TestSampleRates:
    def test_audio_below_8_khz_is_refused(self, plan_object):
        # Given a WAV sampled at 4 kHz (Transcribe takes 8 to 48 kHz)
        plan = plan_object("incoming/old-phone.wav", wav_bytes(0.3, 4_000))
        # Then it is quarantined with its own code, naming the rate
        assert plan.rejection is not None
        assert plan.rejection.code is RejectionCode.UNSUPPORTED_SAMPLE_RATE
        assert "4,000 Hz" in plan.rejection.message

    def test_audio_above_48_khz_is_routed_through_extraction(self, plan_object):
        # Given a WAV sampled at 96 kHz
        plan = plan_object("incoming/studio.wav", wav_bytes(0.2, 96_000))
        # Then it is accepted, transcribed, and its rate travels with its task
        assert plan.accepted, plan.rejection
        (asset,) = plan.branches.audio
        assert asset.sample_rate_hz == 96_000
        assert any("resampled to 48 kHz" in warning for warning in asset.warnings)
        assert PlanSummary.of(plan).branches.audio[0].sample_rate_hz == 96_000
        # And Transcribe would not take it as it is, so extraction resamples it
        assert not transcribe_takes(asset.media_format, asset.sample_rate_hz)

    def test_a_video_with_audio_below_8_khz_keeps_its_pictures(self, plan_object, hostile_media):
        # Given a video whose audio track is sampled at 4 kHz
        plan = plan_object("incoming/lo.mov", hostile_media["mov_4k_audio"])
        # Then the video is analysed, but its audio is not sent to Transcribe
        assert plan.accepted, plan.rejection
        assert plan.assets[0].modality == "video"
        assert plan.branches.audio == []
        assert any("not transcribed" in warning for warning in plan.assets[0].warnings)

    @pytest.mark.parametrize(("key", "suffix"), [("flac_96k", "hi.flac"), ("m4a_96k", "hi.m4a")])
    def test_extraction_resamples_to_48_khz(self, tmp_path, hostile_media, key, suffix):
        # Given 96 kHz audio in containers Transcribe takes (and codecs it would copy)
        source = tmp_path / suffix
        source.write_bytes(hostile_media[key])
        # When its audio is extracted for Transcribe
        extracted = extract_audio(source, tmp_path)
        # Then it is re-encoded at 48 kHz, not copied at 96 kHz
        assert not extracted.remuxed
        with av.open(str(extracted.path)) as container:
            assert container.streams.audio[0].codec_context.sample_rate == 48_000

    def test_the_state_machine_routes_as_extraction_decides(self):
        # Given the audio Map's choice in the definition that deploys
        choice = _state(json.loads(ASL.read_text()), "Does Transcribe take this container?")
        rate_rule, format_rule = choice["Choices"]
        # Then it extracts above Transcribe's highest rate, and passes its formats as they are
        bound = next(r["NumericGreaterThan"] for r in rate_rule["And"] if "NumericGreaterThan" in r)
        assert bound == TRANSCRIBE_SAMPLE_RATES_HZ[1]
        assert rate_rule["Next"] == choice["Default"] == "Extract audio track"
        assert {r["StringEquals"] for r in format_rule["Or"]} == TRANSCRIBE_FORMATS


def _state(definition: dict[str, Any], name: str) -> dict[str, Any]:
    """A state by name, anywhere in the definition (Parallel branches, Map processors)."""
    states = definition.get("States", {})
    if name in states:
        return dict(states[name])
    for state in states.values():
        nested = [*state.get("Branches", []), state.get("ItemProcessor") or {}]
        for inner in nested:
            if inner:
                try:
                    return _state(inner, name)
                except KeyError:
                    continue
    raise KeyError(name)


class TestNoContent:
    @pytest.mark.parametrize(
        ("name", "body"),
        [
            ("page.html", b"<html><body><script>x</script></body></html>"),
            (
                "styled.html",
                b"<!DOCTYPE html><html><head><style>p{}</style></head>"
                b"<body><!-- nothing --></body></html>",
            ),
            ("blank.txt", b" \n\t\r\n   \n"),
            ("invisible.txt", "\u200b\u200c\u200d\u2060\ufeff\u00a0\n".encode()),
            ("controls.txt", b"\x1b\x07\x0b\n"),
            ("silent.vtt", b"WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n<c></c>\n"),
        ],
    )
    def test_text_nobody_would_see_is_refused(self, plan_object, name, body):
        # Given text whose visible content (what the model would read) is nothing
        plan = plan_object(f"incoming/{name}", body)
        # Then it is quarantined as having no content, not left to fail in preparation
        assert plan.rejection is not None
        assert plan.rejection.code is RejectionCode.NO_CONTENT, plan.rejection.message


class TestHugeJsonNumbers:
    @pytest.mark.parametrize(
        "body", [b'{"n": 1e400}', b'{"n": ' + b"7" * 5000 + b"}"], ids=["1e400", "5000-digits"]
    )
    def test_json_with_huge_numbers_is_text_read_as_written(self, plan_object, body):
        # Given JSON with a float past 1.8e308, or an integer past Python's 4,300 digits
        # When the gate plans it and preparation reads it
        plan = plan_object("incoming/numbers.json", body)
        text, warnings = readable_text(body, "json")
        # Then it is accepted as text, and read as written: no crash, no "Infinity"
        assert plan.accepted, plan.rejection
        assert plan.assets[0].modality == "text"
        assert text == body.decode()
        assert warnings == ["the JSON holds numbers too large to re-format; it was read as written"]

    def test_a_model_reply_echoing_a_huge_integer_is_no_object_not_a_crash(self):
        # Given a model reply that repeats the 5000-digit integer it was shown
        reply = '{"summary": "numbers", "n": ' + "7" * 5000 + "}"
        # Then no JSON object is found in it (the answer is refused as malformed, no crash)
        assert extract_json(reply) is None


class TestDocumentsForTheModel:
    def test_a_pdf_over_the_model_limit_is_too_large(self, plan_object):
        # Given a PDF over Bedrock Converse's 4.5 MB a document (preparation does not split)
        pdf = minimal_pdf()
        body = pdf[:9] + b"%" + b"x" * MAX_MODEL_DOCUMENT_BYTES + b"\n" + pdf[9:]
        # When the gate plans it
        plan = plan_object("incoming/big.pdf", body)
        # Then it is too large, naming the model's limit
        assert plan.rejection is not None
        assert plan.rejection.code is RejectionCode.TOO_LARGE
        assert "4.5 MB" in plan.rejection.message

    def test_in_a_bundle_it_is_kept_to_fail_alone_so_the_others_still_run(self, bundle, images):
        # Given a bundle of an image and a PDF over the model's limit
        pdf = minimal_pdf()
        body = pdf[:9] + b"%" + b"x" * MAX_MODEL_DOCUMENT_BYTES + b"\n" + pdf[9:]
        plan = bundle(
            {"photo.png": images["png"], "spec.pdf": body},
            {"version": 1, "assets": [{"path": "photo.png"}, {"path": "spec.pdf"}]},
        )
        # Then the bundle is accepted: the PDF carries the reason it will fail in its own
        # Map iteration, and the image is analysed all the same
        assert plan.accepted
        spec = next(a for a in plan.assets if a.path == "spec.pdf")
        assert any("4.5 MB" in warning for warning in spec.warnings)
        assert {a.path for a in plan.branches.vision} == {"photo.png", "spec.pdf"}

    def test_a_bundle_with_nothing_else_to_read_is_refused_for_it(self, bundle):
        # Given a bundle whose one analysable asset is a PDF over the model's limit
        pdf = minimal_pdf()
        body = pdf[:9] + b"%" + b"x" * MAX_MODEL_DOCUMENT_BYTES + b"\n" + pdf[9:]
        plan = bundle({"spec.pdf": body}, {"version": 1, "assets": [{"path": "spec.pdf"}]})
        # Then it is refused as the object would be: nothing in it would be understood
        assert plan.rejection is not None
        assert plan.rejection.code is RejectionCode.TOO_LARGE
        assert plan.rejection.asset_path == "spec.pdf"

    def test_a_pdf_within_the_model_limit_passes(self, plan_object):
        pdf = minimal_pdf()
        body = pdf[:9] + b"%" + b"x" * (MAX_MODEL_DOCUMENT_BYTES - len(pdf) - 2) + b"\n" + pdf[9:]
        assert len(body) == MAX_MODEL_DOCUMENT_BYTES
        assert plan_object("incoming/fits.pdf", body).accepted


class TestWhatABundleCarries:
    def test_a_vocabulary_over_transcribes_limit_is_refused(self, bundle, images):
        # Given 1,000 distinct phrases of about 60 characters (over 50 KB)
        phrases = [
            f"Product {n:04d} with a long qualifier and another one too" for n in range(1000)
        ]
        assert vocabulary_bytes(phrases) > TRANSCRIBE_MAX_VOCABULARY_BYTES
        manifest = {"version": 1, "assets": [{"path": "p.jpg"}], "vocabulary": phrases}
        # When the gate reads the manifest
        plan = bundle({"p.jpg": images["jpeg"]}, manifest)
        # Then the bundle is refused before any asset is read
        assert plan.rejection is not None
        assert plan.rejection.code is RejectionCode.VOCABULARY_TOO_LARGE
        assert plan.rejection.asset_path == "manifest.json"

    def test_the_vocabulary_is_measured_as_it_is_submitted(self, bundle, images):
        # Given one 200-character phrase listed 1,000 times (200 KB raw, one phrase cleaned)
        phrase = "Gore-Tex " * 22
        manifest = {
            "version": 1,
            "assets": [{"path": "p.jpg"}],
            "vocabulary": [phrase] * 1000,
            "language": "en-US",
        }
        # Then the bundle passes: Transcribe gets the cleaned, de-duplicated list
        assert bundle({"p.jpg": images["jpeg"]}, manifest).accepted
        assert vocabulary_bytes([phrase] * 1000) == len(phrase.strip())

    def test_intake_measures_the_vocabulary_as_the_transcribe_stand_in_does(self):
        # Given vocabularies just within and just over 50 KB by intake's measure
        standin = LocalTranscribe(recognizer=None, faults=Faults())  # type: ignore[arg-type]
        within = [f"term{n:05d}" for n in range(TRANSCRIBE_MAX_VOCABULARY_BYTES // 10)]
        over = [*within, "one more phrase"]
        assert vocabulary_bytes(within) <= TRANSCRIBE_MAX_VOCABULARY_BYTES < vocabulary_bytes(over)
        # Then the stand-in takes the first as submitted, and refuses the second
        request = {"VocabularyName": "v", "LanguageCode": "en-US"}
        standin.check_vocabulary({**request, "Phrases": clean_phrases(within)})
        with pytest.raises(RequestRejected, match="50 KB"):
            standin.check_vocabulary({**request, "Phrases": clean_phrases(over)})

    def test_asset_paths_over_the_byte_budget_are_refused(self, bundle):
        # Given 40 assets with 500-character paths of two-byte letters (40 KB of paths)
        assets = [{"path": f"{n:02d}" + "é" * 498 + ".jpg"} for n in range(40)]
        # When the gate reads the manifest
        plan = bundle({}, {"version": 1, "assets": assets})
        # Then the bundle is refused with its own code, before any asset is looked for
        assert plan.rejection is not None
        assert plan.rejection.code is RejectionCode.PATHS_TOO_LONG
        assert "32,768" in plan.rejection.message

    def test_the_path_budget_is_the_configured_one(self, bundle, images):
        # Given paths (and a syncs_with) that add up to 30 bytes, and a budget of 29
        manifest = {
            "version": 1,
            "assets": [{"path": "video.jpg"}, {"path": "captions.vtt", "syncs_with": "video.jpg"}],
        }
        files = {"video.jpg": images["jpeg"], "captions.vtt": TEXTS["webvtt"]}
        # Then it is refused under that budget, and accepted under the default
        strict = bundle(files, manifest, cfg=config_with(max_bundle_path_bytes=29))
        assert strict.rejection is not None
        assert strict.rejection.code is RejectionCode.PATHS_TOO_LONG
        assert bundle(files, manifest).accepted
