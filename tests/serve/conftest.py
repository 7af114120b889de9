"""A tiny trained classifier, its predictions.csv and its ONNX export, made once per session,
and a way to run `python -m proj serve` as a real process on a free loopback port."""

import csv
import os
import runpy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

from proj.cli import main
from proj.serve.samples import fashion_mnist_test_images
from tests.conftest import CNN, QUIET, REPO, tiny_data_args, write_fashion_mnist


@dataclass
class Trained:
    checkpoint: Path
    export: Path
    predictions: list[dict]  # predictions.csv's rows
    test_images: np.ndarray  # (N, 28, 28) uint8, in predictions.csv's order
    data_dir: Path  # the tiny Fashion-MNIST it was trained on


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Trained:
    if "PYTEST_XDIST_WORKER" not in os.environ:
        root = tmp_path_factory.mktemp("served")
        _train(root)
        return _found(root)
    # every xdist worker asks for it: the first makes it in the session's shared folder
    # (about 25 s on 2 cores, most of it the ONNX export), the others wait and read it
    root = tmp_path_factory.getbasetemp().parent / "served"
    with FileLock(f"{root}.lock"):
        if not (root / "made").exists():
            _train(root)
            (root / "made").touch()
    return _found(root)


def _train(root: Path) -> None:
    """Fit, predict and export the tiny classifier into `root`."""
    data = write_fashion_mnist(root / "data", num_train=320, num_test=200)
    common = ["--config", CNN, *tiny_data_args(data), "--logs_dir", str(root / "logs"), *QUIET]
    common += ["--model.net.width", "8"]
    main(["fit", *common, "--trainer.max_epochs", "1", "--trainer.limit_val_batches", "1",
          "--views.graph", "false"])  # fmt: skip
    checkpoint = str(_checkpoint(root))
    main(["predict", *common, "--ckpt_path", checkpoint])
    export = runpy.run_path(str(REPO / "scripts" / "export.py"), run_name="export")["main"]
    args = ["--formats", "onnx", "--triton", "--out", str(root / "export")]
    assert export(["--ckpt_path", checkpoint, *args]) == 0


def _checkpoint(root: Path) -> Path:
    return next((root / "logs" / "fashion_mnist" / "cnn").glob("version_0/checkpoints/epoch*"))


def _found(root: Path) -> Trained:
    """The Trained that `_train` made in `root`, read back from its files."""
    data = root / "data"
    with open(next((root / "logs").rglob("predictions.csv")), newline="") as f:
        rows = list(csv.DictReader(f))
    images = fashion_mnist_test_images(str(data))
    return Trained(_checkpoint(root), root / "export", rows, images, data)
