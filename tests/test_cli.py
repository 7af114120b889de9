"""The command line as a user runs it: fit, then test/validate/predict in new processes."""

import csv
import json
import re
import sys
from pathlib import Path

import pytest
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from proj.callbacks import LineProgress, ThrottledRichProgressBar
from proj.cli import ProjCLI, main, run
from proj.data import FashionMNISTDataModule
from tests.conftest import (
    MLP,
    QUIET,
    REPO,
    fit_tiny,
    proj_process,
    tiny_cifar_args,
    tiny_data_args,
    write_cifar10,
)

RUNS = Path("logs") / "fashion_mnist" / "mlp"


def _metrics(version: int) -> dict:
    return json.loads((RUNS / f"version_{version}" / "metrics.json").read_text())


def test_fast_dev_run_trains_tests_and_leaves_no_files(tiny_data_dir, tmp_path, capsys):
    fit_tiny(MLP, tiny_data_dir, "--trainer.fast_dev_run", "2")
    assert "test/acc" in capsys.readouterr().out  # the after-fit test ran on the current weights
    leftovers = {p.name for p in tmp_path.iterdir()} - {"data"}
    assert leftovers == set(), f"fast_dev_run wrote {leftovers}"


@pytest.mark.slow
def test_fit_makes_one_complete_run_folder_then_tests_its_best_checkpoint(tiny_data_dir):
    fit_tiny(MLP, tiny_data_dir, "--trainer.max_epochs", "2")
    run = RUNS / "version_0"
    assert (run / "config.yaml").is_file()
    assert list(run.glob("events.out.tfevents.*"))
    checkpoints = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert "last.ckpt" in checkpoints and len(checkpoints) == 2
    metrics = _metrics(0)
    assert Path(metrics["best_checkpoint"]).parent == run / "checkpoints"
    assert metrics["test_checkpoint"] == metrics["best_checkpoint"]
    assert [e["epoch"] for e in metrics["val_history"]] == [0, 1]
    assert metrics["best_val"]["val/acc"] == max(e["val/acc"] for e in metrics["val_history"])
    assert 0.0 <= metrics["test"]["test/acc"] <= 1.0 and metrics["test"]["test/loss"] > 0
    assert metrics["model"] == "NeuralNetwork" and metrics["params"] == 669_706
    assert metrics["epochs"] == 2 and metrics["fit_seconds"] > 0
    assert len(metrics["train_epoch_seconds"]) == 2
    events = EventAccumulator(str(run))
    events.Reload()
    expected = {
        "train/loss_epoch",
        "train/acc",
        "val/loss",
        "val/acc",
        "test/acc",
    }
    assert expected <= set(events.Tags()["scalars"])
    assert len(events.Scalars("train/acc")) == 2  # one per epoch


@pytest.mark.slow
def test_runs_of_one_config_never_share_a_folder(tiny_data_dir):
    for _ in range(2):
        fit_tiny(MLP, tiny_data_dir, "--trainer.max_epochs", "1", "--test_after_fit", "false")
    assert sorted(p.name for p in RUNS.iterdir()) == ["version_0", "version_1"]
    assert "test" not in _metrics(1)


@pytest.mark.slow
def test_test_best_in_a_new_process_reproduces_the_metric(tiny_data_dir):
    fit_tiny(MLP, tiny_data_dir, "--trainer.max_epochs", "2")
    data = [*tiny_data_args(tiny_data_dir), *QUIET]
    result = proj_process("test", "--config", MLP, "--ckpt_path", "best", *data)
    assert result.returncode == 0, result.stderr
    best = _metrics(0)["best_checkpoint"]
    assert f"--ckpt_path best -> {best}" in result.stderr
    reproduced = _metrics(1)  # the test run got its own folder
    assert reproduced["test_checkpoint"] == best
    assert reproduced["test"]["test/acc"] == pytest.approx(
        _metrics(0)["test"]["test/acc"], abs=1e-4
    )

    # the config builds the model, the checkpoint gives its weights: a model option that
    # keeps the weights' shapes applies
    override = "--model.init_args.nonfinite_loss=skip"
    result = proj_process("validate", "--config", MLP, "--ckpt_path", "last", override, *data)
    assert result.returncode == 0, result.stderr
    assert str(RUNS / "version_0" / "checkpoints" / "last.ckpt") in result.stderr
    validated = yaml.safe_load((RUNS / "version_2" / "config.yaml").read_text())
    assert validated["model"]["init_args"]["nonfinite_loss"] == "skip"
    assert 0.0 <= _metrics(2)["validate"]["val/acc"] <= 1.0


@pytest.mark.slow
def test_predict_runs_on_the_best_checkpoint(tiny_data_dir):
    fit_tiny(MLP, tiny_data_dir, "--trainer.max_epochs", "1", "--test_after_fit", "false")
    main(
        ["predict", "--config", MLP, "--ckpt_path", "best", *tiny_data_args(tiny_data_dir), *QUIET]
    )


@pytest.mark.slow
def test_best_without_any_run_is_a_clear_error(tiny_data_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["test", "--config", MLP, "--ckpt_path", "best"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "no run of experiment 'fashion_mnist/mlp'" in err and "has a 'best' checkpoint" in err
    assert not Path("logs").exists()


def test_a_missing_checkpoint_file_is_a_clear_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["test", "--config", MLP, "--ckpt_path", "runs/nope.ckpt"])
    assert exit_info.value.code == 2
    assert "--ckpt_path runs/nope.ckpt: no such file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trainer.max_epohcs", "1"], "max_epohcs"),
        (["--trainer.max_epochs", "many"], "trainer.max_epochs"),
        (["--model.init_args.net.init_args.dropoutt", "0.1"], "dropoutt"),
        (["--model.init_args.net", "proj.models.NoSuchNet"], "NoSuchNet"),
    ],
)
def test_config_mistakes_are_reported_without_a_traceback(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", MLP, *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not Path("logs").exists()


def test_a_typo_inside_a_config_file_names_the_key(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(MLP).read_text().replace("max_epochs:", "max_epocs:"))
    with pytest.raises(SystemExit):
        main(["fit", "--config", str(bad)])
    assert "max_epocs" in capsys.readouterr().err


@pytest.mark.slow
def test_progress_is_a_throttled_bar_on_a_terminal_and_lines_elsewhere(tiny_data_dir, monkeypatch):
    main(["fit", "--config", MLP, *tiny_data_args(tiny_data_dir), "--trainer.max_epochs", "1"])
    assert isinstance(ProjCLI.current.trainer.progress_bar_callback, LineProgress)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    main(["fit", "--config", MLP, *tiny_data_args(tiny_data_dir), "--trainer.max_epochs", "1"])
    bar = ProjCLI.current.trainer.progress_bar_callback
    assert isinstance(bar, ThrottledRichProgressBar) and bar.every_n_batches == 10
    own = '{"class_path": "lightning.pytorch.callbacks.TQDMProgressBar"}'
    main(["fit", "--config", MLP, *tiny_data_args(tiny_data_dir), "--trainer.max_epochs", "1",
          f"--trainer.callbacks+={own}"])  # fmt: skip
    assert type(ProjCLI.current.trainer.progress_bar_callback).__name__ == "TQDMProgressBar"


@pytest.mark.slow
def test_predict_writes_a_csv_whose_accuracy_is_the_test_accuracy(tiny_data_dir, capsys):
    fit_tiny(MLP, tiny_data_dir, "--trainer.max_epochs", "2")
    capsys.readouterr()
    main(
        [
            "predict",
            "--config",
            MLP,
            "--ckpt_path",
            "best",
            "--top_k",
            "3",
            *tiny_data_args(tiny_data_dir),  # with the default progress: a line at the end
        ]
    )
    assert re.search(r"^predict  \d+ batch", capsys.readouterr().out, re.MULTILINE)
    rows = list(csv.DictReader((RUNS / "version_1" / "predictions.csv").open()))
    assert len(rows) == 120 and [r["id"] for r in rows[:3]] == ["0", "1", "2"]
    assert set(rows[0]) == {"id", "target", "pred", "prob", "pred_2", "prob_2", "pred_3", "prob_3"}
    assert all(float(r["prob"]) >= float(r["prob_2"]) >= float(r["prob_3"]) for r in rows)
    accuracy = sum(r["pred"] == r["target"] for r in rows) / len(rows)
    assert accuracy == pytest.approx(_metrics(0)["test"]["test/acc"], abs=1e-6)
    assert rows[0]["target"] in FashionMNISTDataModule.class_names


@pytest.mark.slow
def test_a_net_given_by_class_path_alone_records_its_linked_num_classes(tmp_path):
    """The private `_dump_config` override: without it (or if Lightning stops calling it),
    a net with no init_args of its own has nowhere to record num_classes and fit fails."""
    data = write_cifar10(tmp_path / "data")
    config = str(REPO / "configs" / "cifar2" / "net.yaml")
    cli = run(
        ["fit", "--config", config, *tiny_cifar_args(data), *QUIET, "--trainer.fast_dev_run", "1"]
    )
    assert cli.model.hparams["net"] == {
        "class_path": "proj.course.Net",
        "init_args": {"num_classes": 2},
    }
