"""Reports a run's per-epoch validation metric to its Optuna trial, and prunes it when told."""

from typing import Any, Literal

import lightning as L
from lightning.pytorch.callbacks import Callback


class OptunaPruning(Callback):
    """Given by scripts/sweep.py to each trial's run (`proj.cli.run(..., callbacks=[...])`),
    so the run's saved config stays that of an ordinary run.

    After each validation epoch the value of `monitor` is reported to `trial`; when the
    study's pruner says the trial is behind, the run stops by raising `optuna.TrialPruned`
    at the end of that epoch (its folder, metrics.json and checkpoints stay). `interrupted`
    tells the sweep that a Ctrl-C ended the run (Lightning turns it into an exit). Needs the
    `sweep` extra; nothing else in proj imports optuna.
    """

    def __init__(self, trial: Any, monitor: str = "val/acc") -> None:
        import optuna  # the optional extra: only sweeps need it

        self._optuna = optuna
        self.trial = trial  # an optuna.Trial
        self.monitor = monitor
        self._pruned = ""
        self.interrupted = False

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        value: Any = trainer.callback_metrics[self.monitor]
        self.trial.report(float(value), step=trainer.current_epoch)
        if self.trial.should_prune():
            self._pruned = f"{self.monitor}={float(value):.4f} at epoch {trainer.current_epoch}"

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self.interrupted = isinstance(exception, KeyboardInterrupt)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Raised here, not at validation end, so the run's metrics.json has the epoch.
        if self._pruned:
            raise self._optuna.TrialPruned(self._pruned)


def make_pruner(name: Literal["median", "none"]) -> Any:
    """The sweep's pruner by name; the sweep and each trial's callback build the same one.

    Median: a trial is stopped when its metric at an epoch is worse than the median of the
    earlier trials at that epoch, once 2 trials have finished.
    """
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"unknown pruner {name!r}; expected 'median' or 'none'")
