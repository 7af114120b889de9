"""What proj adds to loggers' runs: where its files are, and one run per run folder.

A fit resumed with `--ckpt_path last` continues in its run folder; its loggers continue
their own runs too. Each tracker's run id is written to `trackers.json` in the run folder
when the fit starts (so a killed run has it), and a resume passes it back: MLflow's
`run_id`, W&B's `id` with `resume="allow"`. What the killed process logged after its last
checkpoint is logged again by the resume, from the same step: TensorBoard purges the old
points (the CLI's `purge_step`); the CSV logger, which deletes a metrics.csv it finds,
gets back its rows up to the checkpoint; MLflow keeps every point it is sent, so
ResumableMLFlowLogger skips the steps its run already has; W&B drops steps below its
current one itself.
"""

import csv
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger, Logger, MLFlowLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only

from proj.json_files import write_json
from proj.runs import METRICS_FILE

TRACKERS_FILE = "trackers.json"


class ResumableMLFlowLogger(MLFlowLogger):
    """Lightning's MLFlowLogger that, continuing an existing run (`run_id`), logs no step
    its run already has for a metric: a resumed fit's metrics, each step once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._continues = kwargs.get("run_id") is not None
        self._last_step: dict[str, int] | None = None

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        if self._continues and step is not None:
            if self._last_step is None:  # once, from the store: what the killed run logged
                client, run_id = self.experiment, self.run_id
                self._last_step = {
                    key: max(m.step for m in client.get_metric_history(run_id, key))
                    for key in client.get_run(run_id).data.metrics
                }
            metrics = {k: v for k, v in metrics.items() if step > self._last_step.get(k, -1)}
            if not metrics:
                return
        super().log_metrics(metrics, step)


def record_run_ids(loggers: list[Logger], run_dir: Path) -> None:
    """At the start of a fit: each tracker's run id, into the run folder."""
    ids: dict[str, Any] = {}
    for logger in loggers:
        if isinstance(logger, MLFlowLogger):
            ids["mlflow"] = {"run_id": logger.run_id, "experiment_id": logger.experiment_id}
        elif isinstance(logger, WandbLogger):
            ids["wandb"] = {"id": logger.experiment.id}
    if ids:
        write_json(run_dir / TRACKERS_FILE, ids)


def recorded_run_ids(run_dir: Path) -> dict[str, Any]:
    """What record_run_ids wrote for this run folder ({} when nothing)."""
    path = run_dir / TRACKERS_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def csv_rows_before(run_dir: Path, step: int) -> list[dict[str, str]]:
    """The CSV logger's rows from before `step` (the checkpoint's): what a resume keeps."""
    path = run_dir / "metrics.csv"
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [row for row in csv.DictReader(f) if int(float(row["step"])) < step]


def restore_csv_rows(loggers: list[Logger], rows: list[dict[str, str]]) -> None:
    """Give resumed CSV loggers back the rows they would delete, written at once."""
    for logger in loggers:
        if not isinstance(logger, CSVLogger) or not rows:
            continue
        with warnings.catch_warnings():  # "Previous log files ... will be deleted": not so
            warnings.filterwarnings("ignore", message="Experiment logs directory")
            logger.experiment  # noqa: B018  (creating the writer deletes the old file)
        for row in rows:
            values = {k: float(v) for k, v in row.items() if v not in ("", None) and k != "step"}
            logger.log_metrics(values, step=int(float(row["step"])))
        logger.save()


def record_in_trackers(loggers: list[Logger], run_dir: Path, best_checkpoint: str) -> None:
    """The resolved config.yaml and metrics.json as artifacts of MLflow runs, and the best
    checkpoint's path and the run folder as tags (MLflow) or summary values (W&B)."""
    best = str(Path(best_checkpoint).resolve()) if best_checkpoint else ""
    where = {"run_folder": str(run_dir.resolve()), "best_checkpoint": best}
    for logger in loggers:
        if isinstance(logger, MLFlowLogger):
            client, run_id = logger.experiment, logger.run_id
            for name in ("config.yaml", METRICS_FILE):
                if (run_dir / name).is_file():
                    client.log_artifact(run_id, str(run_dir / name))
            for key, value in where.items():
                client.set_tag(run_id, key, value)
        elif isinstance(logger, WandbLogger):
            logger.experiment.summary.update(where)
