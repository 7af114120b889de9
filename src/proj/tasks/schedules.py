"""Learning-rate schedules, stepped per batch, that torch has as parts but not as one class."""

import warnings

from torch.optim import Optimizer
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

from proj.errors import ConfigError


class WarmupCosineLR(SequentialLR):
    """A linear warmup from `start_factor` x lr up to lr over `warmup_steps` batches, then a
    cosine decay to `eta_min` over the rest: torch's LinearLR and CosineAnnealingLR in a
    SequentialLR. The usual start of a recipe with large batches, EMA or strong
    augmentation, where the first full-size steps would throw the weights far.

    Args:
        optimizer: Given by the task.
        warmup_steps: Batches of warmup (>= 1).
        total_steps: All training batches; left null in a config, ImageClassifier fills
            in the trainer's estimate.
        start_factor: The first batch's learning rate, as a fraction of the optimizer's.
        eta_min: The learning rate the cosine ends at.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        warmup_steps: int,
        total_steps: int | None = None,
        start_factor: float = 0.01,
        eta_min: float = 0.0,
    ) -> None:
        if total_steps is None:
            raise ConfigError(
                "WarmupCosineLR.total_steps: unset; ImageClassifier fills it in, otherwise give it"
            )
        if warmup_steps < 1:
            raise ConfigError(f"WarmupCosineLR.warmup_steps: must be >= 1, got {warmup_steps}")
        if warmup_steps >= total_steps:  # a debug run (fast_dev_run, limit_train_batches)
            shorter = max(1, total_steps - 1)
            warnings.warn(
                f"WarmupCosineLR: {total_steps} steps in all, not more than warmup_steps="
                f"{warmup_steps}: warming up over {shorter}",
                stacklevel=2,
            )
            warmup_steps = shorter
        self.warmup_steps, self.total_steps = warmup_steps, total_steps
        warmup = LinearLR(optimizer, start_factor=start_factor, total_iters=warmup_steps)
        cosine = CosineAnnealingLR(
            optimizer, T_max=max(1, total_steps - warmup_steps), eta_min=eta_min
        )
        super().__init__(optimizer, [warmup, cosine], milestones=[warmup_steps])
