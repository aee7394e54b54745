"""Quality metrics on signals whose true values are known."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageFilter

from benchmarks._media import write_wav
from processing.quality import audio_quality, image_quality

RATE = 48_000


def _sine(seconds: float, amplitude: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * 997 * t)).astype(np.float32)


def test_loudness_of_a_full_scale_sine_matches_bs1770(tmp_path):
    # Given a 1 kHz sine at half of full scale (-6.02 dBFS peak), mono
    path = tmp_path / "sine.wav"
    write_wav(path, _sine(5, 0.5), rate=RATE)

    # When its quality is measured
    q = audio_quality(path)

    # Then loudness is BS.1770's -3.01 LUFS for a full-scale sine, minus 6.02 dB
    assert q.loudness_lufs == pytest.approx(-9.03, abs=0.3)
    assert q.peak_dbfs == pytest.approx(-6.02, abs=0.05)
    assert q.clipping_ratio == 0.0
    assert q.silence_ratio == 0.0
    assert q.duration_s == pytest.approx(5.0, abs=0.01)


def test_clipped_audio_shows_a_clipping_ratio(tmp_path):
    # Given a sine driven 2x past full scale (flat tops)
    path = tmp_path / "clipped.wav"
    write_wav(path, np.clip(_sine(2, 2.0), -1.0, 1.0), rate=RATE)

    # When its quality is measured
    q = audio_quality(path)

    # Then a large share of samples sit at full scale (a sine at 2x clips ~2/3 of the time)
    assert 0.5 < q.clipping_ratio < 0.8


def test_half_silent_audio_has_half_silence(tmp_path):
    # Given 2 s of tone followed by 2 s of digital silence
    path = tmp_path / "half.wav"
    write_wav(path, np.concatenate([_sine(2, 0.3), np.zeros(2 * RATE, np.float32)]), rate=RATE)

    # When its quality is measured
    q = audio_quality(path)

    # Then about half of it is silence, and loudness ignores the silent part (gating)
    assert q.silence_ratio == pytest.approx(0.5, abs=0.05)
    # (blocks straddling the edge are partly silent and pass the relative gate: -0.3 dB)
    assert q.loudness_lufs == pytest.approx(-3.01 + 20 * np.log10(0.3), abs=0.5)


def test_blur_lowers_sharpness_and_size_is_reported(tmp_path):
    # Given a checkerboard and a blurred copy of it
    board = np.kron((np.indices((12, 16)).sum(axis=0) % 2) * 255, np.ones((20, 20)))
    sharp = Image.fromarray(board.astype(np.uint8))
    blurred = sharp.filter(ImageFilter.GaussianBlur(4))

    # When their quality is measured
    q_sharp, q_blur = image_quality(sharp), image_quality(blurred)

    # Then the blurred one is much less sharp, and both report 320x240
    assert q_blur.sharpness < q_sharp.sharpness / 5
    assert (q_sharp.width, q_sharp.height) == (320, 240)


def test_quality_cli_handles_images_and_audio(tmp_path):
    # Given one image and one audio file
    img = tmp_path / "a.png"
    Image.new("RGB", (64, 48), "white").save(img)
    wav = tmp_path / "b.wav"
    write_wav(wav, _sine(1, 0.1), rate=RATE)

    # When the quality command runs on both
    proc = subprocess.run(
        [sys.executable, "-m", "processing.align", "quality", str(img), str(wav), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )

    # Then each file gets the metrics of its kind
    data = json.loads(proc.stdout)
    assert data[str(img)]["image"] == {"width": 64, "height": 48, "sharpness": 0.0}
    assert data[str(wav)]["audio"]["clipping_ratio"] == 0.0
