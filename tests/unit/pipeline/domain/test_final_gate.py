"""The final gate: "processed" means each modality of the item was understood."""

from __future__ import annotations

from pipeline.domain.final_gate import final_gate, not_understood
from pipeline_contracts.outcomes import BranchVerdict, GateResult
from pipeline_contracts.work.fusion import FusionDraft, GeneralDetails, GeneralFused

PASSED = GateResult(name="g", passed=True, reason="ok")


def _draft(**statuses: str) -> FusionDraft:
    return FusionDraft(
        item_id="item",
        modalities=[],  # each test names the modalities it judges
        branches=[BranchVerdict(branch=b, status=s) for b, s in statuses.items()],  # type: ignore[arg-type]
        fused=GeneralFused(
            provider="stub",
            model_id="m",
            title="t",
            summary="s",
            details=GeneralDetails(topics=["t"]),
        ),
        fusion_gate=PASSED,
        gates=[PASSED],
    )


def test_an_item_whose_every_modality_was_understood_passes():
    draft = _draft(audio="skipped", vision="succeeded", alignment="succeeded")
    assert not_understood(draft, {"image", "text"}) == []
    assert final_gate(draft, 0.5, {"image", "text"}).passed


def test_audio_whose_transcript_failed_its_gate_is_not_understood():
    # Given speech whose transcript was flagged (all its gates were not passed)
    draft = _draft(audio="flagged", vision="skipped", alignment="succeeded")
    # Then the audio counts as not understood, and the gate says why
    assert not_understood(draft, {"audio"}) == ["audio (audio flagged)"]
    gate = final_gate(draft, 0.5, {"audio"})
    assert not gate.passed
    assert "audio (audio flagged)" in gate.reason


def test_video_is_understood_through_its_pictures_or_its_speech():
    assert not_understood(_draft(audio="failed", vision="succeeded"), {"video"}) == []
    assert not_understood(_draft(audio="succeeded", vision="failed"), {"video"}) == []
    assert not_understood(_draft(audio="failed", vision="failed"), {"video"}) == [
        "video (audio failed, vision failed)"
    ]


def test_captions_count_through_alignment_or_the_model():
    assert not_understood(_draft(vision="skipped", alignment="succeeded"), {"captions"}) == []
    assert not_understood(_draft(vision="succeeded"), {"captions"}) == []
