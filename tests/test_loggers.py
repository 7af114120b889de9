"""Any logger, or none, keeps proj's run folders: checkpoints, config.yaml, metrics.json."""

import csv
import json
import logging
from pathlib import Path

import pytest

from proj.cli import main, run
from tests.conftest import MLP, QUIET, REPO, fit_tiny, proj_process, tiny_data_args

LOGGERS = REPO / "configs" / "logger"
RUN = Path("logs/fashion_mnist/mlp")
SHORT = ["--trainer.max_epochs", "1", "--trainer.limit_train_batches", "3"]


def _files(run: Path) -> set[str]:
    return {str(p.relative_to(run)) for p in run.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_csv_logger_writes_into_the_run_folder_and_best_still_resolves(tiny_data_dir, caplog):
    caplog.set_level(logging.INFO)
    csv = str(LOGGERS / "csv.yaml")
    fit_tiny(MLP, tiny_data_dir, "--config", csv, *SHORT)
    files = _files(RUN / "version_0")
    assert {"config.yaml", "metrics.json", "metrics.csv", "checkpoints/last.ckpt"} <= files
    assert any(f.startswith("checkpoints/epoch=") for f in files)
    assert not Path("lightning_logs").exists() and not Path("logs/lightning_logs").exists()
    assert "TensorBoard views (images, graph" in caplog.text
    main(["test", "--config", MLP, "--config", csv, *tiny_data_args(tiny_data_dir), *QUIET,
          "--ckpt_path", "best"])  # fmt: skip
    assert "test/acc" in json.loads((RUN / "version_1" / "metrics.json").read_text())["test"]


@pytest.mark.slow
def test_configured_loggers_are_built_once_with_the_run_folder(tiny_data_dir):
    cli = run(["fit", "--config", MLP, "--config", str(LOGGERS / "csv.yaml"),
               "--config", str(LOGGERS / "tensorboard.yaml"), *tiny_data_args(tiny_data_dir),
               *QUIET, *SHORT, "--test_after_fit", "false"])  # fmt: skip
    built = cli.config_init[cli.subcommand]["trainer"]["logger"]
    assert [id(lg) for lg in cli.trainer.loggers] == [id(lg) for lg in built]  # not rebuilt
    assert {Path(lg.log_dir) for lg in cli.trainer.loggers} == {RUN / "version_0"}
    saved = (RUN / "version_0" / "config.yaml").read_text()
    assert "version: 0" not in saved  # config.yaml reruns as a new run, not into this one


@pytest.mark.slow
def test_no_logger_writes_nothing_into_the_working_directory_and_resumes_in_place(
    tiny_data_dir,
):
    fit_tiny(MLP, tiny_data_dir, "--trainer.logger", "false", *SHORT)
    assert sorted(p.name for p in Path().iterdir()) == ["data", "logs"]
    assert {"config.yaml", "metrics.json", "checkpoints/last.ckpt"} <= _files(RUN / "version_0")
    fit_tiny(MLP, tiny_data_dir, "--trainer.logger", "false", "--ckpt_path", "last",
             "--trainer.max_epochs", "2", "--trainer.limit_train_batches", "3")  # fmt: skip
    assert (RUN / "version_0" / "config.resume1.yaml").is_file()
    summary = json.loads((RUN / "version_0" / "metrics.json").read_text())
    assert [e["epoch"] for e in summary["val_history"]] == [0, 1]
    assert not (RUN / "version_1").exists()


@pytest.mark.slow
def test_mlflow_fragment_leaves_a_readable_run_with_the_config_and_best_checkpoint(
    tiny_data_dir,
):
    mlflow = pytest.importorskip("mlflow", reason="mlflow is not installed (the track extra)")
    fit_tiny(MLP, tiny_data_dir, "--config", str(LOGGERS / "mlflow.yaml"), *SHORT)
    mlflow.set_tracking_uri(
        f"sqlite:///{Path('logs/mlflow.db').resolve()}"
    )  # engines are cached by URI
    (record,) = mlflow.search_runs(experiment_names=["fashion_mnist/mlp"], output_format="list")
    assert record.info.run_name == "version_0"
    assert 0 <= record.data.metrics["val/acc"] <= 1 and "test/acc" in record.data.metrics
    assert record.data.params["optimizer/class_path"] == "torch.optim.AdamW"
    best = Path(record.data.tags["best_checkpoint"])
    assert best.is_file() and best.parent == (RUN / "version_0" / "checkpoints").resolve()
    artifacts = mlflow.MlflowClient().list_artifacts(record.info.run_id)
    assert {a.path for a in artifacts} == {"config.yaml", "metrics.json"}


@pytest.mark.slow
def test_logger_fragments_stack(tiny_data_dir):
    fit_tiny(MLP, tiny_data_dir, "--config", str(LOGGERS / "csv.yaml"),
             "--config", str(LOGGERS / "tensorboard.yaml"), *SHORT)  # fmt: skip
    files = _files(RUN / "version_0")
    assert "metrics.csv" in files and any(f.startswith("events.out.tfevents") for f in files)


@pytest.mark.slow
def test_wandb_fragment_runs_offline_inside_the_run_folder(tiny_data_dir, monkeypatch):
    wandb = pytest.importorskip("wandb", reason="wandb is not installed (the track extra)")
    monkeypatch.setenv("WANDB_SILENT", "true")
    args = ["fit", "--config", MLP, "--config", str(LOGGERS / "wandb.yaml"),
            *tiny_data_args(tiny_data_dir), *QUIET, *SHORT]  # fmt: skip
    try:
        cli = run(args)
        experiment = cli.trainer.logger.experiment
        assert experiment.offline and experiment.summary["best_checkpoint"].endswith(".ckpt")
        assert 0 <= experiment.summary["val/acc"] <= 1
    finally:
        wandb.finish()
    (offline,) = (RUN / "version_0" / "wandb").glob("offline-run-*")
    assert list(offline.glob("run-*.wandb"))
    recorded = json.loads((RUN / "version_0" / "trackers.json").read_text())["wandb"]["id"]
    assert recorded == experiment.id

    try:  # a resume continues that W&B run (`wandb sync` uploads both parts as one)
        resumed = run([*args, "--ckpt_path", "last", "--trainer.max_epochs", "2"])
        assert resumed.trainer.logger.experiment.id == recorded
    finally:
        wandb.finish()
    assert {"config.yaml", "metrics.json"} <= _files(RUN / "version_0")


def _mlflow_points(mlflow, experiment: str) -> tuple[str, dict[str, list[int]]]:
    """The one MLflow run of an experiment: its id, and the steps of each metric."""
    (record,) = mlflow.search_runs(experiment_names=[experiment], output_format="list")
    client = mlflow.MlflowClient()
    history = {
        key: sorted(m.step for m in client.get_metric_history(record.info.run_id, key))
        for key in record.data.metrics
    }
    return record.info.run_id, history


def _csv_points(run: Path) -> list[tuple[str, str]]:
    with open(run / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return sorted((row["step"], key) for row in rows for key, value in row.items() if value)


@pytest.mark.slow
def test_a_killed_fit_resumes_into_the_same_mlflow_run_and_csv_file(tiny_data_dir):
    mlflow = pytest.importorskip("mlflow", reason="mlflow is not installed (the track extra)")
    args = ["fit", "--config", MLP, "--config", str(LOGGERS / "mlflow.yaml"),
            "--config", str(LOGGERS / "csv.yaml"), *tiny_data_args(tiny_data_dir), *QUIET,
            "--trainer.max_epochs", "3", "--trainer.limit_train_batches", "4",
            "--trainer.log_every_n_steps", "1", "--test_after_fit", "false"]  # fmt: skip
    assert proj_process(*args, "--experiment", "whole").returncode == 0
    # mid-epoch: the killed process logged steps (and the epoch's lr) after its checkpoint
    killer = json.dumps({"class_path": "tests.helpers.KillAt",
                         "init_args": {"epoch": 1, "batch": 1}})  # fmt: skip
    killed = proj_process(*args, "--experiment", "cut", f"--trainer.callbacks+={killer}")
    assert killed.returncode == -9, killed.stderr[-2000:]
    recorded = json.loads(Path("logs/cut/version_0/trackers.json").read_text())  # at the start
    resumed = proj_process(*args, "--experiment", "cut", "--ckpt_path", "last")
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    mlflow.set_tracking_uri(f"sqlite:///{Path('logs/mlflow.db').resolve()}")
    run_id, cut = _mlflow_points(mlflow, "cut")  # one run, the one the killed fit started
    assert run_id == recorded["mlflow"]["run_id"]
    _, whole = _mlflow_points(mlflow, "whole")
    assert cut == whole  # every metric at the steps an uninterrupted fit logs, none twice
    assert len(cut["val/acc"]) == 3
    assert _csv_points(Path("logs/cut/version_0")) == _csv_points(Path("logs/whole/version_0"))
