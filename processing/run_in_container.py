"""Container entrypoint of the alignment job:

    python3 /opt/ml/processing/input/code/run_in_container.py [--input-root ...] [--output-root ...]

(CDK uploads the `processing/` folder as the job's code input, mounted at
/opt/ml/processing/input/code/.) If the image lacks the job's pinned packages, they are
installed offline (`pip --no-index`) from the `wheelhouse/` shipped next to this file, into
a private folder on the job's scratch volume; then `processing.job` runs.

Standard library only, and no syntax newer than Python 3.8, so that on a wrong image it fails
with a sentence rather than a SyntaxError.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REQUIRED_MODULES = ("av", "numpy", "pysubs2", "webrtcvad", "pydantic", "PIL")
MIN_PYTHON = (3, 11)


def _missing() -> list[str]:
    missing: list[str] = []
    for name in REQUIRED_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def _package_root() -> str:
    """A folder on sys.path that holds `processing/` (the code input may be the package
    folder itself, or its contents)."""
    if os.path.basename(HERE) == "processing":
        return os.path.dirname(HERE)
    root = tempfile.mkdtemp(prefix="alignment-code-")
    os.symlink(HERE, os.path.join(root, "processing"))
    return root


def _install_wheels() -> None:
    wheelhouse = os.path.join(HERE, "wheelhouse")
    requirements = os.path.join(HERE, "requirements.txt")
    if not os.path.isdir(wheelhouse):
        sys.exit(
            f"alignment job: missing packages {_missing()} and no wheelhouse/ next to the code; "
            "build it (docs/alignment-container.md) or use an image with them"
        )
    target = os.path.join(tempfile.gettempdir(), "alignment-deps")
    subprocess.check_call(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--no-cache-dir",
            "--find-links",
            wheelhouse,
            "--target",
            target,
            "-r",
            requirements,
        ]
    )
    sys.path.insert(0, target)
    importlib.invalidate_caches()


def main(argv: list[str] | None = None) -> int:
    if sys.version_info < MIN_PYTHON:
        found = ".".join(str(v) for v in sys.version_info[:2])
        needed = ".".join(str(v) for v in MIN_PYTHON)
        sys.exit(
            f"alignment job: Python {found} found, {needed}+ needed; use an image such as "
            "sagemaker-scikit-learn:1.4-2-py312-cpu-py3 (docs/alignment-container.md)"
        )
    if _missing():
        _install_wheels()
        still = _missing()
        if still:
            sys.exit(f"alignment job: still missing {still} after installing the wheelhouse")
    sys.path.insert(0, _package_root())
    job = importlib.import_module("processing.job")
    status: int = job.main(argv)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
