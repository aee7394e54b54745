"""Scene changes and keyframes of a video, with timestamps.

Frames are sampled at up to 10 a second and compared as 64x36 grey thumbnails; a cut is a
mean absolute difference above a threshold (0..255 scale), at least `min_scene_s` after the
previous cut. The first frame of each scene is written as its keyframe.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline_contracts.work.alignment import ImageQuality
from processing.media import iter_video_frames
from processing.quality import image_quality


@dataclass(frozen=True)
class DetectedScene:
    start_s: float
    end_s: float
    keyframe: Path
    quality: ImageQuality


def keyframe_name(t: float, prefix: str = "") -> str:
    return f"{prefix}{t:010.3f}.jpg"


def detect_scenes(
    video: Path,
    keyframe_dir: Path,
    *,
    threshold: float = 30.0,
    min_scene_s: float = 0.5,
    max_fps: float = 10.0,
    keyframe_edge: int = 640,
    prefix: str = "",
) -> list[DetectedScene]:
    """Split `video` into scenes; write each scene's first frame to `keyframe_dir`."""
    keyframe_dir.mkdir(parents=True, exist_ok=True)
    starts: list[tuple[float, Path, ImageQuality]] = []
    previous: np.ndarray | None = None
    last_cut = -1e9
    last_time = 0.0
    for vf in iter_video_frames(video, max_fps=max_fps):
        last_time = vf.time_s
        grey = vf.grey.astype(np.int16)
        is_cut = previous is None or (
            float(np.abs(grey - previous).mean()) > threshold
            and vf.time_s - last_cut >= min_scene_s
        )
        previous = grey
        if not is_cut:
            continue
        last_cut = vf.time_s
        image = vf.frame.to_image()  # type: ignore[no-untyped-call]
        quality = image_quality(image)
        image.thumbnail((keyframe_edge, keyframe_edge))
        out = keyframe_dir / keyframe_name(vf.time_s, prefix)
        image.save(out, format="JPEG", quality=85)
        starts.append((vf.time_s, out, quality))
    end_of_video = last_time + 1.0 / max_fps
    scenes = []
    for i, (t, path, quality) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else end_of_video
        scenes.append(DetectedScene(round(t, 3), round(end, 3), path, quality))
    return scenes
