"""A mixed set of inputs built to break intake, the state size and the ingest accounting,
laid out as the ingest prefix (`mmpipe local run --tree`): good items next to headers that
lie, bombs in every container intake opens, text encodings, odd names and hostile manifests.

Built at test time from the demo samples and the intake tests' generators: no binary fixture
is stored, and each case says what it is. `EXPECTED` names, per input, the place it must end
in and (for quarantines) the reason; inputs that are judged only by "exactly one record"
map to None.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

from tests.unit.pipeline.domain.intake.samples import (
    HOSTILE_FFMPEG,
    TEXTS,
    declare_frame_size,
    declare_image_size,
    ffmpeg_file,
    huge_png,
    image_bytes,
    lying_wav,
    noise,
    png_with_text_bomb,
    svg_bomb,
    wav_bytes,
)

# The input (a loose file's path, a bundle's folder) -> (place, reason code or None).
Expected = tuple[str | None, str | None]
EXPECTED: dict[str, Expected] = {}


def _put(root: Path, relative: str, body: bytes, expected: Expected = (None, None)) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    if expected != ("in bundle", None):
        EXPECTED[relative] = expected


def _manifest(root: Path, folder: str, document: object, expected: Expected) -> None:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    _put(root, f"{folder}/manifest.json", body, expected)


def build(root: Path, demo: Path, scratch: Path) -> dict[str, Expected]:
    """Write the set under `root`; return what each input must end as."""
    EXPECTED.clear()
    poster = (demo / "poster.png").read_bytes()
    speech = (demo / "speech.wav").read_bytes()
    jpeg = image_bytes(noise((64, 48)), "jpeg")
    quarantined = "quarantined"

    # Good items, so the set is mixed.
    _put(root, "poster.png", poster, ("processed", None))
    _put(root, "speech.wav", speech, ("processed", None))
    _put(root, "notes.txt", TEXTS["txt"], ("processed", None))
    _put(root, "notes.md", TEXTS["md"], ("processed", None))
    _put(root, "page.html", TEXTS["html"], ("processed", None))
    _put(root, "data.json", TEXTS["json"], ("processed", None))
    _put(root, "captions-alone.vtt", TEXTS["webvtt"], ("processed", None))
    _put(root, "captions.srt", TEXTS["srt"], ("processed", None))
    _put(root, "bom.txt", TEXTS["utf8_bom"], ("processed", None))
    for name in ("product", "lecture"):
        for path in sorted((demo / name).rglob("*")):
            if path.is_file():
                relative = path.relative_to(demo / name).as_posix()
                in_bundle = relative != "manifest.json"
                expected: Expected = ("in bundle", None) if in_bundle else ("processed", None)
                _put(root, f"bundles/{name}/{relative}", path.read_bytes(), expected)

    # Encodings and names.
    _put(root, "latin1.txt", TEXTS["latin1"], (quarantined, "INVALID_TEXT_ENCODING"))
    _put(root, "utf16.txt", TEXTS["utf16"], (quarantined, "INVALID_TEXT_ENCODING"))
    _put(
        root,
        "Ünïcødé ñame (copy) #1 ?.txt",
        b"A name with every kind of character.\n",
        ("processed", None),
    )
    _put(
        root,
        " leading space.md",
        b"# Title\n\nA file whose name starts with a space.\n",
        ("processed", None),
    )
    _put(
        root,
        "plus+sign & percent%20.txt",
        b"URL-encoding must not change this key.\n",
        ("processed", None),
    )
    _put(root, "n" * 200 + ".txt", b"A long file name.\n", ("processed", None))
    _put(
        root,
        "zero-width.txt",
        "\u200b\u200c\u200d\ufeff\u2060\n".encode(),
        (quarantined, "NO_CONTENT"),
    )
    _put(root, "whitespace.txt", b"   \n\t\n  \n", (quarantined, "NO_CONTENT"))

    # Headers that lie, and bombs in every container intake opens.
    _put(root, "empty.bin", b"", (quarantined, "EMPTY_OBJECT"))
    _put(root, "broken.png", (demo / "broken.png").read_bytes(), (quarantined, "CORRUPT_MEDIA"))
    _put(root, "lying.wav", lying_wav(speech), (quarantined, "CORRUPT_MEDIA"))
    _put(root, "pixels.png", huge_png(20_000, 20_000), (quarantined, "DECOMPRESSION_BOMB"))
    _put(
        root,
        "pixels.jpg",
        declare_image_size(jpeg, "jpeg", 60_000, 60_000),
        (quarantined, "DECOMPRESSION_BOMB"),
    )
    _put(root, "text-bomb.png", png_with_text_bomb(poster), (quarantined, "CORRUPT_MEDIA"))
    _put(root, "laughs.svg", svg_bomb(), (quarantined, "UNSUPPORTED_TYPE"))
    _put(root, "zeros.txt", gzip.compress(b"\0" * 50_000_000), (quarantined, "EXTENSION_MISMATCH"))
    _put(root, "photo.txt", jpeg, (quarantined, "EXTENSION_MISMATCH"))
    _put(root, "song.mp3", poster, (quarantined, "EXTENSION_MISMATCH"))
    _put(
        root,
        "empty.html",
        b"<html><body><script>x()</script></body></html>\n",
        (quarantined, "NO_CONTENT"),
    )
    _put(root, "huge-int.json", b'{"n": ' + b"9" * 5000 + b"}\n", ("processed", None))
    _put(root, "deep.json", b"[" * 100_000 + b"]" * 100_000, ("processed", None))
    _put(root, "hires.wav", wav_bytes(0.5, 96_000), ("processed", None))
    _put(root, "lores.wav", wav_bytes(0.5, 4_000), (quarantined, "UNSUPPORTED_SAMPLE_RATE"))
    mjpeg = ffmpeg_file(HOSTILE_FFMPEG["mjpeg_mov"][1], scratch / "frames.mov")
    _put(
        root,
        "frames.mov",
        declare_frame_size(mjpeg, 16_000, 16_000),
        (quarantined, "DECOMPRESSION_BOMB"),
    )

    # Hostile manifests.
    asset = {"path": "a.png"}
    # (folder, manifest, reason, whether a.png is there and ends in the rejected bundle)
    for folder, document, code, with_asset in [
        ("bundles/not-json", b"{not json", "INVALID_MANIFEST", True),
        ("bundles/empty-manifest", b"", "EMPTY_OBJECT", True),
        (
            "bundles/duplicate-keys",
            b'{"version": 1, "version": 2, "assets": []}',
            "INVALID_MANIFEST",
            False,
        ),
        (
            "bundles/unsafe",
            {"version": 1, "assets": [{"path": "../../etc/passwd"}]},
            "UNSAFE_PATH",
            False,
        ),
        ("bundles/absolute", {"version": 1, "assets": [{"path": "/a.png"}]}, "UNSAFE_PATH", False),
        (
            "bundles/missing",
            {"version": 1, "assets": [{"path": "gone.png"}]},
            "MISSING_ASSET",
            False,
        ),
        (
            "bundles/unknown-key",
            {"version": 1, "assets": [asset], "extra": 1},
            "INVALID_MANIFEST",
            True,
        ),
        ("bundles/version-2", {"version": 2, "assets": [asset]}, "INVALID_MANIFEST", True),
        (
            "bundles/too-many",
            {"version": 1, "assets": [{"path": f"{n}.png"} for n in range(51)]},
            "TOO_MANY_ASSETS",
            False,
        ),
    ]:
        if with_asset:
            _put(root, f"{folder}/a.png", poster, ("in bundle", None))
        _manifest(root, folder, document, (quarantined, code))
    _put(root, "bundles/bom/a.png", poster, ("in bundle", None))
    _manifest(
        root,
        "bundles/bom",
        b"\xef\xbb\xbf" + json.dumps({"version": 1, "assets": [asset]}).encode(),
        ("processed", None),
    )
    _put(root, "bundles/vocabulary/s.wav", speech, ("in bundle", None))
    _manifest(
        root,
        "bundles/vocabulary",
        {
            "version": 1,
            "language": "en-US",
            "assets": [{"path": "s.wav"}],
            "vocabulary": [f"phrase-{n:04d}-" + "x" * 60 for n in range(1000)],
        },
        (quarantined, "VOCABULARY_TOO_LARGE"),
    )

    # Files under bundles/ that no bundle takes, and a nested bundle.
    _put(root, "bundles/loose-photo.png", poster, (quarantined, "MANIFEST_MISSING"))
    _put(
        root,
        "bundles/boot/Manifest.json",
        json.dumps({"version": 1, "assets": [asset]}).encode(),
        (quarantined, "MISNAMED_MANIFEST"),
    )
    _put(root, "bundles/boot/a.png", poster, (quarantined, "MANIFEST_MISSING"))
    _put(root, "bundles/shoe/a.png", poster, ("in bundle", None))
    _put(root, "bundles/shoe/extra.png", poster, (quarantined, "NOT_IN_MANIFEST"))
    _manifest(root, "bundles/shoe", {"version": 1, "assets": [asset]}, ("processed", None))
    _put(root, "bundles/outer/inner/views/a.png", poster, ("in bundle", None))
    _manifest(
        root,
        "bundles/outer/inner",
        {"version": 1, "assets": [{"path": "views/a.png"}]},
        ("processed", None),
    )
    # A symlink out of the tree: never followed, never uploaded.
    (root / "bundles" / "shoe" / "passwd").symlink_to("/etc/passwd")
    shutil.rmtree(scratch, ignore_errors=True)
    return dict(EXPECTED)
