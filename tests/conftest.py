"""Shared fixtures: tiny Fashion-MNIST written in the real IDX format, isolated folders."""

from pathlib import Path

import numpy as np
import pytest

from proj.data import fashion_mnist
from proj.data.idx import write_idx

REPO = Path(__file__).resolve().parents[1]
NUM_CLASSES = 10


def make_images(num: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Learnable 28x28 images: class k lights up rows 2k..2k+3 over faint noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(num) % NUM_CLASSES
    rng.shuffle(labels)
    images = rng.integers(0, 60, size=(num, 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        images[i, 2 * label + 4 : 2 * label + 8, 4:24] = 220
    return images, labels.astype(np.uint8)


def write_fashion_mnist(folder: Path, num_train: int = 320, num_test: int = 120) -> Path:
    """The four original `.gz` file names, holding tiny learnable data."""
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, num, seed in (("train", num_train, 0), ("t10k", num_test, 1)):
        images, labels = make_images(num, seed)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own folder and never sees the system's real Fashion-MNIST."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", ())


@pytest.fixture
def tiny_data_dir(tmp_path: Path) -> Path:
    return write_fashion_mnist(tmp_path / "data")


def tiny_data_args(data_dir: Path) -> list[str]:
    """CLI overrides that point a Fashion-MNIST config at the tiny data."""
    return ["--data.init_args.data_dir", str(data_dir), "--data.init_args.val_size", "64"]
