"""Writes `metrics.json` into the run folder: what a run reached, in one small file."""

import json
import time
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from proj.json_files import write_json
from proj.runs import METRICS_FILE


class RunSummary(Callback):
    """Collects per-epoch validation metrics, the best checkpoint, fit time and test metrics,
    for any LightningModule: whatever it logs under `val/` and `test/`, and the entries its
    `summary_extras()` returns, if it has one.

    The file is rewritten (atomically) after each validation epoch, after `fit` and after
    each `test`, so it holds what the run reached whichever way it ends. Nothing is
    written for `fast_dev_run`, which has no run folder.
    """

    def __init__(self) -> None:
        self.summary: dict[str, Any] = {}
        self._created = time.perf_counter()  # the CLI builds this first: ~process start
        self._fit_start = 0.0
        self._epoch_start = 0.0

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._fit_start = time.perf_counter()
        net = getattr(pl_module, "net", pl_module)
        self.summary.update(
            model=type(net).__name__,
            params=sum(p.numel() for p in pl_module.parameters()),
            val_history=[],
        )

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """A resumed run (loops restored by now) keeps the history before its checkpoint."""
        if trainer.fast_dev_run:
            return
        previous = Path(trainer.log_dir) / METRICS_FILE  # log_dir: a broadcast, on every rank
        if trainer.current_epoch == 0 or not previous.is_file():
            return
        earlier = json.loads(previous.read_text())
        self.summary["val_history"] = [
            e for e in earlier.get("val_history", []) if e["epoch"] < trainer.current_epoch
        ]
        self._fit_start -= earlier.get("fit_seconds", 0.0)
        self.summary["resumed_at_epoch"] = trainer.current_epoch

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Training only: validation and checkpointing of the epoch come after this hook.
        seconds = round(time.perf_counter() - self._epoch_start, 3)
        self.summary.setdefault("train_epoch_seconds", []).append(seconds)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        metrics = _metrics(trainer, "val/")
        if trainer.state.fn == "fit":
            entry = {"epoch": trainer.current_epoch, "step": trainer.global_step, **metrics}
            entry["seconds"] = round(time.perf_counter() - self._fit_start, 2)  # time to acc
            self.summary["val_history"].append(entry)  # written each epoch: a killed run keeps it
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
        checkpoints = trainer.checkpoint_callbacks
        monitored = next((c for c in checkpoints if c.monitor), None)
        if monitored is not None:
            self.summary.update(
                monitor=monitored.monitor,
                best_checkpoint=monitored.best_model_path or None,
                best_val=self._best_entry(monitored),
            )
        latest = next((c for c in checkpoints if not c.monitor), None)
        last = (latest.best_model_path if latest else None) or (
            monitored.last_model_path if monitored else None
        )
        self.summary["last_checkpoint"] = last or None
        if getattr(pl_module, "skipped_batches", 0):
            self.summary["skipped_batches"] = pl_module.skipped_batches
        # A task or a callback may add entries of its own (the Regressor: its learned line
        # and the least-squares answer; CompileNet: compile_seconds).
        for source in (pl_module, *trainer.callbacks):
            extras = getattr(source, "summary_extras", None)
            if callable(extras):
                self.summary.update(extras())
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
        if trainer.fast_dev_run:
            return
        log_dir = trainer.log_dir  # a broadcast under DDP: every rank must ask for it
        if trainer.is_global_zero:
            self.summary["wall_seconds"] = round(time.perf_counter() - self._created, 2)
            self.summary["precision"] = str(trainer.precision)  # what ran, not what was asked
            write_json(f"{log_dir}/{METRICS_FILE}", self.summary)


def _metrics(trainer: L.Trainer, prefix: str) -> dict[str, float]:
    return {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith(prefix)}
