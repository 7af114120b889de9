"""Regression by any loss (mean squared error by default), logging the model's scalar
parameters as it learns."""

from typing import Any, ClassVar

import lightning as L
import torch
from lightning.pytorch.cli import OptimizerCallable
from lightning.pytorch.utilities import rank_zero_info
from torch import nn
from torch.nn import functional as F

from proj.tasks.divergence import NonFiniteLoss, guard_loss


class Regressor(L.LightningModule):
    """`loss` (MSELoss unless given: L1Loss, SmoothL1Loss, HuberLoss, any torch.nn loss)
    on `net(x)` vs `y`, as `<stage>/loss`; the MSE is always logged too, `<stage>/mse`,
    so runs with different losses compare on one metric.

    Every scalar parameter of the net (the line's `weight` and `bias`) is logged as
    `param/<name>`, and compared with the DataModule's `reference_parameters()` (e.g. the
    least-squares answer) when training ends.
    """

    monitor: ClassVar[tuple[str, str]] = ("val/mse", "min")  # the CLI's best checkpoint

    def __init__(
        self,
        net: nn.Module,
        optimizer: OptimizerCallable | None = None,
        nonfinite_loss: NonFiniteLoss = "stop",
        loss: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        built = [k for k in ("net", "loss") if isinstance(self.hparams.get(k), nn.Module)]
        if built:
            self.remove_ignored_hparams(built)  # keep checkpoints weights_only-loadable
        self.net = net
        self.optimizer = optimizer
        self.nonfinite_loss = nonfinite_loss
        self.skipped_batches = 0
        self.loss_fn = loss if loss is not None else nn.MSELoss()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def scalar_parameters(self) -> dict[str, float]:
        return {n: float(p.detach()) for n, p in self.net.named_parameters() if p.numel() == 1}

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch
        predicted = self.net(x)
        loss = self.loss_fn(predicted, y)
        synced = stage != "train"
        self.log(f"{stage}/loss", loss, on_epoch=True, sync_dist=synced)
        mse = loss if isinstance(self.loss_fn, nn.MSELoss) else F.mse_loss(predicted, y)
        self.log(f"{stage}/mse", mse, on_epoch=True, prog_bar=True, sync_dist=synced)
        return loss

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor | None:
        loss = self._step(batch, "train")
        for name, value in self.scalar_parameters().items():
            self.log(f"param/{name}", value, on_step=False, on_epoch=True)
        return guard_loss(loss, self, batch_idx, self.nonfinite_loss)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "test")

    def predict_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        return self.net(batch[0])

    def configure_optimizers(self) -> Any:
        make_optimizer = self.optimizer or torch.optim.SGD
        return make_optimizer(self.parameters())

    def _reference_parameters(self) -> dict[str, float]:
        datamodule = self._trainer and self.trainer.datamodule
        reference_fn = getattr(datamodule, "reference_parameters", None)
        return reference_fn() if reference_fn else {}

    def summary_extras(self) -> dict[str, dict[str, float]]:
        """For metrics.json (proj.callbacks.RunSummary): the learned scalar parameters, and
        the DataModule's exact answer when it has one."""
        extras = {"parameters": self.scalar_parameters()}
        if reference := self._reference_parameters():
            extras["reference_parameters"] = reference
        return extras

    def on_fit_end(self) -> None:
        learned = self.scalar_parameters()
        reference = self._reference_parameters()
        lines = [f"{'parameter':<10} {'learned':>10} {'least squares':>14}"]
        for name, value in learned.items():
            ref = f"{reference[name]:>14.4f}" if name in reference else f"{'-':>14}"
            lines.append(f"{name:<10} {value:>10.4f} {ref}")
        rank_zero_info("\n".join(lines))
        if self.logger is not None and reference:
            metrics = {f"least_squares/{name}": value for name, value in reference.items()}
            self.logger.log_metrics(metrics, step=self.global_step)
