"""Container entrypoint of the alignment job:

    python3 /opt/ml/processing/input/code/run_in_container.py [--input-root ...] [--output-root ...]

(CDK uploads the `processing/` folder as the job's code input, mounted at
/opt/ml/processing/input/code/.) When the image lacks the pinned versions in
`requirements.txt`, they are installed offline (`pip --no-index`) from the `wheelhouse/`
shipped next to this file into a private folder placed first on sys.path; then
`processing.job` runs. Nothing is imported before that, so the image's own versions of the
same packages cannot shadow the pinned ones. The pipeline's own contracts (the plan the job
reads and the report it writes) always come from the wheelhouse shipped with this code, never
from the image: they must be the very models the Lambdas of this deployment use.

Standard library only, and no syntax newer than Python 3.8, so that on a wrong image it stops
with a sentence rather than a SyntaxError.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata

HERE = os.path.dirname(os.path.abspath(__file__))
REQUIREMENTS = os.path.join(HERE, "requirements.txt")
WHEELHOUSE = os.path.join(HERE, "wheelhouse")
REQUIRED_MODULES = ("av", "numpy", "pysubs2", "webrtcvad", "pydantic", "PIL")
CONTRACTS_DISTRIBUTION = "pipeline-contracts"
MIN_PYTHON = (3, 11)


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    with open(REQUIREMENTS, encoding="utf-8") as fh:
        for raw in fh:
            line = raw.split("#", 1)[0].strip()
            if "==" in line:
                name, version = line.split("==", 1)
                pins[name.strip()] = version.strip()
    return pins


def _installed(name: str) -> str | None:
    for candidate in (name, name.replace("-", "_"), name.replace("_", "-")):
        try:
            return metadata.version(candidate)
        except metadata.PackageNotFoundError:
            continue
    return None


def _unmet() -> list[str]:
    """Pinned distributions that are missing or at another version."""
    return [
        f"{name}=={version} (found {_installed(name)})"
        for name, version in _pins().items()
        if name != CONTRACTS_DISTRIBUTION and _installed(name) != version
    ]


def _unpack_contracts() -> None:
    """Put this deployment's pipeline_contracts first on sys.path. A pure-Python wheel is a
    zip of the package: unpacking it needs no pip, and no image version can shadow it."""
    wheels = (
        sorted(name for name in os.listdir(WHEELHOUSE) if name.startswith("pipeline_contracts-"))
        if os.path.isdir(WHEELHOUSE)
        else []
    )
    if not wheels:
        sys.exit(
            "alignment job: no pipeline_contracts wheel in wheelhouse/ next to the code; "
            "build it with `make dev` (docs/alignment-container.md)"
        )
    target = tempfile.mkdtemp(prefix="alignment-contracts-")
    with zipfile.ZipFile(os.path.join(WHEELHOUSE, wheels[-1])) as wheel:
        wheel.extractall(target)
    sys.path.insert(0, target)
    importlib.invalidate_caches()


def _importable() -> list[str]:
    return [m for m in REQUIRED_MODULES if importlib.util.find_spec(m) is None]


def _install_wheelhouse() -> None:
    target = tempfile.mkdtemp(prefix="alignment-deps-")
    subprocess.check_call(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--find-links",
            WHEELHOUSE,
            "--target",
            target,
            "-r",
            REQUIREMENTS,
        ],
        env={**os.environ, "PIP_ROOT_USER_ACTION": "ignore"},
    )
    sys.path.insert(0, target)
    importlib.invalidate_caches()


def _package_root() -> str:
    """A folder on sys.path that holds `processing/` (the code input may be the package
    folder itself, or its contents)."""
    if os.path.basename(HERE) == "processing":
        return os.path.dirname(HERE)
    root = tempfile.mkdtemp(prefix="alignment-code-")
    os.symlink(HERE, os.path.join(root, "processing"))
    return root


def prepare() -> None:
    """Make the job's packages importable, or exit with the reason."""
    if sys.version_info < MIN_PYTHON:
        found = ".".join(str(v) for v in sys.version_info[:2])
        needed = ".".join(str(v) for v in MIN_PYTHON)
        sys.exit(
            f"alignment job: Python {found} found, {needed}+ needed; use an image such as "
            "sagemaker-scikit-learn:1.4-2-py312-cpu-py3 (docs/alignment-container.md)"
        )
    unmet = _unmet()
    if unmet and os.path.isdir(WHEELHOUSE):
        print(f"alignment job: installing from wheelhouse/: {', '.join(unmet)}", file=sys.stderr)
        _install_wheelhouse()
    elif unmet:
        missing = _importable()
        if missing:
            sys.exit(
                f"alignment job: missing packages {missing} and no wheelhouse/ next to the "
                "code; build it (docs/alignment-container.md) or use an image with them"
            )
        print(f"alignment job: using the image's versions, not {', '.join(unmet)}", file=sys.stderr)
    _unpack_contracts()
    sys.path.insert(0, _package_root())


def main(argv: list[str] | None = None) -> int:
    prepare()
    job = importlib.import_module("processing.job")
    status: int = job.main(argv)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
