"""Fashion-MNIST: 60,000 train / 10,000 test grayscale 28x28 images of 10 clothing classes."""

import gzip
import os
import shutil
import tempfile
from pathlib import Path

import torchvision
from torchvision.transforms import v2

from proj.data.idx import IDXFormatError, read_images_and_labels
from proj.data.image_datamodule import Batch
from proj.data.tensor_datamodule import TensorImageDataModule
from proj.errors import DataNotFoundError

FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
# Debian's `dataset-fashion-mnist` package installs the original .gz files here.
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
SYSTEM_DIRS = (DEBIAN_DIR,)


class FashionMNISTDataModule(TensorImageDataModule):
    """Finds the IDX files in `data_dir`, then in system copies, then downloads them.

    Whatever the source, the four files end up decompressed in
    `<data_dir>/FashionMNIST/raw/`, the layout torchvision's `FashionMNIST` reads, so the
    per-sample path (`in_memory=False`) is the stock torchvision dataset.
    """

    class_names = (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    )
    mean = (0.2860,)
    std = (0.3530,)
    crop_padding = 2

    @property
    def raw_dir(self) -> Path:
        return Path(self.data_dir) / "FashionMNIST" / "raw"

    def prepare_data(self) -> None:
        if all((self.raw_dir / name).is_file() for name in FILES):
            return
        for folder in (Path(self.data_dir), self.raw_dir, *SYSTEM_DIRS):
            found = [_find(folder, name) for name in FILES]
            if all(found):
                self.raw_dir.mkdir(parents=True, exist_ok=True)
                for name, source in zip(FILES, found, strict=True):
                    _copy_decompressed(source, self.raw_dir / name)
                return
        self._download()

    def _download(self) -> None:
        try:
            torchvision.datasets.FashionMNIST(self.data_dir, train=True, download=True)
            torchvision.datasets.FashionMNIST(self.data_dir, train=False, download=True)
        except Exception as err:  # any network or checksum failure ends the same way
            raise DataNotFoundError(_missing_message(self.data_dir, err)) from err

    def _read_split(self, train: bool) -> Batch:
        missing = [name for name in FILES if not (self.raw_dir / name).is_file()]
        if missing:
            raise DataNotFoundError(_missing_message(self.data_dir, None))
        prefix = "train" if train else "t10k"
        images, labels = read_images_and_labels(
            self.raw_dir / f"{prefix}-images-idx3-ubyte",
            self.raw_dir / f"{prefix}-labels-idx1-ubyte",
            image_shape=(28, 28),
            num_classes=len(type(self).class_names),  # the file holds all classes
        )
        return images.unsqueeze(1), labels.long()  # (N, 28, 28) uint8 -> (N, 1, 28, 28)

    def _per_sample_dataset(self, train: bool) -> torchvision.datasets.FashionMNIST:
        return torchvision.datasets.FashionMNIST(
            self.data_dir, train=train, transform=self._per_sample_transform(train), download=False
        )

    def _per_sample_transform(self, training: bool) -> v2.Transform:
        """torchvision's dataset gives PIL images: made uint8 tensors first."""
        then = super()._per_sample_transform(training)
        return v2.Compose([v2.PILToTensor(), then]) if then else v2.PILToTensor()


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _copy_decompressed(source: Path, target: Path) -> None:
    """Write `target` atomically, so an interrupted copy never leaves half a file behind."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        opener = gzip.open if source.suffix == ".gz" else open
        with os.fdopen(fd, "wb") as dst, opener(source, "rb") as src:
            shutil.copyfileobj(src, dst)
        os.replace(tmp, target)
    except (OSError, EOFError) as err:
        Path(tmp).unlink(missing_ok=True)
        raise IDXFormatError(f"{source}: cannot copy it to {target}: {err}") from err
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _missing_message(data_dir: str, err: Exception | None) -> str:
    names = "\n".join(f"  {name}.gz" for name in FILES)
    reason = f"\nThe download failed: {err}" if err else ""
    return (
        f"Fashion-MNIST not found. Put these four files (.gz or decompressed)\n{names}\n"
        f"into {Path(data_dir).resolve()} (the data_dir), or install Debian's package "
        f"`dataset-fashion-mnist` which puts them in {DEBIAN_DIR}.{reason}"
    )
