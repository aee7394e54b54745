"""The bad-input list, through the synthesized pipeline: each ends quarantined with its
reason code, good odd inputs (unicode and spaces in names, text only) are processed, and the
counts add up to what was ingested."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

from tests.integration.conftest import outcome_for


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), 200).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _bundle(root: Path, name: str, manifest: str | dict, files: dict[str, bytes]) -> Path:
    folder = root / name
    folder.mkdir()
    for path, body in files.items():
        (folder / path).write_bytes(body)
    text = manifest if isinstance(manifest, str) else json.dumps(manifest)
    (folder / "manifest.json").write_text(text)
    return folder


def test_every_bad_input_is_quarantined_with_its_reason_code(run_local, tmp_path: Path):
    # Given the bad inputs a new user will try, and two odd but good ones
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "empty.txt").write_bytes(b"")
    (inputs / "truncated.png").write_bytes(_png(64, 64)[:60])
    (inputs / "song.mp3").write_bytes(_jpeg())  # a photo named like audio
    (inputs / "bomb.png").write_bytes(_png(20_000, 20_000))  # 400 Mpx in a few KB
    (inputs / "program.bin").write_bytes(b"\x7fELF\x02\x01\x01" + b"\x00" * 200)
    (inputs / "Café menu 北京 (1).txt").write_text("Soup of the day: tomato.\nBread: rye.\n")
    (inputs / "notes.md").write_text("# Release notes\n\nThe pipeline now fuses audio.\n")
    bad_json = _bundle(inputs, "bad-json", "{not json", {"a.txt": b"hello"})
    traversal = _bundle(
        inputs, "traversal", {"version": 1, "assets": [{"path": "../../etc/passwd"}]}, {}
    )
    missing = _bundle(inputs, "missing", {"version": 1, "assets": [{"path": "gone.jpg"}]}, {})
    unknown_key = _bundle(
        inputs,
        "unknown-key",
        {"version": 1, "assets": [{"path": "a.txt"}], "run": "rm -rf /"},
        {"a.txt": b"hello"},
    )
    paths = sorted(p for p in inputs.iterdir())

    # When they all go through the pipeline together
    report = run_local(paths)

    # Then every input reached exactly one terminal place, and the counts add up
    assert report.ok
    assert sum(report.counts().values()) == len(paths) == 11
    expected = {
        "empty.txt": "EMPTY_OBJECT",
        "truncated.png": "CORRUPT_MEDIA",
        "song.mp3": "EXTENSION_MISMATCH",
        "bomb.png": "DECOMPRESSION_BOMB",
        "program.bin": "UNSUPPORTED_TYPE",
        bad_json.name: "INVALID_MANIFEST",
        traversal.name: "UNSAFE_PATH",
        missing.name: "MISSING_ASSET",
        unknown_key.name: "INVALID_MANIFEST",
    }
    for name, code in expected.items():
        outcome = outcome_for(report, name)
        assert outcome.place == "quarantined", (name, outcome.place, outcome.error)
        record = json.loads(outcome.record_file.read_text())
        assert record["reason"]["code"] == code, name
        assert record["reason"]["message"], name
    # And the good ones with odd names or only text are processed, under their real keys
    for name in ("Café menu 北京 (1).txt", "notes.md"):
        outcome = outcome_for(report, name)
        assert outcome.place == "processed", (name, outcome.error, outcome.cause)
        result = json.loads(outcome.record_file.read_text())
        assert result["source"]["key"].endswith(name)
        assert result["modalities"] == ["text"]
