"""What proj adds to experiment trackers' runs after a fit: where its files are."""

from pathlib import Path

from lightning.pytorch.loggers import Logger, MLFlowLogger, WandbLogger

from proj.runs import METRICS_FILE


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
