"""Whether a file's name agrees with its content: what an extension promises, compared with
what `sniffing.sniff` found in the bytes.

Apart from sniffing because it judges the name, never the content: a mismatch rejects the
file, a lesser disagreement is a warning on the asset, and an unknown extension lets the
content decide.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from pipeline.domain.sniffing import AV_CONTAINERS, Family, Sniffed

# Extension -> (families the name promises, the format it names).
_EXTENSIONS: dict[str, tuple[frozenset[Family], str]] = {}


def _register(families: tuple[Family, ...], media_format: str, *extensions: str) -> None:
    for extension in extensions:
        _EXTENSIONS[extension] = (frozenset(families), media_format)


_register(("image",), "jpeg", "jpg", "jpeg", "jpe", "jfif")
_register(("image",), "png", "png", "apng")
_register(("image",), "webp", "webp")
_register(("image",), "gif", "gif")
_register(("image",), "tiff", "tif", "tiff")
_register(("audio",), "wav", "wav", "wave")
_register(("audio",), "mp3", "mp3")
_register(("audio",), "flac", "flac")
_register(("audio",), "ogg", "oga", "opus")
# Containers that hold audio only or video: either family is what the name promises.
_register(("audio", "video"), "m4a", "m4a")
_register(("audio", "video"), "ogg", "ogg")
_register(("audio", "video"), "mp4", "mp4", "m4v")
_register(("audio", "video"), "mov", "mov", "qt")
_register(("audio", "video"), "webm", "webm")
_register(("audio", "video"), "mkv", "mkv", "mka")
_register(("document",), "pdf", "pdf")
# ".txt" is the generic text name: captions saved as .txt are still text files.
_register(("text", "captions"), "txt", "txt", "text")
_register(("text",), "md", "md", "markdown")
_register(("text",), "html", "html", "htm")
_register(("text",), "json", "json")
_register(("captions",), "webvtt", "vtt", "webvtt")
_register(("captions",), "srt", "srt")

_FORMAT_ALIASES = {"m4a": {"mp4", "mov"}, "mp4": {"m4a", "mov"}, "mov": {"mp4", "m4a"}}


def extension_of(name: str) -> str:
    base = posixpath.basename(name)
    stem, dot, extension = base.rpartition(".")
    return extension.lower() if dot and stem else ""


@dataclass(frozen=True)
class ExtensionVerdict:
    """`mismatch` rejects; `warning` is kept on the Asset; `media_format` may be refined."""

    mismatch: bool = False
    warning: str | None = None
    media_format: str | None = None
    promised: str | None = None


def check_extension(name: str, sniffed: Sniffed, *, provisional: bool = False) -> ExtensionVerdict:
    """Compare what the file name promises with what the content is.

    `provisional` is the check before the media probe: an audio/video container may still
    turn out to be either, so only a contradiction with both is a mismatch then.
    """
    extension = extension_of(name)
    promise = _EXTENSIONS.get(extension)
    if promise is None:
        return ExtensionVerdict()  # unknown or missing extension: the content decides
    families, named_format = promise
    promised = f".{extension} ({named_format})"
    content_families: set[Family] = set() if sniffed.family is None else {sniffed.family}
    if provisional and sniffed.media_format in AV_CONTAINERS and sniffed.modality is not None:
        content_families = {"audio", "video"}
    if not content_families & families:
        return ExtensionVerdict(mismatch=True, promised=promised)
    if sniffed.modality is None:
        return ExtensionVerdict(promised=promised)  # same family, unsupported: not a mismatch
    if named_format == sniffed.media_format or sniffed.media_format in _FORMAT_ALIASES.get(
        named_format, set()
    ):
        return ExtensionVerdict(promised=promised)
    if sniffed.modality == "text" and {named_format, sniffed.media_format} <= {"txt", "md"}:
        # Markdown is plain text with conventions: the author's name for it wins.
        return ExtensionVerdict(media_format=named_format, promised=promised)
    return ExtensionVerdict(
        warning=(
            f"The file name ends in .{extension} but the content is {sniffed.media_format}; "
            f"it was processed as {sniffed.media_format}."
        ),
        promised=promised,
    )
