"""Local mode end to end: the synthesized app, moto, the real handlers. Synthesized once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from mmpipe.local.faults import parse_faults
from mmpipe.local.run.report import RunReport
from mmpipe.local.run.runner import LocalRun
from mmpipe.local.synth import project_root, synthesized

DEMO = project_root() / "samples" / "demo"


@pytest.fixture(scope="session")
def cdk_out() -> Path:
    # Cached by a hash of the app's sources: about 20 s the first time, instant after.
    path, _ = synthesized()
    return path


@pytest.fixture(scope="session")
def demo() -> Path:
    return DEMO


@pytest.fixture
def run_local(cdk_out: Path, tmp_path: Path) -> Callable[..., RunReport]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)

    def run(
        paths: list[Path],
        *,
        providers: str = "stub",
        inject: str | None = None,
        timeout_s: float = 120.0,
        tree: bool = False,
        callback_floor_s: int | None = None,
        time_scale: float | None = None,
    ) -> RunReport:
        return LocalRun(
            cdk_out,
            tmp_path / "out",
            providers=providers,  # type: ignore[arg-type]
            faults=parse_faults(inject),
            timeout_s=timeout_s,
            tree=tree,
            callback_floor_s=callback_floor_s,
            **({} if time_scale is None else {"time_scale": time_scale}),
        ).run(paths)

    return run


def outcome_for(report: RunReport, name: str):
    return next(o for o in report.outcomes if Path(o.input).name == name)
