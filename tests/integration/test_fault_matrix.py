"""The hostile set (52 mixed inputs) under injected faults: throttling everywhere, and each
Lambda in turn raising on every call. Whatever fails, every input ends with exactly one
record, and nothing the synthesized roles would be refused is called."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmpipe.local.synth import project_root
from tests.integration import hostile_set

pytestmark = pytest.mark.slow

HANDLERS = sorted(
    p.stem
    for p in (project_root() / "lambdas" / "pipeline" / "handlers").glob("*.py")
    if p.stem != "__init__"
)
FAULTS = [
    "bedrock-throttle=0.5,transcribe-throttle=0.3",
    *[f"lambda-raise={name}" for name in HANDLERS],
]


@pytest.fixture(scope="module")
def hostile_tree(tmp_path_factory: pytest.TempPathFactory, demo: Path) -> Path:
    root = tmp_path_factory.mktemp("matrix") / "ingest"
    hostile_set.build(root, demo, tmp_path_factory.mktemp("scratch"))
    return root


@pytest.mark.parametrize("inject", FAULTS)
def test_every_input_ends_with_exactly_one_record_under(run_local, hostile_tree, inject) -> None:
    report = run_local([hostile_tree], tree=True, inject=inject, timeout_s=900, callback_floor_s=5)

    assert len(report.outcomes) >= 40
    assert report.ok, [
        (o.input, o.status, o.error, (o.cause or "")[:200]) for o in report.unfinished
    ]
    # A failed item never shows as succeeded: each place matches its one record
    for outcome in report.outcomes:
        kind = outcome.record_file.parent.name if outcome.record_file else None
        expected = {"processed": "results", "degraded": "results"}.get(outcome.place)
        assert kind == (
            expected or {"quarantined": "quarantine", "failed": "failures"}[outcome.place]
        )
    assert not [r for r in report.refusals if r.decision.name != "DENIED_BY_SCP"]
