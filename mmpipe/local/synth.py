"""Synthesize the CDK app once per change: cdk.out is cached by a hash of its inputs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

SYNTH_INPUTS = ("app.py", "cdk.json", "stacks", "statemachines", "lambdas", "processing")
_SKIP_PARTS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}


class SynthError(RuntimeError):
    """The CDK app did not synthesize."""


def project_root() -> Path:
    """The checkout holding app.py (local mode runs the app, so it needs the sources)."""
    candidates = (
        [Path(os.environ["MMPIPE_PROJECT_ROOT"])]
        if "MMPIPE_PROJECT_ROOT" in os.environ
        else [Path(__file__).resolve().parents[2], Path.cwd()]
    )
    for candidate in candidates:
        if (candidate / "app.py").is_file() and (candidate / "cdk.json").is_file():
            return candidate
    raise SynthError(
        "local mode needs the project checkout (app.py and cdk.json); run it from "
        "the repository or set MMPIPE_PROJECT_ROOT"
    )


def inputs_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for name in SYNTH_INPUTS:
        base = root / name
        paths = [base] if base.is_file() else sorted(base.rglob("*")) if base.exists() else []
        for path in paths:
            if not path.is_file() or _SKIP_PARTS & set(path.parts) or path.suffix == ".pyc":
                continue
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_root() -> Path:
    configured = os.environ.get("MMPIPE_CACHE_DIR")
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "mmpipe"


def context_with(root: Path, pipeline: dict[str, Any]) -> dict[str, Any]:
    """cdk.json's context with `pipeline` merged over its pipeline block (one level deep: a
    `quotas` given replaces cdk.json's `quotas`), as `cdk synth -c pipeline=...` would set it."""
    context = dict(json.loads((root / "cdk.json").read_text()).get("context", {}))
    context["pipeline"] = {**dict(context.get("pipeline") or {}), **pipeline}
    return context


def synthesized(
    root: Path | None = None, pipeline: dict[str, Any] | None = None
) -> tuple[Path, bool]:
    """(cdk.out folder, whether it came from the cache). Synthesizes in a subprocess, with
    `pipeline` (configuration, e.g. lower quotas) merged over cdk.json's when given."""
    root = root or project_root()
    overrides = json.dumps(pipeline, sort_keys=True) if pipeline else ""
    digest = inputs_digest(root)
    if overrides:
        digest += "-" + hashlib.sha256(overrides.encode()).hexdigest()[:8]
    target = cache_root() / f"cdk.out-{digest}"
    if (target / "manifest.json").is_file():
        return target, True
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="cdk.out-", dir=target.parent))
    env = {
        **os.environ,
        "CDK_OUTDIR": str(staging),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    if pipeline:
        # How the CDK CLI hands an app its context; app.py then reads no cdk.json of its own.
        env["CDK_CONTEXT_JSON"] = json.dumps(context_with(root, pipeline))
    completed = subprocess.run(
        [sys.executable, "app.py"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if completed.returncode != 0 or not (staging / "manifest.json").is_file():
        shutil.rmtree(staging, ignore_errors=True)
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-15:]
        raise SynthError("cdk synth failed:\n" + "\n".join(tail))
    try:
        staging.rename(target)
    except OSError:  # another run won the race: theirs is as good as ours
        shutil.rmtree(staging, ignore_errors=True)
    _prune(target.parent, keep=3)
    return target, False


STACK_NAME = "MultimodalPipeline"


def assembly_problem(cdk_out: Path) -> str | None:
    """Why `cdk_out` is not a cloud assembly of this app, or None when it is."""
    if not (cdk_out / "manifest.json").is_file():
        return "not a cloud assembly (no manifest.json); run `npx cdk synth` first"
    for name in (f"{STACK_NAME}.template.json", f"{STACK_NAME}.assets.json"):
        if not (cdk_out / name).is_file():
            return f"{name} is missing: not a synthesized {STACK_NAME} stack"
    return None


def _prune(cache: Path, keep: int) -> None:
    """Keep the newest few assemblies: each is tens of megabytes of Lambda assets."""
    assemblies = sorted(cache.glob("cdk.out-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in assemblies[keep:]:
        shutil.rmtree(old, ignore_errors=True)
