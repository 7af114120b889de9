"""Fashion-MNIST's decompressed IDX files, read with torchvision's reader; errors name the file.

torchvision's dataset class checks the md5 sums of the `.gz` archives and so refuses
Debian's repacked copies of the same data: proj decompresses the archives itself
(fashion_mnist.py) and reads the files with torchvision's own IDX reader.
"""

from pathlib import Path

import torch
from torchvision.datasets.mnist import read_sn3_pascalvincent_tensor

from proj.errors import DataFormatError, brief


class IDXFormatError(DataFormatError):
    """A file is not a valid IDX file, or not the one expected."""


def read_idx(path: str | Path) -> torch.Tensor:
    """One decompressed IDX file as a tensor of its stored shape."""
    try:
        return read_sn3_pascalvincent_tensor(str(path), strict=True)
    except OSError as err:
        raise IDXFormatError(f"{path}: cannot read it: {brief(err)}") from err
    except (AssertionError, KeyError, RuntimeError, ValueError) as err:
        # torchvision asserts on a bad magic number and on a size its header does not give
        size = Path(path).stat().st_size
        reason = f"{type(err).__name__}: {brief(err)}" if str(err) else type(err).__name__
        raise IDXFormatError(
            f"{path}: not a valid IDX file, or truncated ({size} bytes; torchvision's reader "
            f"raised {reason})"
        ) from err


def read_images_and_labels(
    images_path: Path, labels_path: Path, image_shape: tuple[int, int], num_classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Read a matching pair of IDX image and label files and check they fit together."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or tuple(images.shape[1:]) != image_shape or images.dtype != torch.uint8:
        raise IDXFormatError(
            f"{images_path}: expected uint8 images of shape (N, {image_shape[0]}, {image_shape[1]}), "
            f"found {images.dtype} {tuple(images.shape)}"
        )
    if labels.ndim != 1 or labels.dtype != torch.uint8:
        raise IDXFormatError(
            f"{labels_path}: expected uint8 labels of shape (N,), found {tuple(labels.shape)}"
        )
    if len(images) != len(labels):
        raise IDXFormatError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    if labels.numel() and int(labels.max()) >= num_classes:
        row = int(torch.nonzero(labels >= num_classes)[0])
        raise IDXFormatError(
            f"{labels_path}: label {int(labels[row])} at row {row} is outside 0..{num_classes - 1}"
        )
    return images, labels
