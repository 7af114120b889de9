"""What to do when the training loss stops being a finite number."""

from typing import Literal

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_warn

from proj.errors import ConfigError, TrainingDiverged

NonFiniteLoss = Literal["stop", "skip"]


def guard_loss(
    loss: torch.Tensor, module: L.LightningModule, batch_idx: int, policy: NonFiniteLoss
) -> torch.Tensor | None:
    """`loss` if finite; else stop (raise) or skip the batch (return None: no optimizer step).

    Either way the weights never see the bad gradient, so the last checkpoint and the
    current weights stay good. Skipping is for one process: under DDP a rank that skips
    while the others step would wait for them forever.
    """
    if torch.isfinite(loss):
        return loss
    where = f"epoch {module.current_epoch}, global step {module.global_step}, batch {batch_idx}"
    if policy == "stop":
        raise TrainingDiverged(
            f"the training loss is {loss.item()} at {where}: training stopped before the "
            "optimizer step, so the weights and the last checkpoint are the last good ones. "
            "Lower the learning rate, or set model.init_args.nonfinite_loss: skip to skip "
            "such batches."
        )
    if policy != "skip":
        raise ConfigError(f"model.nonfinite_loss: unknown {policy!r}; expected 'stop' or 'skip'")
    module.skipped_batches += 1
    rank_zero_warn(f"training loss is {loss.item()} at {where}: batch skipped")
    return None
