"""What Transcribe writes for a job: its JSON transcript document and WebVTT/SubRip
subtitles, built from a recognition. Pure formatting, kept apart from the job API.
"""

from __future__ import annotations

from typing import Any

from mmpipe.local.standins.recognition import Recognition


def transcribe_document(job_name: str, recognition: Recognition) -> dict[str, Any]:
    """The JSON Amazon Transcribe writes (results.transcripts/items/audio_segments...)."""
    items: list[dict[str, Any]] = []
    audio_segments: list[dict[str, Any]] = []
    speaker = "spk_0"  # one speaker: local recognition does not diarize
    for segment in recognition.segments:
        ids = []
        for word in segment.words:
            core = word.text.rstrip(".,?!;:")
            punctuation = word.text[len(core) :]
            if core:
                ids.append(len(items))
                items.append(
                    {
                        "id": len(items),
                        "type": "pronunciation",
                        "start_time": f"{word.start_s:.3f}",
                        "end_time": f"{word.end_s:.3f}",
                        "alternatives": [{"confidence": f"{word.confidence:.4f}", "content": core}],
                        "speaker_label": speaker,
                    }
                )
            for mark in punctuation[:1]:
                ids.append(len(items))
                items.append(
                    {
                        "id": len(items),
                        "type": "punctuation",
                        "alternatives": [{"confidence": "0.0", "content": mark}],
                        "speaker_label": speaker,
                    }
                )
        audio_segments.append(
            {
                "id": len(audio_segments),
                "transcript": segment.text,
                "start_time": f"{segment.start_s:.3f}",
                "end_time": f"{segment.end_s:.3f}",
                "speaker_label": speaker,
                "items": ids,
            }
        )
    transcript = " ".join(s.text for s in recognition.segments).strip()
    spans = [
        {
            "start_time": s["start_time"],
            "end_time": s["end_time"],
            "speaker_label": speaker,
            "items": [
                {
                    "start_time": items[i]["start_time"],
                    "end_time": items[i]["end_time"],
                    "speaker_label": speaker,
                }
                for i in _ids(s)
                if items[i]["type"] == "pronunciation"
            ],
        }
        for s in audio_segments
    ]
    return {
        "jobName": job_name,
        "accountId": "123456789012",
        "status": "COMPLETED",
        "results": {
            "language_code": recognition.language,
            "language_identification": [
                {"code": recognition.language, "score": f"{recognition.language_score:.4f}"}
            ],
            "transcripts": [{"transcript": transcript}],
            "speaker_labels": {"channel_label": "ch_0", "speakers": 1, "segments": spans},
            "items": items,
            "audio_segments": audio_segments,
        },
    }


def _ids(segment: dict[str, Any]) -> list[int]:
    return list(segment["items"])


def _timestamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def subtitles(recognition: Recognition, fmt: str) -> str:
    """WebVTT or SubRip cues, one per recognised segment (OutputStartIndex 1)."""
    separator = "." if fmt == "vtt" else ","
    lines = ["WEBVTT", ""] if fmt == "vtt" else []
    for index, segment in enumerate(recognition.segments, start=1):
        lines += [
            str(index),
            f"{_timestamp(segment.start_s, separator)} --> {_timestamp(segment.end_s, separator)}",
            segment.text,
            "",
        ]
    return "\n".join(lines)
