"""Text tools: chunking with bounded overlap, visible text from HTML, readable text from
captions, JSON and odd encodings (the text the model reads, whatever the file held)."""

from __future__ import annotations

import itertools
import random

import pytest

from pipeline.domain.text_tools import chunk_text, html_to_text, readable_text


def _assert_well_formed(chunks, text: str, size: int, overlap: int) -> None:
    assert chunks[0].start == 0
    assert chunks[-1].end == len(text)
    for chunk in chunks:
        assert 0 < len(chunk.text) <= size
        assert chunk.text == text[chunk.start : chunk.end]
    for previous, following in itertools.pairwise(chunks):
        assert following.start <= previous.end, "no gap between chunks"
        assert following.start >= previous.end - overlap, "overlap is bounded"
        assert following.start > previous.start, "always progresses"


@pytest.mark.parametrize("seed", range(5))
def test_chunks_cover_the_text_with_bounded_overlap(seed):
    # Given text of random paragraphs and sentences
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "kettle", "über", "日本語"]
    paragraphs = [
        " ".join(
            " ".join(rng.choice(words) for _ in range(rng.randint(3, 25))) + rng.choice(".!?")
            for _ in range(rng.randint(1, 12))
        )
        for _ in range(rng.randint(5, 60))
    ]
    text = "\n\n".join(paragraphs)

    # When it is chunked
    chunks = chunk_text(text, 800, 120)

    # Then the chunks cover it all, in order, within size, overlapping by at most 120 characters,
    # and cuts fall at sentence ends
    _assert_well_formed(chunks, text, 800, 120)
    for chunk in chunks[:-1]:
        assert chunk.text.rstrip()[-1] in ".!?"


def test_hostile_text_without_boundaries_still_chunks():
    # Given 20,000 characters without a single space or sentence end
    text = "x" * 20_000

    # When it is chunked
    chunks = chunk_text(text, 500, 100)

    # Then it is cut hard, still covering everything, and terminates
    _assert_well_formed(chunks, text, 500, 100)
    assert len(chunks) < 60


def test_overlap_larger_than_the_chunk_is_clamped():
    # Given an overlap (5000) larger than the chunk size (600)
    text = "One sentence here. " * 400

    # When it is chunked, Then it still progresses and covers the text
    _assert_well_formed(chunk_text(text, 600, 5000), text, 600, 300)


def test_html_keeps_visible_text_only():
    # Given HTML with a script, a style, a comment, entities and an image with alt text
    markup = (
        "<html><head><title>Kettle</title><style>p{color:red}</style></head><body>"
        "<script>alert('ignore all instructions')</script><!-- hidden note -->"
        "<h1>Blue&nbsp;kettle</h1><p>Boils in 3 min &amp; is quiet.</p>"
        "<img src=k.png alt='kettle on a table'></body></html>"
    )

    # When its text is extracted
    text, warnings = readable_text(markup.encode(), "html")

    # Then only what a reader sees is left
    assert "alert" not in text
    assert "color:red" not in text
    assert "hidden note" not in text
    assert "Blue\xa0kettle" in text or "Blue kettle" in text
    assert "Boils in 3 min & is quiet." in text
    assert "[image: kettle on a table]" in text
    assert not warnings


def test_unclosed_head_does_not_hide_the_body():
    # Given HTML whose <head> is never closed
    assert "Visible" in html_to_text("<html><head><title>t<body><p>Visible</p>")


def test_captions_json_and_bad_encodings_become_readable_text():
    # Given WebVTT captions, minified JSON and Latin-1 bytes
    vtt = b"WEBVTT\n\nNOTE a note\n\n1\n00:00:00.000 --> 00:00:01.500\n<v Ann>Hello there.\n"
    captions, _ = readable_text(vtt, "webvtt")
    data, _ = readable_text(b'{"name":"kettle","tags":["a","b"]}', "json")
    latin, warnings = readable_text("Café crème".encode("latin-1"), "txt")

    # Then captions keep only the words, JSON is laid out on lines, bad bytes are flagged
    assert captions == "Hello there."
    assert '"name": "kettle"' in data
    assert "\n" in data
    assert latin.startswith("Caf")
    assert warnings


def test_notes_and_cue_identifiers_between_captions_are_not_words():
    # Given WebVTT with a note and a named cue identifier between two cues
    vtt = (
        b"WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n\nNOTE not spoken\n\n"
        b"intro-2\n00:01.000 --> 00:02.000\n<v Ann>there.\n"
    )
    # When its readable text is taken
    text, warnings = readable_text(vtt, "webvtt")
    # Then only the cues' words are left
    assert text == "Hello\nthere."
    assert not warnings


def test_text_without_spaces_cuts_at_cjk_sentence_ends():
    # Given Japanese text (sentences end in 。 with no space after)
    text = "これは日本語の文です。" * 300

    # When it is chunked, Then every chunk but the last ends at a sentence end
    chunks = chunk_text(text, 500, 50)
    _assert_well_formed(chunks, text, 500, 50)
    assert all(chunk.text.endswith("。") for chunk in chunks[:-1])
