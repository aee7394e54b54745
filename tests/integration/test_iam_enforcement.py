"""The offline run refuses what AWS would refuse: each handler, the state machine and the jobs
act with their synthesized roles. Removing one action a handler really calls changes how
its item ends, with a cause that names the action; the untouched assembly processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmpipe.local.faults import parse_faults
from mmpipe.local.iam.mutations import Grant, grants, without
from mmpipe.local.run.report import RunReport
from mmpipe.local.run.runner import LocalRun
from tests.integration.conftest import outcome_for


def _run(cdk_out: Path, out: Path, paths: list[Path], inject: str | None = None) -> RunReport:
    return LocalRun(cdk_out, out, providers="stub", faults=parse_faults(inject), timeout_s=180).run(
        paths
    )


def _grant(cdk_out: Path, role: str, action: str) -> Grant:
    (found,) = [g for g in grants(cdk_out) if g.role.startswith(role) and g.action == action]
    return found


def _result(outcome) -> dict:
    return json.loads(outcome.record_file.read_text())


def _failed_branches(result: dict) -> dict[str, dict]:
    return {b["branch"]: b["failure"] for b in result["branches"] if b["status"] == "failed"}


def _pdf(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (200, 100), (240, 240, 240)).save(path, format="PDF")
    return path


def test_the_synthesized_assembly_processes_under_its_own_policies(cdk_out, demo, tmp_path):
    # Given the assembly exactly as synthesized, IAM enforced
    # When the demo's speech, poster and lecture bundle, and a PDF, run
    report = _run(
        cdk_out,
        tmp_path,
        [demo / "speech.wav", demo / "poster.png", demo / "lecture", _pdf(tmp_path / "page.pdf")],
    )

    # Then nothing was refused, every request's permissions were known, all processed
    assert report.iam
    assert report.refusals == []
    assert report.unmapped_operations == []
    assert {o.place for o in report.outcomes} == {"processed"}


def test_a_callback_that_may_not_read_the_job_degrades_the_item_naming_the_action(
    cdk_out, demo, tmp_path
):
    # Given the Transcribe callback's role without transcribe:GetTranscriptionJob (the grant
    # that was missing before this check existed)
    broken = without(
        cdk_out,
        tmp_path / "cdk.out",
        _grant(cdk_out, "AudioBranchCallbackRole", "transcribe:GetTranscriptionJob"),
    )

    # When speech runs
    report = _run(broken, tmp_path / "out", [demo / "speech.wav"])

    # Then it ends degraded, not waiting: the audio branch failed with AccessDenied naming it
    speech = outcome_for(report, "speech.wav")
    assert speech.place == "degraded"
    failure = _failed_branches(_result(speech))["audio"]
    assert failure["error"] == "AccessDenied"
    assert "transcribe:GetTranscriptionJob" in failure["cause"]
    assert [r.permission.action for r in report.refusals] == ["transcribe:GetTranscriptionJob"]


def test_without_list_bucket_a_missing_asset_is_a_403_and_the_item_fails(cdk_out, tmp_path):
    # Given a bundle whose manifest names an asset that was never uploaded
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "notes.txt").write_text("Some notes about the item.")
    (bundle / "manifest.json").write_text(
        json.dumps(
            {
                "version": 1,
                "assets": [
                    {"path": "notes.txt", "role": "primary"},
                    {"path": "gone.png", "role": "primary"},
                ],
            }
        )
    )

    # When it runs with the synthesized policies, then without the intake's s3:ListBucket
    fine = _run(cdk_out, tmp_path / "fine", [bundle])
    broken = without(
        cdk_out, tmp_path / "cdk.out", _grant(cdk_out, "IntakeIntakeGateRole", "s3:ListBucket")
    )
    refused = _run(broken, tmp_path / "refused", [bundle])

    # Then S3's 404 quarantines it as MISSING_ASSET; its 403 fails it, naming s3:ListBucket
    assert fine.outcomes[0].place == "quarantined"
    assert _result(fine.outcomes[0])["reason"]["code"] == "MISSING_ASSET"
    assert refused.outcomes[0].place == "failed"
    assert "s3:ListBucket" in {r.permission.action for r in refused.refusals}


def test_an_scp_denying_start_transcription_degrades_only_the_audio_branch(demo, run_local):
    # Given an organization's SCP that denies transcribe:StartTranscriptionJob to every role
    # When the lecture bundle (video with captions) runs
    report = run_local([demo / "lecture"], inject="deny=transcribe:StartTranscriptionJob")

    # Then the audio branch failed with the SCP's access denial; vision and alignment are intact
    lecture = report.outcomes[0]
    assert lecture.place == "degraded"
    result = _result(lecture)
    failed = _failed_branches(result)
    assert set(failed) == {"audio"}
    assert failed["audio"]["error"] == "AccessDenied"
    assert "service control policy" in failed["audio"]["cause"]
    assert "transcribe:StartTranscriptionJob" in failed["audio"]["cause"]
    assert {b["branch"]: b["status"] for b in result["branches"]} == {
        "audio": "failed",
        "vision": "succeeded",
        "alignment": "succeeded",
    }


@pytest.mark.parametrize("role", ["ResultsFusionRole", "VisionBranchAnalyzeMediaRole"])
def test_every_model_caller_needs_bedrock_invoke_model(cdk_out, demo, tmp_path, role):
    # Given a model caller's role without bedrock:InvokeModel
    broken = without(cdk_out, tmp_path / "cdk.out", _grant(cdk_out, role, "bedrock:InvokeModel"))

    # When an image runs
    report = _run(broken, tmp_path / "out", [demo / "poster.png"])

    # Then the refusal names the action and the item does not end processed
    poster = report.outcomes[0]
    assert poster.place in ("degraded", "failed")
    assert {r.permission.action for r in report.refusals} == {"bedrock:InvokeModel"}
