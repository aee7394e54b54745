"""The SageMaker Processing job: align one item's captions, scenes and audio quality.

Conventions (SageMaker Processing): inputs under /opt/ml/processing/input, outputs under
/opt/ml/processing/output; both overridable with --input-root / --output-root.

    input_root/plan/plan.json      the intake gate's ItemPlan
    input_root/plan/transcripts/*.json  Transcribe's output for the item's speech (the job
                                   runs after transcription), joined with cues and scenes
    input_root/media/<asset.path>  the item's files
    output_root/alignment/         alignment.json, timeline.jsonl, captions/, keyframes/

Local mode calls `run_job` in-process with the same layout.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from pipeline_contracts.item import Asset, ItemPlan
from pipeline_contracts.timing import is_transcript_words, sync_target, timed_media
from pipeline_contracts.work.alignment import (
    TIMELINE_REPORT_LIMIT,
    AlignmentReport,
    Quality,
    Scene,
    SyncOutcome,
    TimelineCounts,
)
from processing import sync_report
from processing.captions import CaptionsError, Cue, load_cues
from processing.media import MediaError, decode_audio
from processing.plan import PlanError, asset_file, load_plan
from processing.quality import audio_quality
from processing.scenes import detect_scenes
from processing.speech import RATE, SpeechActivity, speech_activity
from processing.sync import sync_captions
from processing.timeline import Span, join_timeline, load_transcript_words, write_jsonl

DEFAULT_INPUT_ROOT = Path("/opt/ml/processing/input")
DEFAULT_OUTPUT_ROOT = Path("/opt/ml/processing/output")

logger = logging.getLogger("processing.job")


def _flat_name(asset_path: str, suffix: str) -> str:
    """`a/b/talk.en.srt` -> `a__b__talk.en.vtt`: one file name per asset, no folders."""
    parts = PurePosixPath(asset_path).parts
    stem = PurePosixPath(parts[-1]).stem
    return "__".join([*parts[:-1], stem]) + suffix


class _Job:
    def __init__(self, plan: ItemPlan, media_root: Path, out: Path) -> None:
        self.plan = plan
        self.media_root = media_root
        self.out = out
        self.warnings: list[str] = []
        self.syncs: list[SyncOutcome] = []
        self.scenes: list[Scene] = []
        self.quality = Quality()
        self.cue_spans: list[Span] = []
        self._activity: dict[Path, SpeechActivity] = {}

    def file(self, asset: Asset) -> Path | None:
        path = asset_file(self.media_root, asset)
        if not path.is_file():
            self.warnings.append(f"{asset.path}: file not found in the job's media input")
            return None
        return path

    def activity(self, media: Path) -> SpeechActivity:
        if media not in self._activity:
            self._activity[media] = speech_activity(decode_audio(media, rate=RATE)[0])
        return self._activity[media]

    def sync_all(self) -> None:
        for captions in (a for a in self.plan.assets if a.modality == "captions"):
            cap_file = self.file(captions)
            if cap_file is None:
                continue
            target = sync_target(self.plan.assets, captions)
            media_file = self.file(target) if target else None
            if target is None or media_file is None:
                reason = (
                    f"syncs_with {captions.syncs_with!r} names no audio or video asset"
                    if captions.syncs_with
                    else "no single audio or video asset to sync with"
                )
                self.warnings.append(f"{captions.path}: not synchronised: {reason}")
                self._raw_cues(captions, cap_file)
                continue
            name = _flat_name(captions.path, ".vtt")
            try:
                result, fixed = sync_captions(
                    media_file,
                    cap_file,
                    self.out / "captions" / name,
                    activity=self.activity(media_file),
                )
            except (CaptionsError, MediaError) as exc:
                self.warnings.append(f"{captions.path}: not synchronised: {exc}")
                continue
            ref = f"captions/{name}"
            self.syncs.append(
                sync_report.outcome(
                    result,
                    captions_path=captions.path,
                    media_path=target.path,
                    corrected_captions=ref,
                )
            )
            self.cue_spans.extend(_spans(fixed, ref))

    def _raw_cues(self, captions: Asset, cap_file: Path) -> None:
        try:
            cues, _ = load_cues(cap_file)
        except CaptionsError as exc:
            self.warnings.append(f"{captions.path}: {exc}")
            return
        self.cue_spans.extend(_spans(cues, captions.path))

    def scenes_all(self) -> None:
        videos = [a for a in self.plan.assets if a.modality == "video"]
        for i, video in enumerate(videos):
            path = self.file(video)
            if path is None:
                continue
            prefix = "" if len(videos) == 1 else f"{video.asset_id or i}-"
            try:
                found = detect_scenes(path, self.out / "keyframes", prefix=prefix)
            except MediaError as exc:
                self.warnings.append(f"{video.path}: no scenes: {exc}")
                continue
            for scene in found:
                rel = f"keyframes/{scene.keyframe.name}"
                self.scenes.append(
                    Scene(
                        media_path=video.path,
                        start_s=scene.start_s,
                        end_s=scene.end_s,
                        keyframe=rel,
                    )
                )
                self.quality.images[rel] = scene.quality

    def quality_all(self) -> None:
        """Audio quality of the item's audio and video (the job decodes their sound anyway).
        Images are measured where the vision branch decodes them (media_preparation), and
        `quality.images` holds the keyframes this job cuts."""
        for asset in timed_media(self.plan.assets):
            path = self.file(asset)
            if path is None:
                continue
            try:
                self.quality.audio[asset.path] = audio_quality(path)
            except MediaError as exc:
                if asset.modality == "audio" or asset.has_audio:
                    self.warnings.append(f"{asset.path}: no audio quality: {exc}")
            except OSError as exc:
                self.warnings.append(f"{asset.path}: no audio quality: {exc}")

    def transcript_words(self, input_root: Path) -> list[Span]:
        files = [
            path
            for asset in self.plan.assets
            if is_transcript_words(asset) and (path := self.file(asset)) is not None
        ]
        folder = input_root / "plan" / "transcripts"
        if folder.is_dir():
            files.extend(sorted(folder.glob("*.json")))
        words: list[Span] = []
        for path in files:
            try:
                words.extend(load_transcript_words(path))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                self.warnings.append(f"{path.name}: transcript not usable: {exc}")
        return words


def _spans(cues: Sequence[Cue], ref: str) -> list[Span]:
    return [Span(round(c.start_s, 3), round(c.end_s, 3), c.text, ref) for c in cues]


def run_job(input_root: Path, output_root: Path) -> AlignmentReport:
    """Align one item. Writes output_root/alignment/alignment.json and returns the report.

    Problems with one asset (undecodable media, unparsable captions) become warnings and
    the rest of the item is still aligned; a missing or invalid plan raises PlanError.
    """
    plan = load_plan(input_root / "plan" / "plan.json")
    out = output_root / "alignment"
    out.mkdir(parents=True, exist_ok=True)
    job = _Job(plan, input_root / "media", out)
    job.sync_all()
    job.scenes_all()
    job.quality_all()
    words = job.transcript_words(input_root)
    scene_spans = [Span(s.start_s, s.end_s, None, s.keyframe) for s in job.scenes]
    timeline = join_timeline(words, job.cue_spans, scene_spans)
    full = write_jsonl(timeline, out / "timeline.jsonl")
    report = AlignmentReport(
        item_id=plan.item_id,
        score=min((s.score for s in job.syncs), default=None),
        syncs=job.syncs,
        scenes=job.scenes,
        quality=job.quality,
        timeline=timeline[:TIMELINE_REPORT_LIMIT],
        timeline_counts=TimelineCounts(
            words=len(words),
            cues=len(job.cue_spans),
            scenes=len(scene_spans),
            in_report=min(len(timeline), TIMELINE_REPORT_LIMIT),
            full_timeline=full.name,
        ),
        warnings=job.warnings,
    )
    (out / "alignment.json").write_text(report.model_dump_json(indent=2), encoding="utf-8")
    logger.info(
        "aligned item %s: score=%s syncs=%d scenes=%d warnings=%d",
        plan.item_id,
        report.score,
        len(job.syncs),
        len(job.scenes),
        len(job.warnings),
    )
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m processing.job",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--input-root", type=Path, default=DEFAULT_INPUT_ROOT)
    parser.add_argument("--output-root", type=Path, default=DEFAULT_OUTPUT_ROOT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        report = run_job(args.input_root, args.output_root)
    except PlanError as exc:
        print(f"alignment job: {exc}", file=sys.stderr)
        return 2
    print(report.model_dump_json(include={"item_id", "score", "warnings"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
