"""An image's quality, measured where the vision branch already decodes it: its resolution
and sharpness.

Sharpness is the variance of the 4-neighbour Laplacian of the grey image (0..255 levels),
measured on at most 4096 pixels a side; blur lowers it. It is the definition of
processing/quality.py (numpy, for the keyframes the alignment job cuts), computed with Pillow
alone: the Lambda layer has no numpy. Both give the same value to its three decimals on the
tested images (tests/unit/pipeline/domain/vision/test_image_quality.py).
"""

from __future__ import annotations

from typing import Any

from PIL import Image, ImageFilter, ImageMath

from pipeline_contracts.work.alignment import ImageQuality

QUALITY_MAX_EDGE = 4096
# Pillow's kernels clip what they write below zero; the Laplacian of 8-bit grey lies within
# +-1020, so it is computed shifted up by this much in a 32-bit integer image, exactly.
_SHIFT = 1024
_LAPLACIAN = ImageFilter.Kernel((3, 3), (0, 1, 0, 1, -4, 1, 0, 1, 0), scale=1, offset=_SHIFT)


def measure_image(
    image: Image.Image,
    size: tuple[int, int] | None = None,
    max_edge: int = QUALITY_MAX_EDGE,
) -> ImageQuality:
    """Resolution and sharpness of a decoded image. `size` is the stored resolution when the
    decoder was asked for a reduced scale (a JPEG's draft mode): its pixels are measured."""
    width, height = size or image.size
    grey = image.convert("L")
    if max(grey.size) > max_edge:
        grey.thumbnail((max_edge, max_edge))
    return ImageQuality(width=width, height=height, sharpness=laplacian_variance(grey))


def laplacian_variance(grey: Image.Image) -> float:
    """Variance of the 4-neighbour Laplacian over the interior pixels of an "L" image."""
    width, height = grey.size
    if width < 3 or height < 3:
        return 0.0
    shifted = grey.convert("I").filter(_LAPLACIAN).crop((1, 1, width - 1, height - 1))
    laplacian = _evaluate(lambda ops: ops["float"](ops["x"]) - _SHIFT, x=shifted)
    del shifted
    mean = _mean(laplacian)
    mean_square = _mean(_evaluate(lambda ops: ops["x"] * ops["x"], x=laplacian))
    return round(max(mean_square - mean * mean, 0.0), 3)


def _evaluate(expression: Any, **images: Image.Image) -> Image.Image:
    result = ImageMath.lambda_eval(expression, **images)
    assert isinstance(result, Image.Image)
    return result


def _mean(image: Image.Image) -> float:
    """The mean of an "F" image: a box filter down to one pixel accumulates in doubles."""
    value = image.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert isinstance(value, float)
    return value
