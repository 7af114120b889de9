"""Opening image files of any mode the way a model wants them: upright, 8-bit RGB."""

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from proj.errors import DataFormatError

_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def load_rgb(path: str | Path) -> Image.Image:
    """Decode fully (so a truncated file fails here), apply EXIF orientation, make RGB.

    Transparent pixels are composited onto white, not left black; 16-bit grayscale is
    scaled down to 8 bits rather than clipped.
    """
    try:
        with Image.open(path) as opened:
            opened.load()
            image = ImageOps.exif_transpose(opened)
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise DataFormatError(f"{path}: not a readable image: {err}") from err
    if image.mode in _SIXTEEN_BIT:
        pixels = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(float(pixels.max()), 1.0)
        image = Image.fromarray(np.round(pixels / top * 255).clip(0, 255).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return image.convert("RGB")
