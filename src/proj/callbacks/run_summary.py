"""Writes `metrics.json` into the run folder: what a run reached, in one small file."""

import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from proj.runs import METRICS_FILE, write_json


class RunSummary(Callback):
    """Collects per-epoch validation metrics, the best checkpoint, fit time and test metrics.

    The file is rewritten (atomically) after `fit` and again after each `test`, so it is
    complete whichever way the run ends. Nothing is written for `fast_dev_run`, which has
    no run folder.
    """

    def __init__(self) -> None:
        self.summary: dict[str, Any] = {}
        self._created = time.perf_counter()  # the CLI builds this first: ~process start
        self._fit_start = 0.0

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._fit_start = time.perf_counter()
        net = getattr(pl_module, "net", pl_module)
        self.summary.update(
            model=type(net).__name__,
            params=sum(p.numel() for p in pl_module.parameters()),
            val_history=[],
        )

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        metrics = _metrics(trainer, "val/")
        if trainer.state.fn == "fit":
            entry = {"epoch": trainer.current_epoch, "step": trainer.global_step, **metrics}
            self.summary["val_history"].append(entry)
        else:
            self.summary["validate"] = metrics
            self.summary["validate_checkpoint"] = trainer.ckpt_path
            self._write(trainer)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.summary.update(
            fit_seconds=round(time.perf_counter() - self._fit_start, 2),
            epochs=trainer.current_epoch,
            global_step=trainer.global_step,
        )
        checkpoint = trainer.checkpoint_callback
        if isinstance(checkpoint, ModelCheckpoint):
            self.summary.update(
                monitor=checkpoint.monitor,
                best_checkpoint=checkpoint.best_model_path or None,
                last_checkpoint=checkpoint.last_model_path or None,
                best_val=self._best_entry(checkpoint),
            )
        # Models with scalar parameters (the regression line) report them, and the
        # DataModule's exact answer when it has one.
        if hasattr(pl_module, "scalar_parameters"):
            self.summary["parameters"] = pl_module.scalar_parameters()
        if hasattr(trainer.datamodule, "reference_parameters"):
            self.summary["reference_parameters"] = trainer.datamodule.reference_parameters()
        self._write(trainer)

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.summary["test"] = _metrics(trainer, "test/")
        self.summary["test_checkpoint"] = trainer.ckpt_path
        self._write(trainer)

    def _best_entry(self, checkpoint: ModelCheckpoint) -> dict[str, Any] | None:
        history = self.summary.get("val_history", [])
        if checkpoint.best_model_score is None or not history:
            return history[-1] if history else None
        best = float(checkpoint.best_model_score)
        return next((e for e in history if e.get(checkpoint.monitor) == best), history[-1])

    def _write(self, trainer: L.Trainer) -> None:
        if trainer.fast_dev_run or trainer.logger is None:
            return
        log_dir = trainer.log_dir  # a broadcast under DDP: every rank must ask for it
        if trainer.is_global_zero:
            self.summary["wall_seconds"] = round(time.perf_counter() - self._created, 2)
            write_json(f"{log_dir}/{METRICS_FILE}", self.summary)


def _metrics(trainer: L.Trainer, prefix: str) -> dict[str, float]:
    return {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith(prefix)}
