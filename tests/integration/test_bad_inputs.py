"""The bad-input list, through the synthesized pipeline: each ends quarantined with its
reason code, good odd inputs (unicode and spaces in names, text only) are processed, and the
counts add up to what was ingested."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

from tests.integration.conftest import outcome_for
from tests.unit.pipeline.domain.intake.samples import lying_wav, wav_bytes


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


def test_what_used_to_fail_after_intake_is_caught_or_routed(run_local, tmp_path: Path):
    # Given inputs that used to pass intake and fail (or crash) in a later step
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "script-only.html").write_bytes(b"<html><body><script>x</script></body></html>")
    (inputs / "old-phone.wav").write_bytes(wav_bytes(0.5, 4_000))
    (inputs / "lying.wav").write_bytes(lying_wav(wav_bytes(1.0, 16_000)))
    (inputs / "studio.wav").write_bytes(wav_bytes(0.5, 96_000))
    (inputs / "digits.json").write_bytes(b'{"n": ' + b"7" * 5000 + b"}")
    paths = sorted(inputs.iterdir())

    # When they go through the pipeline
    report = run_local(paths)

    # Then the ones that cannot work are quarantined at intake, with their own codes
    assert report.ok
    expected = {
        "script-only.html": "NO_CONTENT",
        "old-phone.wav": "UNSUPPORTED_SAMPLE_RATE",
        "lying.wav": "CORRUPT_MEDIA",
    }
    for name, code in expected.items():
        outcome = outcome_for(report, name)
        assert outcome.place == "quarantined", (name, outcome.place, outcome.error)
        assert json.loads(outcome.record_file.read_text())["reason"]["code"] == code, name
    # And 96 kHz audio is resampled by the extraction step, then transcribed
    studio = outcome_for(report, "studio.wav")
    assert studio.place == "processed", (studio.error, studio.cause)
    states = [e.get("stateEnteredEventDetails", {}).get("name") for e in studio.history]
    assert "Extract audio track" in states
    # And JSON with a 5000-digit integer is read as text, without a crash
    digits = outcome_for(report, "digits.json")
    assert digits.place == "processed", (digits.error, digits.cause)
