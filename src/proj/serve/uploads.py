"""From the bytes of one upload to the float32 (C, H, W) array the model takes.

The upload is read and decoded in memory (never written to disk), each request on its
own, so a bad image fails its own request and no other in its batch. Channels and size
follow the evaluation path: 16-bit scaled, transparency on white, the short side resized
to the input size and the centre cropped (what `Resize` + `CenterCrop` do for CSV data).
"""

import io
import re
import warnings

import numpy as np
from PIL import Image

from proj.errors import DataFormatError
from proj.images import as_channels, open_image


def silence_pillow_size_warning() -> None:
    """The server's own `max_pixels` decides (413); Pillow's warning above 89 MP would only
    be noise. Installed once by the app (`warnings.catch_warnings()` per request is not
    thread-safe, and large uploads are decoded in worker threads), not at import."""
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


class UploadError(Exception):
    """A request the server answers with `status` and this message, and nothing else."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def file_field(body: bytes, content_type: str, field: str = "file") -> bytes:
    """The bytes of the multipart form field `field` (RFC 7578), parsed in memory.

    By hand: the standard library's email parser was 11% of the server's time under load
    (a py-spy profile), and Starlette's `request.form()` (python-multipart) took 78-88 us
    a request against 7-13 us for this (`serve_benchmark.py --parsers`; docs/serving.md).
    """
    boundary = _BOUNDARY.search(content_type)
    if not content_type.startswith("multipart/form-data") or boundary is None:
        raise UploadError(415, f"expected multipart/form-data with a '{field}' field")
    delimiter = b"--" + boundary.group(1).strip('"').encode()
    for part in body.split(delimiter)[1:]:
        head, _, content = part.partition(b"\r\n\r\n")
        name = _FIELD_NAME.search(head)
        if name and name.group(1).decode(errors="replace") == field:
            return content.removesuffix(b"\r\n")
    raise UploadError(400, f"no form field '{field}': send the image as -F {field}=@image.png")


_BOUNDARY = re.compile(r"boundary=(\"[^\"]+\"|[^;\s]+)")
_FIELD_NAME = re.compile(rb'Content-Disposition:[^\r\n]*;\s*name="([^"]*)"', re.IGNORECASE)


def image_array(data: bytes, shape: tuple[int, int, int], max_pixels: int) -> np.ndarray:
    """(C, H, W) float32 in [0, 1] of an encoded image (PNG, JPEG, WebP, ...), any mode."""
    channels, height, width = shape
    if not data:
        raise UploadError(400, "the uploaded file is empty")
    try:
        with Image.open(io.BytesIO(data)) as header:  # reads the size, not the pixels
            pixels = header.width * header.height
    except Image.DecompressionBombError as err:
        raise UploadError(413, f"image too large: {err}") from err
    except (OSError, ValueError) as err:
        raise UploadError(415, "not an image this server can read (PNG, JPEG, WebP, ...)") from err
    if pixels > max_pixels:
        raise UploadError(413, f"image of {pixels:,} pixels; the limit is {max_pixels:,}")
    try:
        image = as_channels(open_image(io.BytesIO(data), "upload"), channels)
    except DataFormatError as err:
        raise UploadError(400, str(err)) from err
    image = _short_side_and_centre(image, height, width)
    array = np.asarray(image, dtype=np.float32) / 255.0  # (H, W) or (H, W, 3)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _short_side_and_centre(image: Image.Image, height: int, width: int) -> Image.Image:
    if image.size == (width, height):
        return image
    short, long = sorted(image.size)
    target = min(height, width)
    resized = (target, max(target, int(target * long / short)))
    if image.width > image.height:
        resized = resized[::-1]
    image = image.resize(resized, Image.BILINEAR)
    left = round((image.width - width) / 2.0)
    top = round((image.height - height) / 2.0)
    return image.crop((left, top, left + width, top + height))
