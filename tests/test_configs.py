"""Every shipped config parses and trains one fast_dev_run step on tiny data."""

from pathlib import Path

import pytest
import yaml

from proj.cli import main
from tests.conftest import (
    REPO,
    tiny_cifar_args,
    tiny_data_args,
    write_cifar10,
    write_fashion_mnist,
)

CONFIGS = sorted((REPO / "configs").rglob("*.yaml"))


def _data_args(config: Path, tmp_path: Path) -> list[str]:
    """Tiny data in the format the config's DataModule reads."""
    data_class = yaml.safe_load(config.read_text())["data"]["class_path"]
    if data_class == "proj.data.FashionMNISTDataModule":
        return tiny_data_args(write_fashion_mnist(tmp_path / "data"))
    if data_class in ("proj.data.CIFAR10DataModule", "proj.data.CIFAR2DataModule"):
        return tiny_cifar_args(write_cifar10(tmp_path / "data"))
    if data_class == "proj.data.LineDataModule":
        return []  # synthetic: made in memory
    pytest.fail(f"{config}: no tiny data for {data_class}; add a writer for it in the tests")


def test_the_configs_folder_is_not_empty():
    assert len(CONFIGS) >= 14


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: str(p.relative_to(REPO / "configs")))
def test_config_runs_one_fast_dev_run_step(config, tmp_path, capsys):
    args = ["--config", str(config), *_data_args(config, tmp_path)]
    main(["fit", *args, "--trainer.fast_dev_run", "1", "--trainer.enable_progress_bar", "false"])
    assert "test/" in capsys.readouterr().out  # the after-fit test ran
