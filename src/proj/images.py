"""Opening images of any mode the way a model wants them: upright, 8-bit, RGB or gray.

Used by the CSV DataModule for files and by the server for uploads; imports no torch, so
an ONNX-only server can use it.
"""

from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

from proj.errors import DataFormatError

_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def open_image(
    source: str | Path | BinaryIO, name: str | None = None, min_side: int | None = None
) -> Image.Image:
    """Decode fully (so a truncated file fails here) and apply EXIF orientation.

    With `min_side`, a JPEG is decoded at the smallest of its 1/1..1/8 DCT scales whose
    short side is still at least `min_side` (Pillow's draft mode): the decoder skips the
    detail a smaller image cannot hold, so a large photo decodes several times faster.
    """
    try:
        with Image.open(source) as opened:
            if min_side and opened.format == "JPEG":
                opened.draft(opened.mode, (min_side, min_side))
            opened.load()
            return ImageOps.exif_transpose(opened)
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise DataFormatError(f"{name or source}: not a readable image: {err}") from err


def as_channels(image: Image.Image, channels: int) -> Image.Image:
    """8-bit RGB (channels 3) or grayscale (channels 1).

    Transparent pixels are composited onto white, not left black; 16-bit grayscale is
    scaled down to 8 bits rather than clipped (as `convert("L")` would).
    """
    if image.mode in _SIXTEEN_BIT:
        pixels = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(float(pixels.max()), 1.0)
        image = Image.fromarray(np.round(pixels / top * 255).clip(0, 255).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return image.convert("RGB" if channels == 3 else "L")


def load_rgb(path: str | Path, min_side: int | None = None) -> Image.Image:
    """An image file as upright 8-bit RGB; a file that does not decode is a DataFormatError.

    `min_side`: see `open_image`.
    """
    return as_channels(open_image(path, min_side=min_side), 3)
