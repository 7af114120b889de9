"""A tiny trained classifier, its predictions.csv and its ONNX export, made once per session,
and a way to run `python -m proj serve` as a real process on a free loopback port."""

import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from proj.cli import main
from proj.data.idx import read_images_and_labels
from tests.conftest import QUIET, REPO, tiny_data_args, write_fashion_mnist

CNN = str(REPO / "configs" / "fashion_mnist" / "cnn.yaml")


@dataclass
class Trained:
    checkpoint: Path
    export: Path
    predictions: list[dict]  # predictions.csv's rows
    test_images: np.ndarray  # (N, 28, 28) uint8, in predictions.csv's order


def png(pixels: np.ndarray) -> bytes:
    """PNG bytes; the mode follows the array (uint8 2-D: L, 3 or 4 channels: RGB(A), uint16: I;16)."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Trained:
    root = tmp_path_factory.mktemp("served")
    data = write_fashion_mnist(root / "data", num_train=320, num_test=200)
    logs = str(root / "logs")
    common = ["--config", CNN, *tiny_data_args(data), "--logs_dir", logs, *QUIET]
    main(["fit", *common, "--trainer.max_epochs", "1", "--trainer.limit_val_batches", "1",
          "--model.net.width", "8", "--views.graph", "false"])  # fmt: skip
    checkpoint = next(
        (root / "logs" / "fashion_mnist" / "cnn").glob("version_0/checkpoints/epoch*")
    )
    main(["predict", *common, "--ckpt_path", str(checkpoint)])
    predictions = next((root / "logs").rglob("predictions.csv"))
    export = root / "export"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "export.py"), "--ckpt_path", str(checkpoint),
         "--formats", "onnx", "--out", str(export)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    raw = data / "FashionMNIST" / "raw"
    images, _ = read_images_and_labels(
        raw / "t10k-images-idx3-ubyte", raw / "t10k-labels-idx1-ubyte", (28, 28), 10
    )
    with open(predictions, newline="") as f:
        rows = list(csv.DictReader(f))
    return Trained(checkpoint, export, rows, images)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`python -m proj serve ARGS` in its own process group, stopped with SIGTERM."""

    def __init__(
        self, *args: str, command: list[str] | None = None, env: dict | None = None
    ) -> None:
        """`command` (with `{port}` in it) replaces `python -m proj serve ARGS --port P`."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = command or [sys.executable, "-m", "proj", "serve", *args, "--port", "{port}"]
        self.process = subprocess.Popen(
            [part.replace("{port}", str(self.port)) for part in command],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stdout.read()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("server did not become healthy in 120 s")

    def stop(self, timeout: float = 20) -> float:
        """SIGTERM to the server's main process only; seconds until its whole group is gone."""
        start = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=timeout)
        while time.monotonic() - start < timeout:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return time.monotonic() - start
            time.sleep(0.1)
        os.killpg(self.process.pid, signal.SIGKILL)
        raise AssertionError(f"processes of the server left after {timeout} s")
