"""Lightning's EMA of the weights, scored with the averaged weights in every stage."""

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import EMAWeightAveraging
from lightning.pytorch.trainer.states import TrainerFn


class EMA(EMAWeightAveraging):
    """Lightning's `EMAWeightAveraging` (same arguments), except that a checkpoint tested,
    validated or used to predict after a fit in the same process keeps its averaged weights.

    Lightning's callback holds on to its averaged model after fit, and on loading any
    checkpoint puts the raw, un-averaged weights back into the model. So the test that
    `proj fit` runs on the best checkpoint scored the raw weights, while validation, and
    with it the choice of the best checkpoint, used the average (measured: best.yaml's
    test accuracy was that of the raw weights). A checkpoint's `state_dict` holds the
    average; outside fit it is left in place. Fit and resume are Lightning's own.
    """

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if trainer.state.fn == TrainerFn.FITTING:
            super().on_load_checkpoint(trainer, pl_module, checkpoint)
