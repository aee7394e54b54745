"""Items per second through local mode (stub providers), and the peak memory.

    .venv/bin/python benchmarks/local_throughput.py [--items 120] [--concurrency 16]

Builds a batch of mixed items (images, text, speech-length WAVs, image+description bundles,
and a few broken files), runs it through the synthesized pipeline in moto with the stub
providers, and prints throughput, the terminal-place counts and the peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import resource
import struct
import sys
import tempfile
import time
import wave
from pathlib import Path

from PIL import Image

from mmpipe.local.run.runner import LocalRun
from mmpipe.local.synth import synthesized


def _wav(path: Path, seconds: float, frequency: float) -> None:
    rate = 16_000
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(
            b"".join(
                struct.pack("<h", int(8000 * math.sin(2 * math.pi * frequency * i / rate)))
                for i in range(int(rate * seconds))
            )
        )


def make_batch(folder: Path, count: int) -> Path:
    """`count` mixed items: 30 % images, 25 % text, 20 % audio, 20 % bundles, 5 % broken."""
    for index in range(count):
        kind = index % 20
        colour = ((index * 37) % 256, (index * 91) % 256, (index * 53) % 256)
        if kind < 6:
            Image.new("RGB", (320 + index % 5 * 40, 240), colour).save(folder / f"img{index}.png")
        elif kind < 11:
            (folder / f"note{index}.txt").write_text(
                f"Note {index}. This is a short product note about item {index}. "
                "It is blue, light and made of ceramic. Customers like it.\n"
            )
        elif kind < 15:
            _wav(folder / f"tone{index}.wav", 2.0, 220 + index)
        elif kind < 19:
            bundle = folder / f"bundle{index}"
            bundle.mkdir()
            Image.new("RGB", (300, 300), colour).save(bundle / "photo.jpg")
            (bundle / "description.txt").write_text(f"A photo of product {index}.\n")
            (bundle / "manifest.json").write_text(
                json.dumps(
                    {
                        "version": 1,
                        "profile": "catalog",
                        "assets": [
                            {"path": "photo.jpg"},
                            {"path": "description.txt", "role": "description"},
                        ],
                    }
                )
            )
        else:
            (folder / f"broken{index}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=120)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    cdk_out, _ = synthesized()
    with tempfile.TemporaryDirectory(prefix="mmpipe-bench-") as scratch:
        inputs = Path(scratch, "in")
        inputs.mkdir()
        batch = make_batch(inputs, args.items)
        started = time.monotonic()
        report = LocalRun(
            cdk_out,
            Path(scratch, "out"),
            providers="stub",
            concurrency=args.concurrency,
            timeout_s=1800,
        ).run([batch])
        elapsed = time.monotonic() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts = report.counts()
    print(f"items: {len(report.outcomes)} (mixed: images, text, audio, bundles, broken)")
    print(f"terminal places: {counts} (all terminal: {report.ok})")
    print(f"wall time: {elapsed:.1f} s including moto set-up; concurrency {args.concurrency}")
    print(
        f"throughput: {len(report.outcomes) / elapsed:.2f} items/s (stub providers, "
        f"time scale x{report.time_scale:g})"
    )
    print(f"peak memory (max RSS): {peak_mib:.0f} MiB")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
