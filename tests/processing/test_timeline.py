"""Scenes, keyframes and the word/cue/scene join."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks._media import make_video
from processing.scenes import detect_scenes
from processing.timeline import Span, join_timeline, load_transcript_words


def test_join_links_words_to_cues_and_scenes_in_time_order():
    # Given two scenes, two cues and three words (one between cues)
    scenes = [Span(0.0, 5.0, ref="k0.jpg"), Span(5.0, 10.0, ref="k1.jpg")]
    cues = [Span(6.0, 8.0, "second cue"), Span(1.0, 3.0, "first cue")]
    words = [Span(1.2, 1.5, "first"), Span(4.0, 4.2, "gap"), Span(6.5, 6.9, "second")]

    # When they are joined
    entries = join_timeline(words, cues, scenes)

    # Then entries are ordered by start, and each knows its cue and scene
    got = [(e.kind, e.text or e.ref, e.cue, e.scene) for e in entries]
    assert got == [
        ("scene", "k0.jpg", None, 0),
        ("cue", "first cue", 0, 0),
        ("word", "first", 0, 0),
        ("word", "gap", None, 0),
        ("scene", "k1.jpg", None, 1),
        ("cue", "second cue", 1, 1),
        ("word", "second", 1, 1),
    ]


def test_join_of_30000_words_3000_cues_10000_scenes_keeps_every_entry():
    # Given a long item's worth of words, cues and scenes (benchmarks/alignment_benchmark.py
    # prints how long this join takes; a timed assertion here failed on a loaded machine)
    words = [Span(i * 0.2, i * 0.2 + 0.15, "w") for i in range(30_000)]
    cues = [Span(i * 2.0, i * 2.0 + 1.8, "c") for i in range(3_000)]
    scenes = [Span(i * 0.6, i * 0.6 + 0.6, ref="k.jpg") for i in range(10_000)]

    # When they are joined
    entries = join_timeline(words, cues, scenes)

    # Then all are there, and every word found its cue or none
    assert len(entries) == 43_000
    word_cues = [e.cue for e in entries if e.kind == "word"]
    assert word_cues[:10] == [0] * 9 + [None]


def test_transcribe_json_words_are_read():
    # Given Amazon Transcribe output with two words and a punctuation item
    data = {
        "results": {
            "items": [
                {
                    "type": "pronunciation",
                    "start_time": "0.5",
                    "end_time": "0.9",
                    "alternatives": [{"content": "Hello"}],
                },
                {"type": "punctuation", "alternatives": [{"content": ","}]},
                {
                    "type": "pronunciation",
                    "start_time": "1.0",
                    "end_time": "1.4",
                    "alternatives": [{"content": "world"}],
                },
            ]
        }
    }

    # When its words are loaded
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.json"
        path.write_text(json.dumps(data))
        words = load_transcript_words(path)

    # Then only timed words come out
    assert words == [Span(0.5, 0.9, "Hello"), Span(1.0, 1.4, "world")]


@pytest.fixture(scope="module")
def three_scene_video(tmp_path_factory):
    folder = tmp_path_factory.mktemp("video")
    return make_video(folder / "v.mp4", None, [2.0, 1.5, 2.5])


def test_scene_cuts_are_found_at_their_times_with_keyframes(three_scene_video, tmp_path):
    # Given a video of three distinct test patterns of 2.0, 1.5 and 2.5 s

    # When scenes are detected
    scenes = detect_scenes(three_scene_video, tmp_path / "kf")

    # Then there are three scenes starting at 0, 2.0 and 3.5 s, each with a JPEG keyframe
    assert [s.start_s for s in scenes] == pytest.approx([0.0, 2.0, 3.5], abs=0.12)
    assert scenes[-1].end_s == pytest.approx(6.0, abs=0.15)
    for scene in scenes:
        assert scene.keyframe.read_bytes()[:2] == b"\xff\xd8"
        assert scene.quality.width == 320
        assert scene.quality.sharpness > 10


def test_timeline_cli_writes_keyframes_and_joined_timeline(three_scene_video, tmp_path):
    # Given the video and captions with one cue in its second scene
    captions = tmp_path / "c.vtt"
    captions.write_text("WEBVTT\n\n00:00:02.500 --> 00:00:03.000\nhello\n")

    # When the timeline command runs
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "processing.align",
            "timeline",
            "--video",
            str(three_scene_video),
            "--captions",
            str(captions),
            "--out",
            str(tmp_path / "o"),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )

    # Then keyframes exist and the cue is joined to scene 1
    data = json.loads(proc.stdout)
    assert data["counts"] == {"words": 0, "cues": 1, "scenes": 3}
    assert all((tmp_path / "o" / s["keyframe"]).is_file() for s in data["scenes"])
    lines = [json.loads(x) for x in (tmp_path / "o" / "timeline.jsonl").read_text().splitlines()]
    assert [x for x in lines if x["kind"] == "cue"] == [
        {
            "start_s": 2.5,
            "end_s": 3.0,
            "kind": "cue",
            "text": "hello",
            "ref": "c.vtt",
            "cue": 0,
            "scene": 1,
        }
    ]
