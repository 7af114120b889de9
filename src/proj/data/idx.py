"""Reader for the IDX format of (Fashion-)MNIST, with errors that name the file.

torchvision's own reader checks md5 sums of the `.gz` archives and so refuses Debian's
repacked copies of the same data; decoding the bytes here avoids that.
"""

import gzip
from pathlib import Path

import numpy as np

from proj.errors import DataFormatError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class IDXFormatError(DataFormatError):
    """A file is not a valid IDX file, or not the one expected."""


def read_idx(path: str | Path) -> np.ndarray:
    """Decode one IDX file (plain or gzip-compressed) into an array of its stored shape."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as err:
        raise IDXFormatError(f"{path}: cannot read it as {_kind(path)}: {err}") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise IDXFormatError(
            f"{path}: not an IDX file (expected the magic bytes 00 00 <type> <ndim>, "
            f"found {raw[:4].hex(' ') or 'an empty file'})"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXFormatError(f"{path}: header truncated ({len(raw)} bytes, expected {header})")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise IDXFormatError(
            f"{path}: size mismatch: header says shape {shape} ({expected} bytes), "
            f"file holds {len(raw)} bytes (truncated or corrupted)"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def read_images_and_labels(
    images_path: Path, labels_path: Path, image_shape: tuple[int, int], num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Read a matching pair of IDX image and label files and check they fit together."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != image_shape or images.dtype != np.uint8:
        raise IDXFormatError(
            f"{images_path}: expected uint8 images of shape (N, {image_shape[0]}, {image_shape[1]}), "
            f"found {images.dtype} {images.shape}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise IDXFormatError(
            f"{labels_path}: expected uint8 labels of shape (N,), found {labels.shape}"
        )
    if len(images) != len(labels):
        raise IDXFormatError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    if labels.size and int(labels.max()) >= num_classes:
        row = int(np.argmax(labels >= num_classes))
        raise IDXFormatError(
            f"{labels_path}: label {int(labels[row])} at row {row} is outside 0..{num_classes - 1}"
        )
    return images, labels


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzip-compressed when the name ends in .gz)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    data = header + array.tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(data, compresslevel=1) if path.suffix == ".gz" else data)


def _kind(path: Path) -> str:
    return "a gzip file" if path.suffix == ".gz" else "a file"
