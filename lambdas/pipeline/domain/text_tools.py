"""Text tools: what the steps that read text files, or put text in front of a model or in a
record, share.

- `readable_text`: the visible text of a text or captions file (leniently decoded, HTML reduced
  to what a browser shows, JSON laid out, captions to their words, cleaned), as the model reads
  it; the intake gate refuses a file where it is empty (`has_visible_text`).
- `chunk_text`: long text in overlapping chunks for the model.
- `trim_partial_utf8`: a ranged read's bytes without the character it cut in half.
- `clip`: a string within a character limit, saying so.
"""

from __future__ import annotations

import codecs
import json
import math
import re
import unicodedata
from html.parser import HTMLParser

from pipeline.domain.captions import CaptionsUnparsable, caption_text
from pipeline_contracts.work.vision import TextChunk

TRUNCATED = " ...[truncated]"


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, saying so when something was cut."""
    return text if len(text) <= limit else text[: max(0, limit - len(TRUNCATED))] + TRUNCATED


def trim_partial_utf8(data: bytes) -> bytes:
    """Drop a multi-byte UTF-8 sequence cut off by a ranged read (at most 3 trailing bytes),
    so text stays text."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return data
        if byte >= 0xC0:  # a lead byte: is its sequence complete?
            needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data if back >= needed else data[:-back]
    return data


def readable_text(data: bytes, media_format: str) -> tuple[str, list[str]]:
    """Decoded, visible, normalised text of a text or captions file, plus any warnings."""
    text, warnings = decoded_text(data)
    if media_format == "html":
        text = html_to_text(text)
    elif media_format == "json":
        try:
            parsed = json.loads(text, parse_float=_finite_float)
            text = json.dumps(parsed, ensure_ascii=False, indent=2)
        except (json.JSONDecodeError, RecursionError):
            warnings.append("the JSON did not parse; it was read as plain text")
        except ValueError:  # numbers Python cannot carry through: see _finite_float
            warnings.append("the JSON holds numbers too large to re-format; it was read as written")
    elif media_format in ("webvtt", "srt"):
        try:
            text = caption_text(text, media_format)
        except CaptionsUnparsable:
            warnings.append("the captions did not parse; they were read as plain text")
    return clean_text(text), warnings


def _finite_float(literal: str) -> float:
    """A JSON number as a float, refused (ValueError) when past a float's range: re-formatted,
    1e400 would become "Infinity". Integers over 4,300 digits raise ValueError by themselves
    (Python's int-to-str limit), and both leave the text as written."""
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"the number {literal[:40]} is out of a float's range")
    return value


def decoded_text(data: bytes) -> tuple[str, list[str]]:
    """Text whatever the bytes: UTF-8, or UTF-16 by its BOM; what does not decode is replaced
    and said in a warning. (The intake gate's strict check is `media_checks`.)"""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace"), []
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), [
            "the text is not valid UTF-8; undecodable bytes were replaced"
        ]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


# What nobody sees: controls, format characters (zero-width spaces and joiners, bidi marks,
# BOMs), separators, lone surrogates and unassigned code points.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Zs", "Zl", "Zp"})


def has_visible_text(text: str) -> bool:
    """Whether any character of `text` shows when displayed (intake and preparation agree)."""
    return any(unicodedata.category(char) not in _INVISIBLE_CATEGORIES for char in text)


def clean_text(text: str) -> str:
    """NFC, Unix newlines, no control or bidi-override characters, at most one blank line."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text)
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


class _VisibleText(HTMLParser):
    # Only elements whose content is never shown; an unclosed one is closed again at <body>.
    _SKIPPED = frozenset({"script", "style", "template"})
    _BLOCKS = frozenset(
        {
            "p",
            "div",
            "br",
            "li",
            "ul",
            "ol",
            "tr",
            "table",
            "section",
            "article",
            "header",
            "footer",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "pre",
            "hr",
            "dt",
            "dd",
            "figure",
            "figcaption",
            "title",
            "main",
            "nav",
            "aside",
            "form",
        }
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._skip_depth = 0
        if tag in self._SKIPPED:
            self._skip_depth += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n\n" if tag not in ("br", "li", "tr", "dd", "dt") else "\n")
        if tag == "img" and not self._skip_depth:
            alt = dict(attrs).get("alt")
            if alt and alt.strip():
                self.parts.append(f" [image: {alt.strip()}] ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(re.sub(r"[ \t\r\n]+", " ", data))


def html_to_text(markup: str) -> str:
    """Visible text of an HTML document: tags, comments, scripts and styles removed."""
    parser = _VisibleText()
    parser.feed(markup)
    parser.close()
    lines = (line.strip() for line in "".join(parser.parts).split("\n"))
    return "\n".join(lines)


_PARAGRAPH_END = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s)|[。！？][」』）]*")
_WHITESPACE = re.compile(r"\s")


def chunk_text(text: str, size: int, overlap: int) -> list[TextChunk]:
    """Chunks of at most `size` characters, each starting `overlap` characters back.

    Cuts fall on the last paragraph break in the second half of the window, else the last
    sentence end, else the last whitespace, else exactly at `size`. Each next chunk starts at
    a sentence or word start inside the overlap. Always terminates, whatever the text.
    """
    if size < 1:
        raise ValueError("size must be positive")
    overlap = max(0, min(overlap, size // 2))
    total = len(text)
    chunks: list[TextChunk] = []
    start = 0
    while start < total:
        limit = min(start + size, total)
        end = total if limit == total else _cut(text, start + size // 2, limit)
        chunks.append(TextChunk(index=len(chunks), start=start, end=end, text=text[start:end]))
        if end >= total:
            break
        next_start = _align_start(text, end - overlap, end) if overlap else end
        while next_start < total and text[next_start].isspace():
            next_start += 1
        start = max(next_start, start + 1)
    return chunks


def _cut(text: str, low: int, limit: int) -> int:
    window = text[low:limit]
    for pattern in (_PARAGRAPH_END, _SENTENCE_END, _WHITESPACE):
        last = None
        for last in pattern.finditer(window):  # noqa: B007 - we want the last match
            pass
        if last is not None:
            return low + last.end()
    return limit


def _align_start(text: str, low: int, high: int) -> int:
    window = text[low:high]
    for pattern in (_SENTENCE_END, _WHITESPACE):
        found = pattern.search(window)
        if found is not None and low + found.end() < high:
            return low + found.end()
    return low
