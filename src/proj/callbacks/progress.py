"""Lightning's Rich progress bar, redrawn every few batches instead of after each one."""

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import RichProgressBar


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
