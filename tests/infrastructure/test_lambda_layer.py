"""The Lambda layer alone can sniff content: libmagic and its database ship inside it.

The Lambda Python runtime has no libmagic. python-magic and pylibmagic are pure Python over
a bundled shared library, so this machine's Python can prove the layer's copy loads and
answers, with nothing but the standard library and the layer on the path.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "build" / "lambda-layer" / "python"

PROBE = r"""
import sys
sys.path.insert(0, sys.argv[1])
import pylibmagic  # noqa: F401  (points python-magic at the bundled library first)
import magic
png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
print(magic.from_buffer(png, mime=True))
print(magic.from_buffer(b"WEBVTT\n\n00:00.000 --> 00:01.000\nHi\n", mime=True))
maps = open("/proc/self/maps").read()
print("layer-libmagic" if sys.argv[1] + "/pylibmagic/libmagic.so" in maps else "other-libmagic")
"""


@pytest.mark.skipif(not LAYER.is_dir(), reason="layer not built (make layer)")
def test_magic_from_the_layer_alone_identifies_content():
    # Given only the standard library (-S: no site-packages) and the layer on the path
    result = subprocess.run(
        [sys.executable, "-S", "-c", PROBE, str(LAYER)], capture_output=True, text=True, check=False
    )
    # Then python-magic answers with the layer's own libmagic
    assert result.returncode == 0, result.stderr
    png_mime, vtt_mime, library = result.stdout.split()
    assert png_mime == "image/png"
    assert vtt_mime == "text/plain"  # why sniffing.py adds its own WebVTT/SRT checks
    assert library == "layer-libmagic"


def test_layer_holds_no_copy_of_the_runtime_sdk():
    # boto3/botocore in the layer would shadow the runtime's and eat the size limit
    if not LAYER.is_dir():
        pytest.skip("layer not built")
    assert not (LAYER / "botocore").exists()
    assert not (LAYER / "boto3").exists()
    size = sum(f.stat().st_size for f in LAYER.rglob("*") if f.is_file())
    assert size < 200 * 1024**2  # Lambda allows 250 MB unzipped for code and layers together


def test_the_layer_ships_the_contracts_the_code_was_written_against():
    # Given the layer the functions deploy with, and the contracts in this checkout
    shipped = LAYER / "pipeline_contracts"
    source = Path(__file__).resolve().parents[2] / "contracts" / "pipeline_contracts"

    # Then the layer holds the same contract modules, byte for byte (make dev rebuilds it)
    def modules(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.py"))}

    assert modules(shipped) == modules(source)
