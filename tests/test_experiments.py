"""A config names its experiment once: copies never share runs, reruns continue them."""

import shutil
from pathlib import Path

import pytest

from proj.cli import main
from proj.runs import experiment_name, resolve_checkpoint
from tests.conftest import MLP, QUIET, REPO, tiny_data_args


def _fit(config: str | Path, data_dir: Path, *extra: str) -> None:
    main(["fit", "--config", str(config), *tiny_data_args(data_dir), *QUIET,
          "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2",
          "--trainer.limit_val_batches", "1", "--trainer.limit_test_batches", "1", *extra])  # fmt: skip


def test_names_inside_and_outside_configs(tmp_path):
    assert experiment_name(["configs/fashion_mnist/mlp.yaml"]) == "fashion_mnist/mlp"
    assert experiment_name([REPO / "configs" / "catdog" / "cnn.yaml"]) == "catdog/cnn"
    assert experiment_name(["a/mlp.yaml"]) != experiment_name(["b/mlp.yaml"])
    assert experiment_name(["a/mlp.yaml"]) == "a/mlp"
    outside = Path("/opt/elsewhere/mlp.yaml")
    assert experiment_name([outside]) == "opt/elsewhere/mlp"
    named = tmp_path / "named.yaml"
    named.write_text("experiment: mine/first\n")
    assert experiment_name([named]) == "mine/first"
    assert experiment_name([MLP, named]) == "mine/first"  # a later file that names it wins


@pytest.mark.slow
def test_two_copies_with_one_file_name_get_their_own_runs(tiny_data_dir):
    for folder in ("a", "b"):
        Path(folder).mkdir()
        shutil.copy(MLP, Path(folder) / "mlp.yaml")
        _fit(Path(folder) / "mlp.yaml", tiny_data_dir)
    assert (Path("logs/a/mlp/version_0/metrics.json")).is_file()
    assert (Path("logs/b/mlp/version_0/metrics.json")).is_file()
    assert resolve_checkpoint("logs", "a/mlp", "last").parts[:3] == ("logs", "a", "mlp")


@pytest.mark.slow
def test_rerunning_a_saved_config_continues_its_experiment(tiny_data_dir):
    _fit(MLP, tiny_data_dir)
    saved = Path("logs/fashion_mnist/mlp/version_0/config.yaml")
    assert "experiment: fashion_mnist/mlp" in saved.read_text()
    _fit(saved, tiny_data_dir)
    assert Path("logs/fashion_mnist/mlp/version_1/metrics.json").is_file()
    assert not Path("logs/config").exists()
    main(["test", "--config", str(saved), "--ckpt_path", "last", *tiny_data_args(tiny_data_dir),
          *QUIET, "--trainer.limit_test_batches", "1"])  # fmt: skip
    assert Path("logs/fashion_mnist/mlp/version_2/metrics.json").is_file()
