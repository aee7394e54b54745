"""Regenerate the bundled demo samples (committed together with their outputs, < 2 MB).

Needs espeak-ng, sox and ffmpeg (Debian packages) and Pillow. Writes samples/demo/, which
`make demo` runs (`mmpipe local run samples/demo`):

    .venv/bin/python samples/make_samples.py

- speech.wav                 clear English speech (espeak-ng), 16 kHz mono
- poster.png                 a standalone image with large printed text (OCR reads it)
- product/                   a bundle: a product photo, its description, manifest.json
- lecture/                   a bundle: a short video with spoken audio and WebVTT captions
- broken.png                 a truncated PNG: the bad file, quarantined with CORRUPT_MEDIA
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent / "demo"

SPEECH = (
    "Welcome to the multimodal pipeline. This recording is a short test of speech "
    "recognition. Every file you upload is checked, described and stored safely. Thank you "
    "for listening."
)
LECTURE = [
    (0.5, "Today we look at how rivers shape the land."),
    (3.5, "Water carries sand and stones down to the sea."),
    (6.5, "Over many years this carves deep valleys."),
]
PRODUCT_TEXT = (
    "Blue ceramic coffee mug with a white handle. Holds 350 millilitres. "
    "Dishwasher and microwave safe. The glaze is a deep ocean blue and the mug "
    "carries the ACME logo on its side."
)


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def speak(text: str, target: Path, scratch: Path) -> None:
    raw = scratch / f"{target.stem}-raw.wav"
    _run("espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text)
    _run("sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(target))


def make_speech(scratch: Path) -> None:
    speak(SPEECH, HERE / "speech.wav", scratch)


def make_poster() -> None:
    image = Image.new("RGB", (640, 360), (250, 245, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 620, 340), outline=(200, 40, 40), width=8)
    draw.text((60, 110), "SUMMER SALE", fill=(200, 40, 40), font=_font(64))
    draw.text((60, 210), "All mugs half price", fill=(30, 30, 30), font=_font(36))
    image.save(HERE / "poster.png", optimize=True)


def make_product() -> None:
    folder = HERE / "product"
    folder.mkdir(exist_ok=True)
    image = Image.new("RGB", (480, 480), (235, 235, 235))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((120, 140, 320, 400), radius=24, fill=(30, 80, 170))
    draw.ellipse((290, 200, 390, 330), outline=(245, 245, 245), width=22)
    draw.text((165, 240), "ACME", fill=(245, 245, 245), font=_font(40))
    image.save(folder / "mug.jpg", quality=85)
    (folder / "description.txt").write_text(PRODUCT_TEXT + "\n")
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "version": 1,
                "id": "acme-mug",
                "profile": "catalog",
                "language": "en-US",
                "assets": [
                    {"path": "mug.jpg", "role": "primary"},
                    {"path": "description.txt", "role": "description", "relation": "complementary"},
                ],
            },
            indent=2,
        )
        + "\n"
    )


def _vtt_time(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"00:{int(minutes):02d}:{secs:06.3f}"


def make_lecture(scratch: Path) -> None:
    folder = HERE / "lecture"
    folder.mkdir(exist_ok=True)
    # One speech clip per caption, padded so each starts at its caption's time.
    pieces = []
    for index, (start, text) in enumerate(LECTURE):
        clip = scratch / f"cue{index}.wav"
        speak(text, clip, scratch)
        pieces.append((start, clip))
    audio = scratch / "lecture.wav"
    duration = 9.5
    inputs: list[str] = []
    delays = []
    for index, (start, clip) in enumerate(pieces):
        inputs += ["-i", str(clip)]
        delays.append(f"[{index}]adelay={int(start * 1000)}|{int(start * 1000)}[a{index}]")
    mix = (
        ";".join(delays)
        + ";"
        + "".join(f"[a{i}]" for i in range(len(pieces)))
        + f"amix=inputs={len(pieces)}:normalize=0,apad=whole_dur={duration}[out]"
    )
    _run(
        "ffmpeg",
        "-y",
        *inputs,
        "-filter_complex",
        mix,
        "-map",
        "[out]",
        "-ar",
        "16000",
        "-ac",
        "1",
        "-t",
        str(duration),
        str(audio),
    )
    _run(
        "ffmpeg",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc=size=320x180:rate=10:duration={duration}",
        "-i",
        str(audio),
        "-c:v",
        "libx264",
        "-preset",
        "veryslow",
        "-crf",
        "35",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "32k",
        "-shortest",
        "-movflags",
        "+faststart",
        str(folder / "lecture.mp4"),
    )
    cues = ["WEBVTT", ""]
    for index, (start, text) in enumerate(LECTURE):
        end = LECTURE[index + 1][0] - 0.2 if index + 1 < len(LECTURE) else duration - 0.5
        cues += [f"{_vtt_time(start)} --> {_vtt_time(end)}", text, ""]
    (folder / "lecture.vtt").write_text("\n".join(cues))
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "version": 1,
                "id": "rivers-lecture",
                "profile": "education",
                "language": "en-US",
                "assets": [
                    {"path": "lecture.mp4", "role": "primary"},
                    {
                        "path": "lecture.vtt",
                        "role": "captions",
                        "relation": "redundant",
                        "syncs_with": "lecture.mp4",
                    },
                ],
            },
            indent=2,
        )
        + "\n"
    )


def make_broken() -> None:
    image = Image.new("RGB", (200, 120), (90, 160, 90))
    with tempfile.TemporaryDirectory() as scratch:
        whole = Path(scratch) / "whole.png"
        image.save(whole)
        (HERE / "broken.png").write_bytes(whole.read_bytes()[:60])


def main() -> None:
    HERE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="samples-") as scratch:
        make_speech(Path(scratch))
        make_poster()
        make_product()
        make_lecture(Path(scratch))
        make_broken()
    total = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    print(f"samples written to {HERE} ({total / 1024:.0f} KiB in total)")


if __name__ == "__main__":
    main()
