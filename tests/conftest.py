"""Shared fixtures: tiny Fashion-MNIST written in the real IDX format, isolated folders,
and the contract that finds any DataModule's tiny data."""

import gzip
import importlib
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
NUM_CLASSES = 10
# CLI flags for in-process runs whose output no test reads
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
MLP = str(REPO / "configs" / "fashion_mnist" / "mlp.yaml")
CNN = str(REPO / "configs" / "fashion_mnist" / "cnn.yaml")


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (`make test` runs `-n auto`), each worker gets its share of the
    cores for torch's threads, in this process and in the `python -m proj` processes it
    starts: two workers each spinning two threads on two cores slowed every test."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers is None:
        return
    import torch

    threads = max(1, (os.cpu_count() or 1) // int(workers))
    os.environ["OMP_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)


def write_idx(path: Path, array: np.ndarray) -> None:
    """A uint8 array as an IDX file, gzip-compressed when the name ends in .gz: the format
    of the original Fashion-MNIST files."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    data = header + array.tobytes()
    path.write_bytes(gzip.compress(data, compresslevel=1) if path.suffix == ".gz" else data)


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
    # imported here, not at the top: pytest-xdist's controller loads this file but runs
    # no test, and importing torch cost it 10 s before it started the workers
    from proj.data import fashion_mnist

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", ())


@pytest.fixture
def tiny_data_dir(tmp_path: Path) -> Path:
    return write_fashion_mnist(tmp_path / "data")


def fit_tiny(config: str, data_dir: Path, *extra: str) -> None:
    """`python -m proj fit` of a Fashion-MNIST config on the tiny data, in this process,
    quietly; `extra` flags win."""
    from proj.cli import main

    main(["fit", "--config", config, *tiny_data_args(data_dir), *QUIET, *extra])


def proj_process(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """`python -m proj ...` in a new process, in the test's folder; configs may name
    tests.helpers.* (the repository is on its path)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "proj", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def tiny_data_args(data_dir: Path) -> list[str]:
    """CLI overrides that point a Fashion-MNIST config at the tiny data."""
    return ["--data.init_args.data_dir", str(data_dir), "--data.init_args.val_size", "64"]


def write_cifar10(data_dir: Path, per_batch: int = 20, test_size: int = 30) -> Path:
    """`cifar-10-batches-py/` exactly as the real archive unpacks: pickled dicts, bytes keys.

    Image i of a batch has label i % 10 and every pixel of channel c equal to
    10 * label + c, so tests can check the decoding of the (N, 3072) rows; the bottom-right
    pixels hold a number unique to the image, so no two images are equal.
    """
    folder = data_dir / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    serial = iter(range(1_000_000))

    def batch(name: str, size: int) -> dict:
        labels = [i % NUM_CLASSES for i in range(size)]
        data = np.zeros((size, 3, 32, 32), dtype=np.uint8)
        for i, label in enumerate(labels):
            for channel in range(3):
                data[i, channel] = 10 * label + channel
            number = next(serial)
            data[i, :, 31, 30:] = (number // 256, number % 256)
        return {
            b"batch_label": name.encode(),
            b"labels": labels,
            b"data": data.reshape(size, 3072),
            b"filenames": [f"{name}_{i}.png".encode() for i in range(size)],
        }

    for i in range(1, 6):
        with open(folder / f"data_batch_{i}", "wb") as f:
            pickle.dump(batch(f"training batch {i} of 5", per_batch), f, protocol=2)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump(batch("testing batch 1 of 1", test_size), f, protocol=2)
    meta = {b"label_names": [n.encode() for n in ("airplane", "automobile", "bird")]}
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump(meta, f, protocol=2)
    return data_dir


def tiny_cifar_args(data_dir: Path) -> list[str]:
    """CLI overrides that point a CIFAR config at the tiny data."""
    return ["--data.init_args.data_dir", str(data_dir), "--data.init_args.val_size", "10"]


def write_image_folder(root: Path, per_class: int = 12) -> Path:
    """`root/images/*.png` of two classes (dark vs bright squares) and `root/labels.csv`."""
    from PIL import Image

    images = root / "images"
    images.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    lines = []
    for label in (0, 1):
        for i in range(per_class):
            base = 40 if label == 0 else 200
            pixels = (base + rng.integers(-30, 30, size=(20, 24, 3))).clip(0, 255).astype(np.uint8)
            name = f"{'cat' if label == 0 else 'dog'}.{i}.png"
            Image.fromarray(pixels, "RGB").save(images / name)
            lines.append(f"{name},{label}")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root


def write_class_folders(
    root: Path, counts: dict[str, int] | None = None, splits: tuple[str, ...] = ()
) -> Path:
    """`root/<class>/` (or `root/<split>/<class>/` for each of `splits`) of small images in
    mixed modes and formats (RGB PNG, gray JPEG, RGBA PNG, palette PNG), imbalanced by
    default, plus a stray text file and a hidden file that a folder reader must skip."""
    from PIL import Image

    counts = counts or {"cat": 12, "dog": 6}
    rng = np.random.default_rng(0)
    kinds = [("RGB", "png"), ("L", "jpg"), ("RGBA", "png"), ("P", "png")]
    for split in splits or ("",):
        for label, (name, count) in enumerate(counts.items()):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                base = 40 if label == 0 else 200
                pixels = (base + rng.integers(-30, 30, size=(20 + i % 3, 24, 3))).clip(0, 255)
                mode, ext = kinds[i % len(kinds)]
                image = Image.fromarray(pixels.astype(np.uint8), "RGB").convert(mode)
                image.save(folder / f"{name}.{i}.{ext}")
        first = root / split / next(iter(counts))
        (first / "notes.txt").write_text("not an image\n")
        (first / ".DS_Store").write_bytes(b"\0\0")
    return root


def tiny_csv_args(root: Path) -> list[str]:
    """CLI overrides that point a CSV-image config at a folder from write_image_folder."""
    return [
        "--data.init_args.csv_file", str(root / "labels.csv"),
        "--data.init_args.image_dir", str(root / "images"),
        "--data.init_args.test_csv", "null",
        "--data.init_args.test_fraction", "0.2",
        "--data.init_args.class_names", "[cat, dog]",
    ]  # fmt: skip


TinyData = Callable[[Path], list[str]]  # a folder to write into -> CLI overrides for it


def tiny_data_for(class_path: str, folder: Path) -> list[str]:
    """CLI overrides that point a config's DataModule at tiny data in its real on-disk
    format, written into `folder`. Each DataModule's test module provides its own as
    `TINY_DATA = {class_path: writer}`; a new dataset adds an entry there, nothing here."""
    for path in sorted(REPO.glob("tests/**/test_*.py")):
        module = importlib.import_module(".".join(path.relative_to(REPO).with_suffix("").parts))
        writer = getattr(module, "TINY_DATA", {}).get(class_path)
        if writer is not None:
            return writer(folder)
    pytest.fail(f"no tiny data for {class_path}: give its test module a TINY_DATA entry")
