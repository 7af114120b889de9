"""DDP on two CPU processes (gloo), launched by Lightning itself from the CLI."""

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, write_fashion_mnist

MLP = str(REPO / "configs" / "fashion_mnist" / "mlp.yaml")


def test_ddp_fit_writes_one_run_and_tests_the_best_checkpoint(tmp_path):
    data = write_fashion_mnist(tmp_path / "data", num_train=600, num_test=100)
    args = [
        "fit", "--config", MLP, "--data.init_args.data_dir", str(data),
        "--data.init_args.val_size", "100", "--data.init_args.batch_size", "50",
        "--trainer.strategy", "ddp", "--trainer.devices", "2", "--trainer.accelerator", "cpu",
        "--trainer.max_epochs", "2", "--trainer.enable_progress_bar", "false",
    ]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "proj", *args], capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    runs = list(Path("logs/fashion_mnist/mlp").iterdir())
    assert [r.name for r in runs] == ["version_0"], "both ranks must share one run folder"
    metrics = json.loads((runs[0] / "metrics.json").read_text())
    # 500 training images, 2 ranks, batches of 50: 5 steps per epoch on each rank
    assert metrics["global_step"] == 10
    assert metrics["test_checkpoint"] == metrics["best_checkpoint"]
    assert 0.0 <= metrics["test"]["test/acc"] <= 1.0
    assert sorted(p.name for p in (runs[0] / "checkpoints").iterdir())[-1] == "last.ckpt"
