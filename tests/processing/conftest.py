"""Generated media with known truth, made once per test session (espeak-ng, numpy, ffmpeg)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks._media import Clip, generate_clip
from processing.media import decode_audio
from processing.speech import RATE, SpeechActivity, speech_activity

CLIP_S = 45.0


@pytest.fixture(scope="session")
def media_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("alignment-media")


@pytest.fixture(scope="session")
def clean_clip(media_cache: Path) -> Clip:
    return generate_clip(media_cache, CLIP_S, seed=11, noisy=False)


@pytest.fixture(scope="session")
def noisy_clip(media_cache: Path) -> Clip:
    return generate_clip(media_cache, CLIP_S, seed=11, noisy=True)


@pytest.fixture(scope="session")
def other_speech_clip(media_cache: Path) -> Clip:
    return generate_clip(media_cache, CLIP_S, seed=99, noisy=False)


@pytest.fixture(scope="session")
def clips(clean_clip: Clip, noisy_clip: Clip) -> dict[str, Clip]:
    return {"clean": clean_clip, "noisy": noisy_clip}


@pytest.fixture(scope="session")
def activities(clean_clip: Clip, noisy_clip: Clip) -> dict[str, SpeechActivity]:
    return {
        "clean": speech_activity(decode_audio(clean_clip.audio, rate=RATE)[0]),
        "noisy": speech_activity(decode_audio(noisy_clip.audio, rate=RATE)[0]),
    }


@pytest.fixture(scope="session")
def programme(media_cache: Path) -> Clip:
    """Two minutes of speech: long enough for a stretch on either side of one or two breaks."""
    return generate_clip(media_cache, 120.0, seed=21, noisy=False)


@pytest.fixture(scope="session")
def noisy_programme(media_cache: Path) -> Clip:
    return generate_clip(media_cache, 120.0, seed=22, noisy=True)
