"""The best checkpoint's monitor, checked once against what the model really logs."""

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_info

from proj.errors import ConfigError


class MonitorCheck(Callback):
    """At the first point where the monitored checkpoint looks for its metric (the end of
    the first validation, or of the first training epoch when nothing validates), a
    monitor the model never logged is one line instead of Lightning's traceback.

    `guessed`: the monitor is the CLI's guess (`val/loss`) for a module that declares none;
    if the module does not log it either, the run keeps `last.ckpt` only and says so.
    Lightning runs checkpoint callbacks after all others, so this runs first.
    """

    def __init__(self, guessed: bool = False) -> None:
        self.guessed = guessed
        self.checked = False

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking and trainer.state.fn == "fit":
            self._check(trainer, pl_module)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.enable_validation:
            self._check(trainer, pl_module)

    def _check(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.checked:
            return
        self.checked = True
        logged = sorted(trainer.callback_metrics)
        for checkpoint in trainer.checkpoint_callbacks:
            monitor = checkpoint.monitor
            if monitor is None or monitor in trainer.callback_metrics:
                continue
            module = type(pl_module).__name__
            if not self.guessed:
                raise ConfigError(
                    f"checkpoint.monitor: {monitor!r} is not logged by {module} "
                    f"(it logs {logged or 'nothing'}); set --checkpoint.monitor to one of those"
                )
            rank_zero_info(
                f"checkpoint: {module} declares no monitor and logs no {monitor!r}; keeping "
                f"last.ckpt only (set --checkpoint.monitor to keep a best checkpoint)"
            )
            checkpoint.monitor = None
            checkpoint.save_top_k = 0  # with no monitor: save nothing (last.ckpt has its own)
