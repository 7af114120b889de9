"""The optimizer step as a plain loop writes it, when nothing needs Lightning's closure."""

from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import GradientAccumulationScheduler
from lightning.pytorch.utilities import rank_zero_warn
from torch.optim.lr_scheduler import ReduceLROnPlateau


class DirectStep(L.LightningModule):
    """Steps the optimizer inside `training_step` (Lightning's manual optimization).

    Lightning's automatic optimization wraps every step in a closure and a chain of hooks:
    Python per step that shows next to a small model's ~2 ms step (the course's MLP).
    This path does what a hand-written loop does (zero_grad, backward, step;
    through Lightning's `manual_backward`/`LightningOptimizer`, so precision plugins,
    loss scaling and DDP still apply) and steps the LR schedulers at the moments Lightning
    would: step-interval ones after each step, epoch-interval ones after the last training
    batch, ReduceLROnPlateau at the epoch's end on its monitored metric.

    Gradient clipping and accumulation are the Trainer's: when a run asks for them
    (`trainer.gradient_clip_val`, `accumulate_grad_batches > 1`, a
    GradientAccumulationScheduler) the module switches to automatic optimization, so
    every Trainer option keeps working. Subclasses call `optimize(loss)` at the end of
    `training_step` and `step_epoch_schedulers()` in `on_train_epoch_end`, and
    `configure_optimizers` returns `optimization(optimizer, scheduler_dict)`.
    """

    @property
    def automatic_optimization(self) -> bool:
        # Lightning reads this several times a step: decided once per trainer.
        trainer = self._trainer
        if trainer is None:
            return True
        cached = getattr(self, "_automatic_for", None)
        if cached is not None and cached[0] is trainer:
            return cached[1]
        callbacks = getattr(trainer, "callbacks", [])
        automatic = bool(
            getattr(trainer, "gradient_clip_val", None)
            or getattr(trainer, "accumulate_grad_batches", 1) != 1
            or any(isinstance(c, GradientAccumulationScheduler) for c in callbacks)
        )
        self._automatic_for = (trainer, automatic)
        return automatic

    @automatic_optimization.setter
    def automatic_optimization(self, value: bool) -> None:
        raise AttributeError("DirectStep decides automatic_optimization from the Trainer")

    def optimization(
        self, optimizer: torch.optim.Optimizer, scheduler: dict[str, Any] | None = None
    ) -> Any:
        """What `configure_optimizers` returns, for either path.

        `scheduler` is Lightning's scheduler dict (`scheduler`, `interval`, `monitor`).
        Lightning ignores `interval`/`monitor` under manual optimization, so they are kept
        here and applied by this class.
        """
        self.scheduler_configs = [scheduler] if scheduler is not None else []
        if scheduler is None:
            return optimizer
        if self.automatic_optimization:
            return {"optimizer": optimizer, "lr_scheduler": scheduler}
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler["scheduler"]}}

    def optimize(self, loss: torch.Tensor | None, batch_idx: int) -> torch.Tensor | None:
        """One optimizer step on `loss` (skipped when None); returns what training_step returns."""
        if self.automatic_optimization or loss is None:
            return loss
        optimizer = self.optimizers()
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()
        self._step_schedulers("step", plateau=False)
        if batch_idx + 1 == self.trainer.num_training_batches:
            self._step_schedulers("epoch", plateau=False)
        return loss.detach()

    def step_epoch_schedulers(self) -> None:
        """ReduceLROnPlateau, on the metric it monitors (validation ran before this hook)."""
        if not self.automatic_optimization:
            self._step_schedulers("epoch", plateau=True)

    def _step_schedulers(self, interval: str, plateau: bool) -> None:
        for config in getattr(self, "scheduler_configs", []):
            scheduler = config["scheduler"]
            is_plateau = isinstance(scheduler, ReduceLROnPlateau)
            if config.get("interval", "epoch") != interval or is_plateau != plateau:
                continue
            if not plateau:
                scheduler.step()
                continue
            monitor = config.get("monitor", "val/loss")
            value: Any = self.trainer.callback_metrics.get(monitor)
            if value is None:
                rank_zero_warn(
                    f"ReduceLROnPlateau monitors {monitor!r}, which was not logged: learning "
                    f"rate not updated (logged: {sorted(self.trainer.callback_metrics)})",
                    category=RuntimeWarning,
                )
                continue
            scheduler.step(value)
