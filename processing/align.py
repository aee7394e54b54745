"""Command line for the alignment tools (the same code the SageMaker job runs).

python -m processing.align sync --audio A --captions C --out FIXED [--json]
python -m processing.align timeline --video V [--captions C] [--transcript T] --out DIR
python -m processing.align quality FILE... [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from processing import sync_report
from processing.captions import CaptionsError, load_cues
from processing.media import MediaError
from processing.quality import audio_quality, image_quality
from processing.scenes import detect_scenes
from processing.sync import sync_captions
from processing.timeline import Span, join_timeline, load_transcript_words, write_jsonl


def _sync(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    result, _ = sync_captions(args.audio, args.captions, args.out, max_offset_s=args.max_offset)
    fit = sync_report.outcome(result, captions_path=str(args.captions), media_path=str(args.audio))
    return {
        **fit.model_dump(mode="json", exclude={"corrected_captions"}),
        "out": str(args.out),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _timeline(args: argparse.Namespace) -> dict[str, Any]:
    out: Path = args.out
    scenes = detect_scenes(args.video, out / "keyframes", threshold=args.threshold)
    scene_spans = [Span(s.start_s, s.end_s, None, f"keyframes/{s.keyframe.name}") for s in scenes]
    cues = []
    if args.captions:
        cues = [
            Span(c.start_s, c.end_s, c.text, args.captions.name)
            for c in load_cues(args.captions)[0]
        ]
    words = load_transcript_words(args.transcript) if args.transcript else []
    entries = join_timeline(words, cues, scene_spans)
    write_jsonl(entries, out / "timeline.jsonl")
    return {
        "scenes": [
            {
                "start_s": s.start_s,
                "end_s": s.end_s,
                "keyframe": f"keyframes/{s.keyframe.name}",
                "sharpness": s.quality.sharpness,
            }
            for s in scenes
        ],
        "counts": {"words": len(words), "cues": len(cues), "scenes": len(scenes)},
        "timeline": str(out / "timeline.jsonl"),
    }


def _quality(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for path in args.files:
        try:
            with Image.open(path) as img:
                report[str(path)] = {"image": image_quality(img).model_dump()}
            continue
        except (UnidentifiedImageError, OSError):
            pass
        report[str(path)] = {"audio": audio_quality(path).model_dump()}
    return report


def _human(command: str, data: dict[str, Any]) -> str:
    if command == "sync":
        lines = [
            f"offset {data['offset_s']:+.3f} s, drift {data['drift']:.6f}, "
            f"score {data['score']:.2f} ({data['agreeing_cues']}/{data['cues']} cues), "
            f"wrote {data['out']}"
        ]
        if len(data["segments"]) > 1:
            lines += [
                f"  cues {s['first_cue']}-{s['last_cue']}: offset {s['offset_s']:+.3f} s, "
                f"score {s['score']:.2f}"
                for s in data["segments"]
            ]
            lines += [
                f"  {b['kind']} {b['length_s']:.2f} s at {b['audio_s']:.2f} s of the audio "
                f"({b['captions_s']:.2f} s of the captions)"
                + (
                    f", cues {b['left_out_first']}-{b['left_out_last']} left out"
                    if b["left_out_first"] is not None
                    else ""
                )
                for b in data["breaks"]
            ]
        return "\n".join(lines)
    return json.dumps(data, indent=2)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m processing.align",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sync = sub.add_parser("sync", help="fix caption offset and drift against the speech")
    sync.add_argument("--audio", type=Path, required=True, help="audio or video file")
    sync.add_argument("--captions", type=Path, required=True, help="WebVTT or SRT")
    sync.add_argument("--out", type=Path, required=True, help="corrected captions (.vtt/.srt)")
    sync.add_argument("--max-offset", type=float, default=60.0, help="seconds (default 60)")
    sync.add_argument("--json", action="store_true", help="print one JSON object")
    tl = sub.add_parser("timeline", help="scenes, keyframes and the joined timeline")
    tl.add_argument("--video", type=Path, required=True)
    tl.add_argument("--captions", type=Path)
    tl.add_argument("--transcript", type=Path, help="Transcribe JSON or {words: [...]}")
    tl.add_argument("--out", type=Path, required=True, help="folder for keyframes and timeline")
    tl.add_argument("--threshold", type=float, default=30.0, help="scene cut threshold (0-255)")
    tl.add_argument("--json", action="store_true")
    q = sub.add_parser("quality", help="loudness, silence, clipping; sharpness, resolution")
    q.add_argument("files", type=Path, nargs="+")
    q.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"sync": _sync, "timeline": _timeline, "quality": _quality}
    try:
        data = handlers[args.command](args)
    except (CaptionsError, MediaError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(data) if args.json else _human(args.command, data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
