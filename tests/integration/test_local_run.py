"""`mmpipe local run` end to end with the stub providers: every input reaches exactly one
terminal place, the records say why, and the counts add up."""

from __future__ import annotations

import json
from pathlib import Path

from mmpipe.cli import EXIT_NOT_TERMINAL, EXIT_OK, EXIT_USAGE, main
from tests.integration.conftest import outcome_for


def test_demo_samples_reach_their_terminal_places(run_local, demo: Path) -> None:
    # Given the bundled samples: speech, an image, two bundles and one broken file
    # When they run through the synthesized pipeline with the stub providers
    report = run_local([demo])

    # Then every input reached a terminal place and the counts add up to the inputs
    assert report.ok
    assert len(report.outcomes) == 5
    assert sum(report.counts().values()) == 5
    # And the broken file is quarantined with a machine-readable reason
    broken = outcome_for(report, "broken.png")
    assert broken.place == "quarantined"
    record = json.loads(broken.record_file.read_text())
    assert record["reason"]["code"] == "CORRUPT_MEDIA"
    # And the good inputs are processed, with results labelled as local stand-ins
    for name in ("speech.wav", "poster.png", "product", "lecture"):
        outcome = outcome_for(report, name)
        assert outcome.place == "processed", (name, outcome.error, outcome.cause)
        result = json.loads(outcome.record_file.read_text())
        assert result["status"] == "processed"
        assert result["fused"]["provider"] == "stub"
    speech = json.loads(outcome_for(report, "speech.wav").record_file.read_text())
    assert speech["transcripts"][0]["provider"] == "stub"
    assert speech["transcripts"][0]["text"]
    product = json.loads(outcome_for(report, "product").record_file.read_text())
    assert product["profile"] == "catalog"
    assert set(product["modalities"]) >= {"image", "text"}
    # And each execution's history and the run summary are written
    assert all(
        (report.out_dir / "executions" / f"{o.item_id}.json").is_file() for o in report.outcomes
    )
    summary = json.loads((report.out_dir / "summary.json").read_text())
    assert summary["counts"] == report.counts()
    assert summary["all_terminal"] is True


def test_cli_prints_the_view_and_exits_zero(cdk_out, demo: Path, tmp_path: Path, capsys) -> None:
    # Given the poster and the broken file
    paths = [str(demo / "poster.png"), str(demo / "broken.png")]

    # When the console command runs them
    status = main(["local", "run", *paths, "--out", str(tmp_path / "cli"), "--providers", "stub"])

    # Then it exits 0 and prints the execution view and the terminal-place table
    out = capsys.readouterr().out
    assert status == EXIT_OK
    assert "Check intake" in out
    assert "Items by terminal place" in out
    assert "2 of 2 inputs ended with exactly one record" in out
    assert (tmp_path / "cli" / "summary.json").is_file()


def test_cli_exits_non_zero_and_says_why_when_items_do_not_finish(
    cdk_out, demo: Path, tmp_path: Path, capsys
) -> None:
    # Given a run deadline too short for any execution to finish
    # When the command runs
    status = main(
        [
            "local",
            "run",
            str(demo / "poster.png"),
            "--out",
            str(tmp_path / "late"),
            "--providers",
            "stub",
            "--timeout",
            "0",
        ]
    )

    # Then it exits non-zero and names the input that did not reach a terminal place
    out = capsys.readouterr().out
    assert status == EXIT_NOT_TERMINAL
    assert "did not reach" in out
    assert "poster.png" in out


def test_cli_rejects_unknown_faults_and_missing_paths(tmp_path: Path) -> None:
    # Given / When / Then: usage errors exit 2 before anything runs
    assert main(["local", "run", str(tmp_path / "missing.png")]) == EXIT_USAGE
    assert main(["local", "run", str(tmp_path), "--inject", "gremlins"]) == EXIT_USAGE


def test_cli_runs_a_given_assembly_with_iam_enforced_and_says_so(
    cdk_out, demo: Path, tmp_path: Path, capsys
) -> None:
    # Given an assembly already synthesized (what is about to be deployed)
    # When the command runs it with --cdk-out
    status = main(
        [
            "local",
            "run",
            str(demo / "poster.png"),
            "--out",
            str(tmp_path / "given"),
            "--providers",
            "stub",
            "--cdk-out",
            str(cdk_out),
        ]
    )

    # Then it used that assembly, with IAM enforced, and the summary records both
    out = capsys.readouterr().out
    assert status == EXIT_OK
    assert "IAM: enforced" in out
    summary = json.loads((tmp_path / "given" / "summary.json").read_text())
    assert summary["cdk_out"] == str(cdk_out)
    assert (summary["iam"], summary["access_denied"]) == ("enforced", [])


def test_cli_exits_4_when_the_roles_were_refused_calls(
    cdk_out, demo: Path, tmp_path: Path, capsys
) -> None:
    # Given an assembly whose analysis role may not call the model
    from mmpipe.cli import EXIT_ACCESS_DENIED
    from mmpipe.local.iam.mutations import grants, without

    (grant,) = [
        g
        for g in grants(cdk_out)
        if g.role.startswith("VisionBranchAnalyzeMediaRole") and g.action == "bedrock:InvokeModel"
    ]
    broken = without(cdk_out, tmp_path / "cdk.out", grant)

    # When the command runs an image on it
    status = main(
        [
            "local",
            "run",
            str(demo / "poster.png"),
            "--out",
            str(tmp_path / "out"),
            "--providers",
            "stub",
            "--cdk-out",
            str(broken),
        ]
    )

    # Then the item still ends somewhere, but the run fails: the stack lacks a permission
    assert status == EXIT_ACCESS_DENIED
    assert "lacks these permissions" in capsys.readouterr().out


def test_cli_refuses_what_is_not_an_assembly_and_deny_without_iam(
    demo: Path, tmp_path: Path
) -> None:
    poster = str(demo / "poster.png")
    assert main(["local", "run", poster, "--cdk-out", str(tmp_path)]) == EXIT_USAGE
    assert main(["local", "run", poster, "--no-iam", "--inject", "deny=s3:GetObject"]) == EXIT_USAGE
