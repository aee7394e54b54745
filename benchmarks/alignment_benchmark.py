"""Caption sync: this project's aligner against ffsubsync, on the same generated inputs.

    .venv/bin/python benchmarks/alignment_benchmark.py [--quick] [--cache DIR] [--repeat N]

For each clip (espeak-ng speech, 1 to 10 minutes, clean or under a music bed and pink
noise) the captions are shifted by a known offset and stretched by a known drift; both tools
run as command-line programs with default settings, and the table shows each one's mean
absolute error of the corrected cue starts, its wall time (best of --repeat), and the
ratios (ours / ffsubsync: below 1 is better). It ends with the timing of the timeline join
of 30,000 words, 3,000 cues and 10,000 scenes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._media import (  # noqa: E402
    TruthCue,
    distorted_cues,
    generate_clip,
    kept_truth,
    start_errors,
    write_captions,
)
from processing.timeline import Span, join_timeline  # noqa: E402

# Offsets within +-10 s, drifts within 0.5 %; drift-free noisy clips isolate the music bed.
# Offsets are not multiples of 10 ms: real ones are not, and a grid-exact offset would hand
# a frame-quantised aligner an exact answer for free.
CLIPS = [
    # (duration s, noisy, offset s, drift, seed)
    (60, False, 3.347, 1.0, 60),
    (60, True, -6.213, 1.003, 61),
    (60, True, 2.718, 1.0, 7),
    (180, False, -9.561, 0.996, 180),
    (180, True, 7.138, 1.005, 181),
    (180, True, -4.321, 1.0, 8),
    (300, False, 9.874, 0.995, 300),
    (300, True, -2.409, 1.002, 301),
    (600, False, 4.826, 1.004, 600),
    (600, True, -8.852, 0.997, 601),
]
QUICK = CLIPS[:3]


@dataclass
class Run:
    wall_s: float
    error_s: float = 0.0
    missing: int = 0

    def score(self, out: Path, truth: list[TruthCue]) -> Run:
        errors, self.missing = start_errors(out, truth)
        self.error_s = sum(errors) / len(errors) if errors else float("inf")
        return self


def _timed(cmd: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


def run_ours(audio: Path, captions: Path, out: Path, repeat: int) -> float:
    cmd = [
        sys.executable,
        "-m",
        "processing.align",
        "sync",
        "--audio",
        str(audio),
        "--captions",
        str(captions),
        "--out",
        str(out),
        "--json",
    ]
    return _timed(cmd, repeat)


def run_ffsubsync(audio: Path, captions: Path, out: Path, repeat: int) -> float:
    exe = shutil.which("ffsubsync") or str(Path(sys.executable).parent / "ffsubsync")
    return _timed([exe, str(audio), "-i", str(captions), "-o", str(out)], repeat)


def join_benchmark() -> tuple[int, float]:
    words = [Span(i * 0.2, i * 0.2 + 0.15, "w") for i in range(30_000)]
    cues = [Span(i * 2.0, i * 2.0 + 1.8, "c") for i in range(3_000)]
    scenes = [Span(i * 0.6, i * 0.6 + 0.6, ref="k.jpg") for i in range(10_000)]
    started = time.perf_counter()
    entries = join_timeline(words, cues, scenes)
    return len(entries), time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="only the 1-minute clips")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "mm-bench")
    parser.add_argument("--repeat", type=int, default=1, help="best-of-N wall time")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args()

    header = (
        f"{'clip':<20} {'offset':>7} {'drift':>6} | {'ours err':>8} {'ours s':>7} | "
        f"{'ffs err':>8} {'ffs s':>7} | {'err ratio':>9} {'time ratio':>10}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for duration, noisy, offset, drift, seed in QUICK if args.quick else CLIPS:
        clip = generate_clip(args.cache, duration, seed=seed, noisy=noisy)
        work = args.cache / clip.name
        captions = write_captions(work / "shifted.srt", distorted_cues(clip.cues, offset, drift))
        truth = kept_truth(clip.cues, offset, drift)
        ours_out, ffs_out = work / "ours.srt", work / "ffsubsync.srt"
        ours = Run(run_ours(clip.audio, captions, ours_out, args.repeat)).score(ours_out, truth)
        ffs = Run(run_ffsubsync(clip.audio, captions, ffs_out, args.repeat)).score(ffs_out, truth)
        err_ratio = ours.error_s / ffs.error_s if ffs.error_s else float("inf")
        time_ratio = ours.wall_s / ffs.wall_s
        print(
            f"{clip.name:<20} {offset:>+7.1f} {(drift - 1) * 100:>+5.1f}% | "
            f"{ours.error_s:>8.3f} {ours.wall_s:>7.2f} | {ffs.error_s:>8.3f} {ffs.wall_s:>7.2f} | "
            f"{err_ratio:>9.3f} {time_ratio:>10.2f}",
            flush=True,
        )
        rows.append(
            {
                "clip": clip.name,
                "offset_s": offset,
                "drift": drift,
                "ours_error_s": ours.error_s,
                "ours_wall_s": ours.wall_s,
                "ffsubsync_error_s": ffs.error_s,
                "ffsubsync_wall_s": ffs.wall_s,
            }
        )
    n, seconds = join_benchmark()
    print(
        f"\ntimeline join: 30000 words + 3000 cues + 10000 scenes -> {n} entries in {seconds:.3f} s"
    )
    if args.json:
        args.json.write_text(json.dumps({"clips": rows, "join_s": seconds}, indent=2))
    wins = sum(r["ours_error_s"] < r["ffsubsync_error_s"] for r in rows)
    faster = sum(r["ours_wall_s"] <= r["ffsubsync_wall_s"] for r in rows)
    print(
        f"lower error on {wins}/{len(rows)} clips; wall time <= ffsubsync on "
        f"{faster}/{len(rows)} clips"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
