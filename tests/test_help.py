"""Help shows what exists, short class names work, and a run prints no adverts."""

import subprocess
import sys

import pytest

from proj.cli import ProjCLI, main
from proj.parser import ProjHelpFormatter
from tests.conftest import MLP, tiny_data_args


def _help(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--help"] if "help" not in args[-1] else list(args))
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_fit_help_lists_proj_classes_and_its_own_ckpt_path(capsys):
    text = _help(capsys, "fit")
    assert "proj.tasks.ImageClassifier" in text and "proj.data.FashionMNISTDataModule" in text
    assert text.startswith("usage: python -m proj")
    flat = " ".join(text.split())
    assert "of the newest run of this experiment on disk" in flat


@pytest.mark.slow
def test_class_help_shows_each_argument_with_its_description_and_no_torch_list(capsys):
    text = _help(capsys, "fit", "--model.help", "ImageClassifier")
    flat = " ".join(text.split())
    assert "The course's explicit penalties on the loss" in flat
    assert "proj.models.FashionCNN" in flat and "torch.nn.Linear" not in flat
    assert "from torch/Lightning" in flat
    assert len(text.splitlines()) < 150


def test_the_help_formatter_hook_is_still_called(capsys, monkeypatch):
    """ProjHelpFormatter overrides argparse's `_get_help_string`: fail loudly if unused."""
    calls = []
    original = ProjHelpFormatter._get_help_string

    def spy(self, action):
        calls.append(action)
        return original(self, action)

    monkeypatch.setattr(ProjHelpFormatter, "_get_help_string", spy)
    _help(capsys, "fit")
    assert calls


@pytest.mark.slow
def test_every_subcommand_help_says_what_ckpt_path_best_and_last_mean(capsys):
    for subcommand in ("fit", "validate", "test", "predict"):
        flat = " ".join(_help(capsys, subcommand).split())
        assert "logs_dir/<experiment>/version_<n>/" in flat or "this experiment on disk" in flat


@pytest.mark.slow
def test_short_class_names_build_the_same_run(tiny_data_dir, capsys):
    main(["fit", "--model", "ImageClassifier", "--model.net", "FashionCNN",
          "--data", "FashionMNISTDataModule", *tiny_data_args(tiny_data_dir),
          "--trainer.fast_dev_run", "1", "--trainer.enable_progress_bar", "false"])  # fmt: skip
    cli = ProjCLI.current
    assert type(cli.model).__name__ == "ImageClassifier"
    assert type(cli.model.net).__name__ == "FashionCNN"
    assert type(cli.datamodule).__name__ == "FashionMNISTDataModule"


@pytest.mark.slow
def test_a_fit_prints_no_advert_and_no_duplicate_summary_notice(tiny_data_dir):
    # a process of its own: Lightning's log handler writes to the stderr it found at import
    result = subprocess.run(
        [sys.executable, "-m", "proj", "fit", "--config", MLP, *tiny_data_args(tiny_data_dir),
         "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "1",
         "--trainer.limit_val_batches", "1", "--trainer.limit_test_batches", "1"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "litlogger" not in output and "Tip:" not in output
    assert "Skipping setting a default `ModelSummary`" not in output
    assert "Trainable params" in output  # the summary itself is still printed
    assert "GPU available" in output  # Lightning's other messages are not silenced
