"""Image quality in the Lambda (Pillow only) against the alignment job's numpy definition."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from pipeline.config import Limits
from pipeline.domain.image_quality import laplacian_variance, measure_image
from pipeline.domain.media_preparation import prepare_media, prepared_jpeg
from pipeline_contracts.states.analyze_each_visual_asset import VisionIteration
from processing.quality import image_quality, sharpness
from tests.unit.pipeline.domain.vision.conftest import PROCESSED, iteration, jpeg, png


def _checkerboard(size: tuple[int, int], square: int) -> Image.Image:
    width, height = size
    board = (np.indices((height, width)) // square).sum(axis=0) % 2 * 255
    return Image.fromarray(board.astype(np.uint8))


def _sixteen_bit_ramp() -> Image.Image:
    ramp = (np.arange(200 * 150) * 2).astype("<u2")
    return Image.frombytes("I;16", (200, 150), ramp.tobytes())


IMAGES = {
    "mandelbrot": lambda: Image.effect_mandelbrot((640, 480), (-2, -1.5, 1, 1.5), 100),
    "noise": lambda: Image.effect_noise((300, 200), 60),
    # One-pixel squares: every Laplacian is +-1020, the extremes of 8-bit grey
    "pixel-checkerboard": lambda: _checkerboard((64, 48), 1),
    "blurred-photo-like": lambda: (
        Image.effect_mandelbrot((800, 600), (-2, -1.5, 1, 1.5), 60)
        .convert("RGB")
        .filter(ImageFilter.GaussianBlur(3))
    ),
    "flat": lambda: Image.new("RGB", (120, 80), (30, 120, 200)),
    "rgba": lambda: Image.effect_mandelbrot((200, 100), (-2, -1.5, 1, 1.5), 80).convert("RGBA"),
    "sixteen-bit": _sixteen_bit_ramp,
    "tiny": lambda: Image.new("L", (2, 2), 9),
    # Longer than 4096 pixels: both measure a 4096-pixel thumbnail
    "over-4096": lambda: _checkerboard((5000, 40), 3).filter(ImageFilter.GaussianBlur(1)),
}


def _agrees(ours: float, reference: float) -> bool:
    return ours == pytest.approx(reference, rel=1e-4, abs=2e-3)


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_pillow_sharpness_agrees_with_the_numpy_definition(name):
    # Given an image
    image = IMAGES[name]()

    # When the Lambda (Pillow only) and the alignment job (numpy) measure it
    ours, reference = measure_image(image), image_quality(image)

    # Then resolution and sharpness agree
    assert (ours.width, ours.height) == (reference.width, reference.height)
    assert _agrees(ours.sharpness, reference.sharpness), (ours, reference)


def test_the_laplacian_variance_is_exact_on_known_values():
    # Given a one-pixel checkerboard (every interior Laplacian is +1020 or -1020)
    grey = _checkerboard((10, 8), 1)

    # Then the variance is 1020 squared, as numpy computes it
    assert laplacian_variance(grey) == pytest.approx(1020.0**2)
    assert sharpness(np.asarray(grey, dtype=np.float64)) == pytest.approx(1020.0**2)


@pytest.mark.parametrize("encode", [jpeg, png], ids=["jpeg", "png"])
def test_preparing_an_image_measures_it_before_the_resize(encode):
    # Given a 3000x2000 picture, far larger than the model's 1568 pixels
    picture = Image.effect_mandelbrot((3000, 2000), (-2, -1.5, 1, 1.5), 100).convert("RGB")
    data = encode(picture)

    # When it is prepared for the model
    prepared = prepared_jpeg(data, Limits())

    # Then the JPEG is resized, but the quality is the decoded original's, as numpy sees it
    assert max(prepared.width, prepared.height) == Limits().model_image_max_edge
    reference = image_quality(Image.open(io.BytesIO(data)))
    assert (prepared.quality.width, prepared.quality.height) == (3000, 2000)
    assert _agrees(prepared.quality.sharpness, reference.sharpness)


def test_the_prepared_state_carries_the_quality_and_the_path(store, config, add_asset):
    # Given a photo in the item
    body = jpeg(Image.effect_mandelbrot((320, 240), (-2, -1.5, 1, 1.5), 100).convert("RGB"))
    photo = add_asset("shots/photo.jpg", body, "image", "jpeg")

    # When it is prepared
    prepared = prepare_media(
        VisionIteration.model_validate(iteration(photo)), store, config, PROCESSED
    )

    # Then `$.prepared` says how sharp it is and which file it is, for the vision gate
    assert prepared.path == "shots/photo.jpg"
    assert prepared.quality is not None
    assert (prepared.quality.width, prepared.quality.height) == (320, 240)
    reference = image_quality(Image.open(io.BytesIO(body)))
    assert _agrees(prepared.quality.sharpness, reference.sharpness)
