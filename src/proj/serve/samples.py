"""Uploads for checking and loading a server: real test images as PNG, and a PNG bomb.

Shared by scripts/serve_check.py, scripts/serve_benchmark.py and the tests.
"""

import io
import struct
import zlib

import numpy as np
from PIL import Image


def png(pixels: np.ndarray) -> bytes:
    """PNG bytes; the mode follows the array (uint8 2-D: L, 3 or 4 channels: RGB(A), uint16: I;16)."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def fashion_mnist_test_images(data_dir: str) -> np.ndarray:
    """The test split as (N, 28, 28) uint8, found where the DataModule finds it."""
    from proj.data import FashionMNISTDataModule  # torch: only when asked
    from proj.data.idx import read_images_and_labels

    datamodule = FashionMNISTDataModule(data_dir=data_dir)
    datamodule.prepare_data()
    raw = datamodule.raw_dir
    images, _ = read_images_and_labels(
        raw / "t10k-images-idx3-ubyte", raw / "t10k-labels-idx1-ubyte", (28, 28), 10
    )
    return images.numpy()


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A valid PNG header that claims `width` x `height` pixels, in a few dozen bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
