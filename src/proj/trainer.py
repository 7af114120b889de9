"""The Trainer the CLI builds: its log_dir is the run folder, whatever the loggers."""

import lightning as L


class RunTrainer(L.Trainer):
    """Lightning's Trainer, with `log_dir` the run folder (`logs/<experiment>/version_N/`)
    that the CLI set, where config.yaml, metrics.json, predictions and checkpoints go with
    any loggers or none. Lightning's own log_dir is the first logger's folder (MLflow's and
    W&B's are elsewhere), or the working directory without a logger.
    """

    run_dir: str | None = None  # rank 0's; other ranks get it by broadcast
    uses_run_dir = False  # set on every rank, so that every rank joins the broadcast

    @property
    def log_dir(self) -> str | None:
        if not self.uses_run_dir:
            return super().log_dir
        return self.strategy.broadcast(self.run_dir)
