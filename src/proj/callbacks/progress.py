"""Progress during a run: a throttled Rich bar on a terminal, plain lines everywhere else."""

import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ProgressBar, RichProgressBar


class ThrottledRichProgressBar(RichProgressBar):
    """Updates the training bar and its metrics every `every_n_batches` batches.

    Collecting and formatting the bar's metrics after every batch costs a few tenths of
    a millisecond, a tenth of a step of the course's MLP on two CPU cores; a few redraws
    a second show the same thing. The bar jumps to the absolute batch count, so skipped
    updates lose nothing.
    """

    def __init__(self, every_n_batches: int = 10, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.every_n_batches = every_n_batches

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        last = batch_idx + 1 == self.total_train_batches
        if (batch_idx + 1) % self.every_n_batches == 0 or last:
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)


class LineProgress(ProgressBar):
    """Progress as plain lines, for output that is not a terminal (CI logs, nohup, SLURM).

    A line with the live metrics every `every_n_seconds` of training, and one when each
    epoch's validation, a test or a prediction ends. Nothing is redrawn, so a log file
    reads top to bottom.
    """

    def __init__(self, every_n_seconds: float = 30.0) -> None:
        super().__init__()
        self.every_n_seconds = every_n_seconds
        self._enabled = True
        self._last_line = 0.0
        self._epoch_start = 0.0
        self._epoch: int | None = None

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def _line(self, trainer: L.Trainer, pl_module: L.LightningModule, head: str) -> None:
        if not self._enabled or not trainer.is_global_zero:
            return
        metrics = {k: v for k, v in self.get_metrics(trainer, pl_module).items() if k != "v_num"}
        shown = "  ".join(f"{k} {_short(v)}" for k, v in metrics.items())
        print(f"{head}  {shown}".rstrip(), flush=True)
        self._last_line = time.perf_counter()

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._finish_epoch(trainer, pl_module)
        self._epoch = trainer.current_epoch
        self._epoch_start = self._last_line = time.perf_counter()

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._finish_epoch(trainer, pl_module)

    def _finish_epoch(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """The line for the epoch just finished, printed once its own metrics are all in.

        The model logs its epoch's training metrics after the callbacks' on_train_epoch_end
        (and validation runs before it), so the line waits for the next epoch or the end.
        """
        if self._epoch is not None:
            seconds = time.perf_counter() - self._epoch_start
            self._line(trainer, pl_module, f"epoch {self._epoch}  {seconds:.1f} s")
            self._epoch = None

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if time.perf_counter() - self._last_line >= self.every_n_seconds:
            total = self.total_train_batches
            self._line(
                trainer, pl_module, f"epoch {trainer.current_epoch}  batch {batch_idx + 1}/{total}"
            )

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.state.fn == "validate":
            self._line(trainer, pl_module, "validate")

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._line(trainer, pl_module, "test")

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        batches = sum(trainer.num_predict_batches)
        self._line(trainer, pl_module, f"predict  {batches} batch{'es' if batches != 1 else ''}")


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
