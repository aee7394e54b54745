"""The hostile set (tests/integration/hostile_set.py) through the synthesized pipeline: every
input ends with exactly one record, in the place and for the reason it must, and no state
comes near Step Functions' 256 KB."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmpipe.local.run.report import RunReport
from tests.integration import hostile_set

pytestmark = pytest.mark.slow

STATE_LIMIT = 256 * 1024


@pytest.fixture(scope="module")
def hostile_tree(tmp_path_factory: pytest.TempPathFactory, demo: Path) -> Path:
    root = tmp_path_factory.mktemp("hostile") / "ingest"
    hostile_set.build(root, demo, tmp_path_factory.mktemp("scratch"))
    return root


def _relative(report: RunReport, root: Path) -> dict[str, object]:
    return {str(Path(o.input).relative_to(root)): o for o in report.outcomes}


def test_every_hostile_input_ends_with_exactly_one_record(run_local, hostile_tree: Path) -> None:
    expected = dict(hostile_set.EXPECTED)
    assert len(expected) >= 40, "the set must stay mixed and large"

    report = run_local([hostile_tree], tree=True, timeout_s=600)

    # Every input (and every bundle file no bundle took) ended with one record
    assert report.ok, [(o.input, o.error, o.cause) for o in report.unfinished]
    ended = _relative(report, hostile_tree)
    assert sorted(ended) == sorted(expected), "an upload ended outside any item, or twice"
    for name, (place, code) in expected.items():
        outcome = ended[name]
        if place is not None:
            assert outcome.place == place, (name, outcome.place, outcome.error, outcome.cause)
        if code is not None:
            record = json.loads(outcome.record_file.read_text())
            assert record["reason"]["code"] == code, (name, record["reason"])
    # The symlink out of the tree was never uploaded
    assert any("passwd" in s for s in report.skipped)
    # And no state came near the limit
    assert report.largest_state_bytes < STATE_LIMIT // 4
