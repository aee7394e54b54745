"""Real, cheap features of inputs: what the local model stand-in builds its answers from."""

from __future__ import annotations

import io
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field

from PIL import ExifTags, Image, ImageOps

_COLOURS = {
    "black": (20, 20, 20),
    "white": (240, 240, 240),
    "grey": (128, 128, 128),
    "red": (200, 30, 30),
    "orange": (240, 140, 20),
    "yellow": (240, 220, 40),
    "green": (40, 160, 60),
    "blue": (40, 80, 200),
    "purple": (130, 50, 160),
    "pink": (240, 150, 190),
    "brown": (130, 80, 40),
    "teal": (20, 150, 150),
}
_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "which",
        "you",
        "your",
        "we",
        "our",
        "they",
        "their",
        "these",
        "those",
        "not",
        "but",
        "if",
        "then",
        "than",
        "so",
        "can",
        "may",
        "into",
        "about",
        "over",
        "more",
        "also",
        "such",
        "there",
        "here",
        "what",
        "when",
        "where",
        "who",
        "how",
        "all",
        "any",
    }
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{1,}")


def colour_name(rgb: tuple[int, int, int]) -> str:
    return min(
        _COLOURS, key=lambda n: sum((a - b) ** 2 for a, b in zip(rgb, _COLOURS[n], strict=True))
    )


@dataclass
class ImageFeatures:
    width: int
    height: int
    orientation: str
    colours: list[str]
    exif: dict[str, str] = field(default_factory=dict)
    ocr_text: str = ""


def image_features(data: bytes, ocr: bool) -> ImageFeatures:
    with Image.open(io.BytesIO(data)) as opened:
        exif = {
            ExifTags.TAGS.get(k, str(k)): str(v)[:80]
            for k, v in opened.getexif().items()
            if ExifTags.TAGS.get(k) in ("Make", "Model", "DateTime", "Software", "Artist")
        }
        image = ImageOps.exif_transpose(opened).convert("RGB")
    width, height = image.size
    orientation = (
        "square"
        if abs(width - height) <= 0.05 * max(width, height)
        else "landscape"
        if width > height
        else "portrait"
    )
    small = image.resize((48, 48))
    names: Counter[str] = Counter()
    # Each distinct pixel named once (an image has far fewer colours than pixels).
    for pixel, count in Counter(small.get_flattened_data()).items():
        names[colour_name(pixel)] += count  # type: ignore[arg-type]
    total = sum(names.values())
    colours = [name for name, count in names.most_common(3) if count / total >= 0.08]
    text = ocr_image(image) if ocr else ""
    return ImageFeatures(width, height, orientation, colours, exif, text)


def ocr_available() -> bool:
    if shutil.which("tesseract") is None:
        return False
    try:
        import pytesseract  # noqa: F401, PLC0415 - optional
    except ImportError:
        return False
    return True


def ocr_image(image: Image.Image) -> str:
    if not ocr_available():
        return ""
    import pytesseract  # noqa: PLC0415 - optional, heavy

    text = str(pytesseract.image_to_string(image, timeout=20))
    return " ".join(text.split())[:500]


@dataclass
class TextFeatures:
    words: int
    sentences: list[str]
    key_sentences: list[str]
    keywords: list[str]


def text_features(text: str, keep: int = 3) -> TextFeatures:
    clean = " ".join(text.split())
    sentences = [s.strip() for s in _SENTENCE.split(clean) if len(s.strip()) > 3]
    words = [w.lower() for w in _WORD.findall(clean)]
    frequency = Counter(w for w in words if w not in _STOPWORDS)

    def score(sentence: str) -> float:
        tokens = [w.lower() for w in _WORD.findall(sentence)]
        return sum(frequency[t] for t in tokens if t not in _STOPWORDS) / (len(tokens) + 3)

    ranked = sorted(range(len(sentences)), key=lambda i: (-score(sentences[i]), i))[:keep]
    key = [sentences[i][:240] for i in sorted(ranked)]
    return TextFeatures(
        words=len(words),
        sentences=sentences,
        key_sentences=key,
        keywords=[w for w, _ in frequency.most_common(8)],
    )
