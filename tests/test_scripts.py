"""The scripts that run several fits: each drives the normal CLI and summarises its runs."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, tiny_data_args


def test_seeds_script_reports_mean_and_std_over_runs(tiny_data_dir):
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "seeds.py"),
         "--config", str(REPO / "configs" / "fashion_mnist" / "mlp.yaml"), "--seeds", "0", "1",
         "--json", "seeds.json", "--", *tiny_data_args(tiny_data_dir),
         "--trainer.max_epochs", "1", "--trainer.enable_progress_bar", "false"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    runs = sorted(Path("logs/fashion_mnist/mlp-seeds").iterdir())
    assert [r.name for r in runs] == ["version_0", "version_1"]
    report = json.loads(Path("seeds.json").read_text())
    accs = [json.loads((r / "metrics.json").read_text())["test"]["test/acc"] for r in runs]
    mean, std = report["mean_std"]["test/acc"]
    assert mean == pytest.approx(sum(accs) / 2)
    assert std == pytest.approx(abs(accs[0] - accs[1]) / 2**0.5)
    configs = [json.loads((r / "metrics.json").read_text()) for r in runs]
    assert configs[0]["val_history"] != configs[1]["val_history"], "the seeds must differ"
    assert "test/acc" in result.stdout and "+-" in result.stdout


def test_kfold_script_runs_every_fold_and_summarises(tiny_data_dir):
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "kfold.py"),
         "--config", str(REPO / "configs" / "fashion_mnist" / "mlp.yaml"), "--folds", "2",
         "--", "--data.init_args.data_dir", str(tiny_data_dir),
         "--trainer.max_epochs", "1", "--trainer.enable_progress_bar", "false"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    root = Path("logs/fashion_mnist/mlp-kfold")
    runs = sorted(root.glob("version_*"))
    assert [r.name for r in runs] == ["version_0", "version_1"]
    folds = [
        json.loads((r / "config.yaml").read_text().split("fold: ")[1].split()[0]) for r in runs
    ]
    assert folds == [0, 1]
    report = json.loads((root / "kfold.json").read_text())
    accs = [json.loads((r / "metrics.json").read_text())["best_val"]["val/acc"] for r in runs]
    assert report["mean_std"]["val/acc"][0] == pytest.approx(sum(accs) / 2)
    assert "fold 1:" in result.stdout
