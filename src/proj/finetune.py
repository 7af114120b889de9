"""Finetuning: learning-rate multipliers by submodule, and freeze/unfreeze strategies for
`net.backbone` / `net.head` on Lightning's BaseFinetuning."""

from typing import Any, Literal

import lightning as L
import torch
from lightning.pytorch.callbacks import BaseFinetuning
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import ReduceLROnPlateau

from proj.errors import ConfigError


def lr_mult(lr_mults: dict[str, float], name: str) -> float | None:
    """The multiplier of the longest prefix of `name` in `lr_mults` (None: no prefix)."""
    prefixes = [p for p in lr_mults if name.startswith(p)]
    return lr_mults[max(prefixes, key=len)] if prefixes else None


def param_groups(net: nn.Module, lr_mults: dict[str, float]) -> list[dict[str, Any]]:
    """The trainable parameters grouped by learning-rate multiplier, the 1.0 group (the head's,
    usually) first; each group's `lr_mult` is applied to the optimizer's lr by the task."""
    groups: dict[float, list[torch.nn.Parameter]] = {1.0: []}
    for name, param in net.named_parameters():
        if param.requires_grad:
            mult = lr_mult(lr_mults, name)
            groups.setdefault(1.0 if mult is None else mult, []).append(param)
    return [{"params": params, "lr_mult": mult} for mult, params in groups.items() if params]


Strategy = Literal["no_freeze", "freeze", "freeze_unfreeze", "unfreeze_milestones"]


class Finetuning(BaseFinetuning):
    """One callback for the course's transfer-learning strategies (lesson 8).

    - `no_freeze`: train everything from the start (full finetune).
    - `freeze`: train the head only; the backbone's BatchNorm statistics stay frozen too
      unless `train_bn`.
    - `freeze_unfreeze`: head only, then the whole backbone from `unfreeze_at_epoch`.
    - `unfreeze_milestones`: head only, then the backbone's last `last_layers` layers at
      `milestones[0]`, the rest at `milestones[1]`.

    Unfrozen parameters join the optimizer at the head's learning rate times
    `unfrozen_lr_mult` (default: the task's `lr_mults` for `backbone.`, else 0.1), and
    follow the head's schedule from where it is, scaled by that multiplier.
    """

    def __init__(
        self,
        strategy: Strategy = "freeze_unfreeze",
        unfreeze_at_epoch: int = 1,
        milestones: tuple[int, int] = (1, 2),
        last_layers: int = 1,
        train_bn: bool = False,
        unfrozen_lr_mult: float | None = None,
    ) -> None:
        super().__init__()
        if strategy not in Strategy.__args__:
            raise ConfigError(
                f"Finetuning.strategy: unknown {strategy!r}; expected one of {Strategy.__args__}"
            )
        if milestones[0] > milestones[1]:
            raise ConfigError(f"Finetuning.milestones: must be in order, got {milestones}")
        self.strategy = strategy
        self.unfreeze_at_epoch = unfreeze_at_epoch
        self.milestones = milestones
        self.last_layers = last_layers
        self.train_bn = train_bn
        self.unfrozen_lr_mult = unfrozen_lr_mult

    def freeze_before_training(self, pl_module: L.LightningModule) -> None:
        if self.strategy != "no_freeze":
            self.freeze(_backbone(pl_module), train_bn=self.train_bn)

    def finetune_function(
        self, pl_module: L.LightningModule, epoch: int, optimizer: Optimizer
    ) -> None:
        layers = [m for m in _backbone(pl_module).children() if any(True for _ in m.parameters())]
        if self.strategy == "freeze_unfreeze" and epoch == self.unfreeze_at_epoch:
            self._unfreeze(pl_module, layers, optimizer)
        elif self.strategy == "unfreeze_milestones" and epoch == self.milestones[0]:
            self._unfreeze(pl_module, layers[-self.last_layers :], optimizer)
        elif self.strategy == "unfreeze_milestones" and epoch == self.milestones[1]:
            self._unfreeze(pl_module, layers[: -self.last_layers], optimizer)

    def _unfreeze(
        self, pl_module: L.LightningModule, modules: list[nn.Module], optimizer: Optimizer
    ) -> None:
        mult = (
            self.unfrozen_lr_mult or lr_mult(getattr(pl_module, "lr_mults", {}), "backbone.") or 0.1
        )
        head_group = optimizer.param_groups[0]
        self.unfreeze_and_add_param_group(
            modules, optimizer, lr=head_group["lr"] * mult, train_bn=True
        )
        new_group = optimizer.param_groups[-1]
        new_group["lr_mult"] = head_group.get("lr_mult", 1.0) * mult
        _join_schedules(pl_module.trainer, optimizer, new_group, mult)


def _backbone(pl_module: L.LightningModule) -> nn.Module:
    net = getattr(pl_module, "net", None)
    if net is None or not isinstance(getattr(net, "backbone", None), nn.Module):
        raise ConfigError(
            f"finetuning needs a net with `backbone` and `head` (TorchvisionNet, FashionCNN, "
            f"ResNet34, ...); {type(net).__name__} has none"
        )
    return net.backbone


def _join_schedules(trainer: L.Trainer, optimizer: Optimizer, group: dict, mult: float) -> None:
    """Give a param group added mid-training the per-group state its schedulers keep."""
    head = optimizer.param_groups[0]
    for config in trainer.lr_scheduler_configs:
        scheduler = config.scheduler
        if scheduler.optimizer is not optimizer:
            continue
        if isinstance(scheduler, ReduceLROnPlateau):
            scheduler.min_lrs.append(scheduler.min_lrs[0] * mult)
            continue
        # Per-group values the scheduler set up at its start (initial_lr, max_lr, min_lr,
        # base_momentum, ...): learning rates scaled by the multiplier, the rest copied.
        for key, value in head.items():
            if key.endswith("lr") and key not in ("lr", "lr_mult"):
                group[key] = value * mult
            elif key not in group:
                group[key] = value
        scheduler.base_lrs.append(scheduler.base_lrs[0] * mult)
