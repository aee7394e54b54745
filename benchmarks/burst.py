"""A thousand mixed files dropped at once, under the default quotas and throttling.

    .venv/bin/python benchmarks/burst.py [--items 1000] [--inject bedrock-throttle=0.5]

Builds a mixed burst (images, text, speech-length audio, short videos, catalog bundles, video
lectures with captions, a few broken files), runs it through the synthesized pipeline in local
mode (stub providers, the default quotas emulated as the services answer past them), and
prints: items by place, how many waited on which quota, the drain time at real-time scale
the quotas allow, cost per item by kind with the orchestration share beside Bedrock Data
Automation's prices, peak memory and items per second; then each of the issue's burst and
cost targets with PASS or FAIL. Exit status 1 when a target fails.

What the emulation cannot know: real model and Transcribe latency (the stand-ins answer in
milliseconds), the quota values of a given account (new accounts often get less than the
documented defaults), and SageMaker's minutes of instance start-up.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import resource
import subprocess
import sys
import tempfile
import time
import wave
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from mmpipe.cost import BDA_ANCHORS, rows_from_dir, summarize, usd
from mmpipe.local.faults import parse_faults
from mmpipe.local.run.runner import LocalRun
from mmpipe.local.synth import synthesized
from mmpipe.local.waits import waits_in
from pipeline.config import PipelineConfig

# Out of every 40 items.
MIX = {
    "image": 12,
    "text": 7,
    "audio": 8,
    "video": 2,
    "catalog bundle": 6,
    "lecture bundle": 3,
    "broken": 2,
}
AUDIO_RATE = 8_000
AUDIO_SECONDS = (30, 60, 90)
VIDEO_SECONDS = 20
# Errors that mean a quota, not the input, ended an item somewhere it should not be.
QUOTA_ERRORS = (
    "ServiceThrottled",
    "CapacityUnavailable",
    "TooManyRequests",
    "LimitExceeded",
    "ResourceLimitExceeded",
    "ThrottlingException",
)


def _tone(path: Path, seconds: int, frequency: float) -> None:
    t = np.arange(AUDIO_RATE * seconds) / AUDIO_RATE
    samples = (6000 * np.sin(2 * math.pi * frequency * t)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(AUDIO_RATE)
        out.writeframes(samples.tobytes())


def _video(path: Path, seconds: int, seed: int) -> None:
    subprocess.run(
        [
            "ffmpeg", "-y", "-loglevel", "error",
            "-f", "lavfi", "-i", f"testsrc=size=160x120:rate=10:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency={300 + seed % 500}:duration={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-shortest", str(path),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


def _captions(path: Path, seconds: int) -> None:
    cues = [
        f"{i + 1}\n00:00:{i * 4:02d},000 --> 00:00:{i * 4 + 3:02d},500\nLine {i + 1} of the talk."
        for i in range(seconds // 4)
    ]
    path.write_text("\n\n".join(cues) + "\n")


def _picture(size: tuple[int, int], colour: tuple[int, int, int], seed: int) -> Image.Image:
    """A picture with edges (a flat colour fails the sharpness gate, as a blank photo should)."""
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    for step in range(12):
        x, y = (seed * 31 + step * 53) % size[0], (seed * 17 + step * 41) % size[1]
        draw.rectangle((x, y, x + 60, y + 40), outline=(255 - colour[0], 255, 0), width=3)
    draw.text((20, 20), f"ITEM {seed}", fill=(0, 0, 0))
    return image


def _kinds(count: int) -> list[str]:
    cycle = [kind for kind, share in MIX.items() for _ in range(share)]
    return [cycle[index % len(cycle)] for index in range(count)]


def make_burst(folder: Path, count: int) -> Counter[str]:
    """`count` items in MIX's proportions; returns how many of each kind."""
    videos = folder.parent / "video-cache"
    videos.mkdir(exist_ok=True)
    made: Counter[str] = Counter()
    for index, kind in enumerate(_kinds(count)):
        made[kind] += 1
        colour = ((index * 37) % 256, (index * 91) % 256, (index * 53) % 256)
        if kind == "image":
            _picture((640, 480), colour, index).save(folder / f"photo{index}.png")
        elif kind == "text":
            (folder / f"note{index}.txt").write_text(
                f"Support note {index}. The customer asked about order {index * 7}; "
                "the parcel left the warehouse on Monday and arrives on Thursday.\n" * 8
            )
        elif kind == "audio":
            seconds = AUDIO_SECONDS[index % len(AUDIO_SECONDS)]
            _tone(folder / f"call{index}.wav", seconds, 200 + index % 300)
        elif kind in ("video", "lecture bundle"):
            # Encoding is the slow part: a handful of distinct videos, copied.
            source = videos / f"v{index % 7}.mp4"
            if not source.exists():
                _video(source, VIDEO_SECONDS, index)
            if kind == "video":
                (folder / f"clip{index}.mp4").write_bytes(source.read_bytes())
            else:
                bundle = folder / f"lecture{index}"
                bundle.mkdir()
                (bundle / "talk.mp4").write_bytes(source.read_bytes())
                _captions(bundle / "talk.srt", VIDEO_SECONDS)
                _manifest(bundle, "education", [("talk.mp4", None), ("talk.srt", "captions")])
        elif kind == "catalog bundle":
            bundle = folder / f"product{index}"
            bundle.mkdir()
            _picture((800, 800), colour, index).save(bundle / "photo.jpg")
            (bundle / "description.txt").write_text(f"A ceramic mug, product {index}.\n")
            _manifest(bundle, "catalog", [("photo.jpg", None), ("description.txt", "description")])
        else:
            (folder / f"broken{index}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    return made


def _manifest(bundle: Path, profile: str, assets: list[tuple[str, str | None]]) -> None:
    entries = [
        {"path": path, **({"role": role} if role else {})}
        | ({"syncs_with": assets[0][0]} if role == "captions" else {})
        for path, role in assets
    ]
    (bundle / "manifest.json").write_text(
        json.dumps({"version": 1, "profile": profile, "assets": entries})
    )


def _records(out: Path) -> dict[str, dict[str, object]]:
    """Every record by item id (results, quarantine, failures)."""
    records: dict[str, dict[str, object]] = {}
    for kind in ("results", "quarantine", "failures"):
        for path in sorted((out / kind).rglob("*.json")) if (out / kind).is_dir() else []:
            record = json.loads(path.read_text())
            records[str(record["item_id"])] = record
    return records


def _ended_by_quota(record: dict[str, object]) -> bool:
    """A degraded or failed record whose cause is a quota, not the input."""
    text = json.dumps(
        {key: record.get(key) for key in ("failure", "branches", "degraded_branches")}
    )
    return record.get("status") in ("degraded", "failed") and any(
        error in text for error in QUOTA_ERRORS
    )


def drain_minutes(
    records: dict[str, dict[str, object]], entered: dict[str, set[str]]
) -> dict[str, float]:
    """The least time each quota lets the burst drain in, at real-time scale, from what the
    burst asked of it: model calls and tokens (per model), Transcribe audio, alignment jobs."""
    quotas = PipelineConfig().quotas
    calls: Counter[str] = Counter()
    tokens: Counter[str] = Counter()
    audio_minutes, jobs = 0.0, 0
    for item, record in records.items():
        jobs += "Run alignment job" in entered.get(item, set())
        for asset in record.get("assets") or []:  # type: ignore[attr-defined]
            if asset.get("modality") in ("audio", "video") and asset.get("has_audio"):
                audio_minutes += float(asset.get("duration_s") or 0) / 60
        models = [str(m) for m in record.get("model_ids") or []]  # type: ignore[attr-defined]
        for model in models:
            calls[model] += 1
        for line in (record.get("cost") or {}).get("lines", []):  # type: ignore[attr-defined]
            priced = next((m for m in models if m in line["unit"]), None)
            if line["service"] == "bedrock" and priced:
                tokens[priced] += round(float(line["quantity"]) * 1000)
    minutes: dict[str, float] = {}
    for model, count in calls.items():
        quota = quotas.model(model)
        minutes[f"bedrock {model}"] = max(
            count / quota.requests_per_minute, tokens[model] / quota.tokens_per_minute
        )
    # Transcribe runs a job in about a third of its audio's length (a planning figure).
    minutes["transcribe"] = audio_minutes / 3 / quotas.transcribe_concurrent_jobs
    # An ml.m5.large processing job: about 4 minutes of start-up and a minute of work.
    minutes["sagemaker"] = jobs * 5 / quotas.sagemaker_processing_instances
    return minutes


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--inject", default="bedrock-throttle=0.5")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--keep", type=Path, default=None, help="keep the run's folder here")
    args = parser.parse_args()
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    cdk_out, _ = synthesized()
    with tempfile.TemporaryDirectory(prefix="mmpipe-burst-") as scratch:
        inputs = Path(scratch, "in")
        inputs.mkdir()
        made = make_burst(inputs, args.items)
        out = args.keep or Path(scratch, "out")
        started = time.monotonic()
        report = LocalRun(
            cdk_out,
            out,
            providers="stub",
            faults=parse_faults(args.inject),
            concurrency=args.concurrency,
            timeout_s=4 * 3600,
            progress=None,
        ).run([inputs])
        elapsed = time.monotonic() - started
        records = _records(out)
        # The states each item's execution entered, from the histories the run collected.
        entered = {
            outcome.item_id: {
                event["stateEnteredEventDetails"]["name"]
                for event in outcome.history
                if "stateEnteredEventDetails" in event
            }
            for outcome in report.outcomes
            if outcome.item_id
        }
        waits = waits_in(out / "executions")
        rows, without_cost = rows_from_dir(out)
        by_quota = [item for item, record in records.items() if _ended_by_quota(record)]
        jobs_without_work = [
            item
            for item, record in records.items()
            if record.get("status") in ("processed", "degraded")
            and "Run alignment job" in entered.get(item, set())
            and "video" not in json.dumps(record.get("modalities"))
            and "captions" not in json.dumps(record.get("assets"))
        ]
        drain = drain_minutes(records, entered)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts = report.counts()

    print(f"burst: {len(report.outcomes)} items at once ({dict(made)}); faults: {args.inject}")
    print(f"places: {counts}; every item in exactly one place: {report.ok}")
    print(f"ended degraded or failed because of a quota or throttling: {len(by_quota)}")
    print("\nwaited (attempts / items), per quota: admission control, or the service throttled")
    for service, why, attempts, items in waits.rows():
        print(f"  {service:<11} {why:<10} {attempts:>6} attempts  {items:>5} items")
    refusals = ", ".join(f"{k} {v}" for k, v in sorted(report.quota_refusals.items())) or "none"
    print(f"calls the emulated services refused past the default quotas: {refusals}")
    print("\ndrain time at real-time scale, as the default quotas allow (minutes):")
    for quota, minutes in sorted(drain.items(), key=lambda kv: -kv[1]):
        print(f"  {quota:<40} {minutes:8.1f}")
    print(
        "\ncost per item, by kind (USD; prices as of "
        f"{rows[0].prices_as_of if rows else '?'}; {without_cost} results without cost):"
    )
    print(f"  {'kind':<9}{'items':>6}{'mean':>11}{'per minute':>12}{'orch. share':>13}{'BDA':>10}")
    summaries = {s.kind: s for s in summarize(rows)}
    for summary in summaries.values():
        minutes = summary.audio_minutes + summary.video_minutes
        per_minute = usd(summary.total_usd / minutes) if minutes else ""
        anchor = BDA_ANCHORS.get(summary.kind)
        bda = f"${anchor[1]:g}/{anchor[0].split()[-1]}" if anchor else ""
        print(
            f"  {summary.kind:<9}{summary.items:>6}{usd(summary.mean_usd):>11}{per_minute:>12}"
            f"{summary.orchestration_share:>12.1%}{bda:>11}"
        )
    print(
        f"\nwall time {elapsed:.0f} s: {len(report.outcomes) / elapsed:.2f} items/s "
        f"(stub providers, time scale x{report.time_scale:g}); peak memory {peak_mib:.0f} MiB"
    )

    image = summaries.get("image")
    targets = {
        "every item in exactly one place": report.ok
        and sum(counts.values()) == len(report.outcomes),
        "none degraded or failed by throttling or quotas": not by_quota,
        "no SageMaker job without alignment work": not jobs_without_work,
        "orchestration <= 10 % of an audio item": bool(
            summaries.get("audio") and summaries["audio"].orchestration_share <= 0.10
        ),
        "orchestration <= 10 % of a video item": bool(
            summaries.get("video") and summaries["video"].orchestration_share <= 0.10
        ),
        "an image below $0.003": bool(image and image.mean_usd < 0.003),
    }
    # (The 1 GiB and 5 items/s targets are local_throughput.py's, at 120 items: a thousand
    # at once keeps a thousand executions' histories in moto, and is printed, not judged.)
    print()
    for name, held in targets.items():
        print(f"  {'PASS' if held else 'FAIL'}  {name}")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
