"""A tiny trained classifier, its predictions.csv and its ONNX export, made once per session,
and a way to run `python -m proj serve` as a real process on a free loopback port."""

import csv
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

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
    root = tmp_path_factory.mktemp("served")
    data = write_fashion_mnist(root / "data", num_train=320, num_test=200)
    logs = str(root / "logs")
    common = ["--config", CNN, *tiny_data_args(data), "--logs_dir", logs, *QUIET]
    common += ["--model.net.width", "8"]
    main(["fit", *common, "--trainer.max_epochs", "1", "--trainer.limit_val_batches", "1",
          "--views.graph", "false"])  # fmt: skip
    checkpoint = next(
        (root / "logs" / "fashion_mnist" / "cnn").glob("version_0/checkpoints/epoch*")
    )
    main(["predict", *common, "--ckpt_path", str(checkpoint)])
    predictions = next((root / "logs").rglob("predictions.csv"))
    export = root / "export"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "export.py"), "--ckpt_path", str(checkpoint),
         "--formats", "onnx", "--triton", "--out", str(export)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    images = fashion_mnist_test_images(str(data))
    with open(predictions, newline="") as f:
        rows = list(csv.DictReader(f))
    return Trained(checkpoint, export, rows, images, data)
