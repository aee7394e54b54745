"""The Lambda functions' one caption parser: the cues of a WebVTT or SRT file, read by pysubs2.

The intake gate checks captions with it (`media_checks.check_captions`: at least one timed
cue) and preparation reads their words with it (`caption_text`), so both judge the same cues.

The alignment job parses captions too, in `processing/captions.py` (pysubs2 as well). It runs
in the SageMaker container, which has `pipeline_contracts` and its own code but not this
package, and this package is deployed without `processing/`: the parser cannot be shared
across that boundary, so there is one per runtime, this one for the Lambda functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# WebVTT markup in a cue's text: class, voice, styling, ruby and language spans, timestamps.
_VTT_TAG = re.compile(r"</?(?:c|v|i|b|u|ruby|rt|lang)(?:[.\s][^>]*)?>|<\d{1,2}:[\d:.]+>")


class CaptionsUnparsable(Exception):
    """pysubs2 could not read the file; the message is its complaint."""


@dataclass(frozen=True)
class CaptionCue:
    """One cue: its timing, and its lines of words without WebVTT markup."""

    start_s: float
    end_s: float
    lines: tuple[str, ...]


def caption_cues(text: str, media_format: str) -> list[CaptionCue]:
    """Every cue of WebVTT (`webvtt`) or SRT (`srt`) text, in the order of the file.

    Raises `CaptionsUnparsable` when pysubs2 cannot read the text (MemoryError propagates):
    it meets untrusted text, so any exception it raises means "does not parse".
    """
    # Imported when captions are read (pysubs2 is in the Lambda layer, lambda-requirements.in):
    # the functions that import the text tools only to clip a string do not load it at a cold
    # start.
    import pysubs2  # noqa: PLC0415

    try:
        subtitles = pysubs2.SSAFile.from_string(
            text, format_="vtt" if media_format == "webvtt" else "srt", keep_html_tags=True
        )
    except MemoryError:
        raise
    except Exception as error:
        raise CaptionsUnparsable(str(error).strip() or error.__class__.__name__) from error
    return [
        CaptionCue(start_s=event.start / 1000, end_s=event.end / 1000, lines=_words(event.text))
        for event in subtitles.events
    ]


def caption_text(text: str, media_format: str) -> str:
    """The spoken words of a WebVTT or SRT file: headers, numbers, timings and notes removed."""
    return "\n".join(line for cue in caption_cues(text, media_format) for line in cue.lines)


def _words(cue_text: str) -> tuple[str, ...]:
    """A cue's lines as pysubs2 keeps them (`\\N` between lines, tags as written), up to the
    first blank line, without WebVTT markup. A cue's text ends at a blank line, but pysubs2
    gives a cue every line up to the next timing line: a NOTE block or the next cue's
    identifier after it is not the cue's words."""
    kept: list[str] = []
    for line in cue_text.split("\\N"):
        stripped = line.strip()
        if not stripped:
            break
        kept.append(_VTT_TAG.sub("", stripped))
    return tuple(kept)
