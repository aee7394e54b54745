"""Preparing assets for the model: real images, real text, companion text from the plan."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from pipeline.adapters.storage import ObjectMissing
from pipeline.config import Limits, PipelineConfig
from pipeline.domain.media_preparation import MAX_COMPANION_CHARS, prepare_media
from pipeline.errors import AssetNotInPlan, MediaNotPreparable
from pipeline_contracts.states.analyze_each_visual_asset import VisionIteration
from pipeline_contracts.states.prepare_media_for_the_model import PreparedMedia
from tests.unit.pipeline.domain.vision.conftest import (
    PROCESSED,
    WORK,
    iteration,
    jpeg,
    png,
    rgb,
    stored_json,
)


def _prepare(store, config, asset) -> PreparedMedia:
    return prepare_media(VisionIteration.model_validate(iteration(asset)), store, config, PROCESSED)


def _prepared_image(store, uri: str) -> Image.Image:
    bucket, key = uri[5:].split("/", 1)
    image = Image.open(io.BytesIO(store.body(bucket, key)))
    image.load()
    return image


# --------------------------------------------------------------------------- images


def test_exif_rotated_photo_is_turned_upright_and_stripped(store, config, add_asset, write_plan):
    # Given a 60x40 photo, red on the left and blue on the right, whose EXIF says "rotate 90
    # clockwise to display", and which also carries GPS data and an ICC profile
    picture = Image.new("RGB", (60, 40), (255, 0, 0))
    picture.paste((0, 0, 255), (30, 0, 60, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 0.0)}
    body = jpeg(picture, exif=exif.tobytes(), icc_profile=b"\x00" * 128, quality=95)
    asset = add_asset("photo.jpg", body, "image", "jpeg", width=60, height=40)
    write_plan([asset])

    # When it is prepared
    prepared = _prepare(store, config, asset)

    # Then the model gets an upright 40x60 JPEG (red on top) with no metadata at all
    assert prepared.input_uri == f"s3://{PROCESSED}/{WORK}prepared/{asset.asset_id}.jpg"
    image = _prepared_image(store, prepared.input_uri)
    assert image.format == "JPEG"
    assert (image.width, image.height) == (40, 60) == (prepared.width, prepared.height)
    top, bottom = rgb(image, (20, 8)), rgb(image, (20, 52))
    assert top[0] > 200
    assert top[2] < 60
    assert bottom[2] > 200
    assert bottom[0] < 60
    assert not image.getexif()
    assert "icc_profile" not in image.info
    assert "exif" not in image.info


def test_huge_image_is_resized_to_the_configured_longest_edge(store, config, add_asset):
    # Given a 6000x3000 image and the default longest edge (1568)
    asset = add_asset(
        "wide.jpg", jpeg(Image.new("RGB", (6000, 3000), (10, 200, 30))), "image", "jpeg"
    )

    # When it is prepared
    prepared = _prepare(store, config, asset)

    # Then its longest edge is the limit and the aspect ratio is kept
    image = _prepared_image(store, prepared.input_uri)
    assert image.size == (1568, 784)
    assert prepared.input_bytes is not None
    assert prepared.input_bytes < 3_750_000


def test_transparent_and_palette_images_are_flattened_on_white(store, config, add_asset):
    # Given a fully transparent RGBA PNG and a palette PNG whose only colour is transparent
    rgba = add_asset("clear.png", png(Image.new("RGBA", (32, 32), (0, 0, 0, 0))), "image", "png")
    palette = Image.new("P", (16, 16), 0)
    palette.putpalette([0, 0, 0] * 256)
    pal = add_asset("pal.png", png(palette, transparency=0), "image", "png")

    for asset in (rgba, pal):
        # When each is prepared
        image = _prepared_image(store, _prepare(store, config, asset).input_uri)

        # Then it is RGB and white where it was transparent (not black)
        assert image.mode == "RGB"
        assert min(rgb(image, (5, 5))) > 240


def test_sixteen_bit_grey_keeps_its_contrast(store, config, add_asset):
    # Given a 16-bit greyscale gradient (values 0..4095, which naive conversion clips)
    gradient = Image.new("I;16", (64, 8))
    gradient.putdata([x * 64 for _ in range(8) for x in range(64)])
    asset = add_asset("depth.png", png(gradient), "image", "png")

    # When it is prepared
    image = _prepared_image(store, _prepare(store, config, asset).input_uri)

    # Then dark stays dark and bright stays bright
    assert rgb(image, (1, 4))[0] < 30
    assert rgb(image, (62, 4))[0] > 220


def test_animated_gif_gives_its_first_frame(store, config, add_asset):
    # Given a two-frame GIF: red, then green
    frames = [Image.new("RGB", (20, 20), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=50)
    asset = add_asset("anim.gif", buffer.getvalue(), "image", "gif")

    # When it is prepared
    image = _prepared_image(store, _prepare(store, config, asset).input_uri)

    # Then the model sees the first frame
    red, green, _ = rgb(image, (10, 10))
    assert red > 200
    assert green < 60


def test_images_over_the_pixel_limit_or_corrupt_are_typed_errors(store, add_asset):
    # Given a pixel limit of 10,000 and a 200x200 image, and a JPEG cut in half
    strict = PipelineConfig(limits=Limits(max_image_pixels=10_000))
    big = add_asset("big.png", png(Image.new("RGB", (200, 200))), "image", "png")
    body = jpeg(Image.effect_noise((64, 64), 40).convert("RGB"))
    broken = add_asset("broken.jpg", body[:40], "image", "jpeg")

    # When they are prepared, Then each fails with MediaNotPreparable (not retried, degrades)
    with pytest.raises(MediaNotPreparable, match="pixels"):
        _prepare(store, strict, big)
    with pytest.raises(MediaNotPreparable, match="decoded"):
        _prepare(store, PipelineConfig(), broken)


# --------------------------------------------------------------------------- text


def test_text_asset_is_chunked_into_the_processed_bucket(store, add_asset):
    # Given a 30,000-character text asset, bidi overrides and NULs included
    config = PipelineConfig(limits=Limits(text_chunk_chars=2000, text_chunk_overlap_chars=200))
    body = ("A sentence about kettles.\u202e Another one\x00 here. " * 700).encode()
    asset = add_asset("notes.txt", body, "text", "txt")

    # When it is prepared
    prepared = _prepare(store, config, asset)

    # Then the chunks are written, cleaned, each within the configured size
    assert prepared.kind == "text"
    assert prepared.input_format == "chunks"
    document = stored_json(store, prepared.input_uri)
    assert len(document["chunks"]) == prepared.chunk_count > 10
    assert all(len(chunk["text"]) <= 2000 for chunk in document["chunks"])
    assert all(
        "\u202e" not in chunk["text"] and "\x00" not in chunk["text"]
        for chunk in document["chunks"]
    )


def test_text_with_nothing_readable_is_a_typed_error(store, config, add_asset):
    # Given HTML that is only a script
    asset = add_asset("empty.html", b"<script>var x = 1;</script>", "text", "html")

    # When it is prepared, Then it fails clearly
    with pytest.raises(MediaNotPreparable, match="no readable text"):
        _prepare(store, config, asset)


# --------------------------------------------------------------------------- pass-through


def test_pdf_and_video_pass_through_within_model_limits(store, config, add_asset):
    # Given a small PDF, a PDF over Bedrock's 4.5 MB document limit, and a video
    pdf = add_asset("doc.pdf", b"%PDF-1.4\n%%EOF\n", "document", "pdf")
    big_pdf = add_asset("big.pdf", b"%PDF-1.4\n%%EOF\n", "document", "pdf", size_bytes=5_000_000)
    video = add_asset("clip.mp4", b"\x00\x00\x00\x18ftypmp42", "video", "mp4")

    # When they are prepared
    prepared_pdf = _prepare(store, config, pdf)
    prepared_video = _prepare(store, config, video)

    # Then the source objects are what the model reads; the big PDF is refused clearly
    assert prepared_pdf.input_uri == pdf.source.uri
    assert prepared_pdf.input_format == "pdf"
    assert prepared_video.input_uri == video.source.uri
    assert prepared_video.kind == "video"
    with pytest.raises(MediaNotPreparable, match="at most 4500000 bytes"):
        _prepare(store, config, big_pdf)


# --------------------------------------------------------------------------- companions


def test_companion_text_is_loaded_from_the_plan(store, config, add_asset, write_plan):
    # Given a photo with a complementary description and redundant captions in its bundle
    photo = add_asset("photo.jpg", jpeg(Image.new("RGB", (30, 20))), "image", "jpeg")
    description = add_asset(
        "description.md",
        b"# Kettle\n\nA **blue** kettle.",
        "text",
        "md",
        role="description",
        relation="complementary",
    )
    captions = add_asset(
        "captions.vtt",
        b"WEBVTT\n\n00:00.000 --> 00:01.000\nA kettle.\n",
        "captions",
        "webvtt",
        role="captions",
        relation="redundant",
    )
    write_plan([photo, description, captions])

    # When the photo is prepared
    prepared = _prepare(store, config, photo)

    # Then both texts are stored with their role and relation
    assert prepared.companion_count == 2
    document = stored_json(store, prepared.companions_uri)
    by_role = {c["role"]: c for c in document["companions"]}
    assert by_role["description"]["relation"] == "complementary"
    assert "A **blue** kettle." in by_role["description"]["text"]
    assert by_role["captions"] == {
        **by_role["captions"],
        "relation": "redundant",
        "text": "A kettle.",
    }


def test_companion_text_is_bounded(store, config, add_asset, write_plan):
    # Given a 200,000-character description full of multi-byte characters
    photo = add_asset("photo.jpg", jpeg(Image.new("RGB", (30, 20))), "image", "jpeg")
    long_text = add_asset(
        "long.txt", ("Crème brûlée. " * 15_000).encode(), "text", "txt", role="description"
    )
    write_plan([photo, long_text])

    # When the photo is prepared
    prepared = _prepare(store, config, photo)

    # Then the companion is cut to the budget, marked truncated, with no broken characters
    companion = stored_json(store, prepared.companions_uri)["companions"][0]
    assert companion["truncated"] is True
    assert len(companion["text"]) <= MAX_COMPANION_CHARS
    assert "\ufffd" not in companion["text"]
    assert not prepared.warnings


def test_the_asset_is_read_from_the_plan_by_its_id(store, config, add_asset, write_plan):
    # Given an iteration that names its asset by id (the state carries no asset), and a plan
    # that does not list that asset
    photo = add_asset("photo.jpg", jpeg(Image.new("RGB", (30, 20))), "image", "jpeg")
    other = add_asset("other.jpg", jpeg(Image.new("RGB", (30, 20))), "image", "jpeg")
    write_plan([other])

    # When the photo's iteration prepares it, Then it fails with the typed error, by name
    with pytest.raises(AssetNotInPlan, match=photo.asset_id):
        _prepare(store, config, photo)
    # And with no plan at all, it fails too: there is nothing to say which file to read
    store.delete(PROCESSED, f"{WORK}plan.json")
    with pytest.raises(ObjectMissing):
        _prepare(store, config, other)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_malformed_exif_does_not_lose_the_image(store, config, add_asset):
    # Given a JPEG whose EXIF block is garbage
    body = jpeg(Image.new("RGB", (30, 20), "green"), exif=b"Exif\x00\x00MM\x00*garbage" * 3)
    asset = add_asset("odd.jpg", body, "image", "jpeg")

    # When it is prepared, Then the picture is still there, as stored
    image = _prepared_image(store, _prepare(store, config, asset).input_uri)
    assert image.size == (30, 20)
