"""Does the offline run notice every missing permission? Remove one granted action at a time
from the synthesized template (a copy, run with --cdk-out semantics), run the same inputs,
and compare with the untouched assembly.

    .venv/bin/python benchmarks/iam_mutations.py [--role SUBSTRING] [--json FILE]

For each (role, action) it prints whether the run noticed (an item ended elsewhere, or the
emulated service refused a request naming the action), how many refusals named it, and
which items changed. Actions nothing in local mode exercises (X-Ray, the Lambda runtime's
own log delivery, ECR pulls, SageMaker's CloudWatch writes) are reported as not exercised.
Stub providers; about 5 s per mutation on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambdas"))

from mmpipe.local.faults import Faults, parse_faults
from mmpipe.local.iam.mutations import Grant, grants, without
from mmpipe.local.iam.refusals import Refusal
from mmpipe.local.run.report import RunReport
from mmpipe.local.run.runner import LocalRun
from mmpipe.local.synth import project_root, synthesized

DEMO = project_root() / "samples" / "demo"
# Called on the caller's behalf by parts of AWS local mode does not run.
NOT_EXERCISED = ("xray:", "logs:", "ecr:", "cloudwatch:PutMetricData")


def _inputs(scratch: Path) -> list[Path]:
    """The demo, a bundle with a missing asset (the 404-versus-403 path), a MOV video (audio
    extracted for Transcribe) and a PDF (read by version, sent as a document)."""
    bundle = scratch / "missing-asset"
    bundle.mkdir(exist_ok=True)
    (bundle / "notes.txt").write_text("Notes about an item whose photo never arrived.")
    (bundle / "manifest.json").write_text(
        json.dumps(
            {
                "version": 1,
                "assets": [
                    {"path": "notes.txt", "role": "primary"},
                    {"path": "photo.png", "role": "primary"},
                ],
            }
        )
    )
    clip = scratch / "clip.mov"
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=2:size=160x120:rate=10",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=2",
            "-c:v",
            "mpeg4",
            "-c:a",
            "aac",
            "-shortest",
            str(clip),
        ],
        check=True,
    )
    page = scratch / "page.pdf"
    Image.new("RGB", (200, 100), (240, 240, 240)).save(page, format="PDF")
    return [
        DEMO / "speech.wav",
        DEMO / "poster.png",
        DEMO / "product",
        DEMO / "lecture",
        DEMO / "broken.png",
        bundle,
        clip,
        page,
    ]


def _places(report: RunReport) -> dict[str, str]:
    places = {}
    for outcome in report.outcomes:
        place = outcome.place or f"not terminal ({outcome.error})"
        if outcome.place and outcome.record_file is None:
            place += " (no record)"
        places[Path(outcome.input).name] = place
    return places


def _run(cdk_out: Path, out: Path, inputs: list[Path]) -> dict[str, str]:
    """Places of the inputs, plus one item whose fusion raises (the failure path)."""
    common = LocalRun(
        cdk_out, out / "common", providers="stub", faults=Faults(), timeout_s=300
    ).run(inputs)
    failing = LocalRun(
        cdk_out,
        out / "failing",
        providers="stub",
        faults=parse_faults("lambda-raise=fusion"),
        timeout_s=300,
    ).run([DEMO / "poster.png"])
    _refusals.extend(common.refusals + failing.refusals)
    return {**_places(common), "failing poster.png": _places(failing)["poster.png"]}


_refusals: list[Refusal] = []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", default="", help="only roles whose logical id contains this")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.disable(logging.WARNING)

    cdk_out, _ = synthesized()
    scratch = Path(tempfile.mkdtemp(prefix="iam-mutations-"))
    inputs = _inputs(scratch)
    expected = _run(cdk_out, scratch / "baseline", inputs)
    print(f"baseline: {expected}; refusals: {len(_refusals)}\n")
    candidates = [
        g
        for g in grants(cdk_out)
        if args.role in g.role and "BucketNotificationsHandler" not in g.role
    ]
    rows = []
    print(f"{'role':<44} {'action':<36} {'noticed':<14} {'refusals':>8}  changed items")
    for index, grant in enumerate(candidates):
        rows.append(_mutate(cdk_out, scratch, index, grant, inputs, expected))
        row = rows[-1]
        print(
            f"{row['role'][:44]:<44} {row['action'][:36]:<36} {row['noticed']:<14} "
            f"{row['refusals']:>8}  {row['changed']}",
            flush=True,
        )
    exercised = [r for r in rows if r["noticed"] != "not exercised"]
    noticed = [r for r in exercised if r["noticed"] == "yes"]
    print(
        f"\n{len(noticed)} of {len(exercised)} exercised grants noticed when removed; "
        f"{len(rows) - len(exercised)} not exercised locally."
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


def _mutate(
    cdk_out: Path,
    scratch: Path,
    index: int,
    grant: Grant,
    inputs: list[Path],
    expected: dict[str, str],
) -> dict[str, object]:
    role = grant.role.removesuffix(grant.role[-8:]) if len(grant.role) > 8 else grant.role
    if grant.action.startswith(NOT_EXERCISED):
        return {
            "role": role,
            "action": grant.action,
            "noticed": "not exercised",
            "refusals": 0,
            "changed": "",
        }
    started = time.monotonic()
    mutated = without(cdk_out, scratch / f"cdk.out-{index}", grant)
    _refusals.clear()
    places = _run(mutated, scratch / f"run-{index}", inputs)
    changed = {name: place for name, place in places.items() if expected.get(name) != place}
    named = [r for r in _refusals if r.permission.action == grant.action]
    return {
        "role": role,
        "action": grant.action,
        "noticed": "yes" if changed or named else "no",
        "refusals": len(named),
        "changed": ", ".join(f"{n}: {p}" for n, p in sorted(changed.items())),
        "seconds": round(time.monotonic() - started, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
