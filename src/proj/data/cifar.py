"""CIFAR-10 (10 classes) and the course's CIFAR-2 (airplane vs bird), from the python batches."""

import codecs
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision

from proj.data.image_datamodule import Batch
from proj.data.tensor_datamodule import TensorImageDataModule, keep_classes
from proj.errors import DataFormatError, DataNotFoundError

FOLDER = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
FILES = (*TRAIN_FILES, TEST_FILE, "batches.meta")
# What a CIFAR batch pickle may reference: numpy arrays and dtypes, nothing that runs code.
# The array rebuilder lives in numpy.core (1.x, and the original files) or numpy._core (2.x);
# pickles written by Python 3 at protocol 2 spell bytes as _codecs.encode(str, "latin1").
_RECONSTRUCT = np.ndarray((0,)).__reduce__()[0]
_ALLOWED = {
    ("_codecs", "encode"): codecs.encode,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class CIFARFormatError(DataFormatError):
    """A CIFAR batch file that does not hold what the format says."""


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not array data")
        return _ALLOWED[(module, name)]


def read_cifar_batch(path: Path) -> Batch:
    """One `cifar-10-batches-py` file -> uint8 (N, 3, 32, 32) images and int64 (N,) labels."""
    try:
        with open(path, "rb") as f:
            batch = _ArrayUnpickler(f, encoding="bytes").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError) as err:
        raise CIFARFormatError(f"{path}: not a CIFAR-10 python batch file: {err}") from err
    data = batch.get(b"data") if isinstance(batch, dict) else None
    labels = batch.get(b"labels") if isinstance(batch, dict) else None
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
        raise CIFARFormatError(f"{path}: expected b'data' to be a uint8 array of shape (N, 3072)")
    if data.shape[1] != 3 * 32 * 32 or labels is None or len(labels) != len(data):
        raise CIFARFormatError(
            f"{path}: expected (N, 3072) images and N labels, found {data.shape} and "
            f"{None if labels is None else len(labels)} labels"
        )
    labels_t = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    if len(labels_t) and (int(labels_t.min()) < 0 or int(labels_t.max()) > 9):
        row = int(((labels_t < 0) | (labels_t > 9)).nonzero()[0])
        raise CIFARFormatError(f"{path}: label {int(labels_t[row])} at row {row} is outside 0..9")
    # rows are 1024 red, 1024 green, 1024 blue values: (N, 3072) -> (N, 3, 32, 32)
    return torch.from_numpy(data.reshape(-1, 3, 32, 32).copy()), labels_t


class CIFAR10DataModule(TensorImageDataModule):
    """CIFAR-10 from `<data_dir>/cifar-10-batches-py/`, downloaded there by torchvision if missing.

    Normalised with the course's mean/std; `augment` adds random crops with 4 pixels of
    padding and horizontal flips, on whole batches.
    """

    class_names = (
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    )
    mean = (0.4914, 0.4822, 0.4465)
    std = (0.2470, 0.2435, 0.2616)
    crop_padding = 4

    @property
    def folder(self) -> Path:
        return Path(self.data_dir) / FOLDER

    def prepare_data(self) -> None:
        if all((self.folder / name).is_file() for name in FILES):
            return
        try:
            torchvision.datasets.CIFAR10(self.data_dir, train=True, download=True)
        except Exception as err:  # any network or checksum failure ends the same way
            raise DataNotFoundError(self._missing_message(err)) from err

    def _missing_message(self, err: Exception | None) -> str:
        reason = f"\nThe download failed: {err}" if err else ""
        return (
            f"CIFAR-10 not found in {self.folder.resolve()}. Put {ARCHIVE} (163 MB, from "
            f"https://www.cs.toronto.edu/~kriz/cifar.html) into {Path(self.data_dir).resolve()}, "
            f"or its extracted folder {FOLDER}/ holding {', '.join(FILES)}.{reason}"
        )

    def _read_cifar10(self, train: bool) -> Batch:
        names = TRAIN_FILES if train else (TEST_FILE,)
        missing = [name for name in names if not (self.folder / name).is_file()]
        if missing:
            raise DataNotFoundError(self._missing_message(None))
        parts = [read_cifar_batch(self.folder / name) for name in names]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    def _read_split(self, train: bool) -> Batch:
        return self._read_cifar10(train)


class CIFAR2DataModule(CIFAR10DataModule):
    """The course's birds vs airplanes: CIFAR-10's airplane (0) -> 0 and bird (2) -> 1.

    10,000 training and 2,000 test images; 1,000 of the training images are held out
    for validation by default.
    """

    class_names = ("airplane", "bird")
    source_labels = (0, 2)

    def __init__(self, val_size: int = 1000, **kwargs: Any) -> None:
        super().__init__(val_size=val_size, **kwargs)

    def _read_split(self, train: bool) -> Batch:
        return keep_classes(*self._read_cifar10(train), self.source_labels)
