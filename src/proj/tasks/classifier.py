"""The one LightningModule for image classification: any net, any loss, any optimizer."""

from typing import Any, ClassVar, Literal

import lightning as L
import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from lightning.pytorch.utilities import rank_zero_info
from torch import nn
from torch.optim.lr_scheduler import OneCycleLR, ReduceLROnPlateau
from torchmetrics.classification import MulticlassAccuracy

from proj.errors import ConfigError
from proj.finetune import param_groups
from proj.tasks.class_metrics import ClassMetrics, class_names
from proj.tasks.divergence import NonFiniteLoss, guard_loss
from proj.tasks.losses import (
    balanced_weights,
    classification_loss,
    set_class_weights,
    takes_soft_targets,
)
from proj.tasks.schedules import WarmupCosineLR
from proj.tasks.tta import TTA, tta_averaged


class ImageClassifier(L.LightningModule):
    """Classification of `net`'s logits by any loss, with accuracy, balanced accuracy,
    macro F1 and per-class precision, recall and F1 at validation and test.

    Optimizer and scheduler are callables so a config can pick any `torch.optim` class
    (a class default here would leak its init_args, e.g. AdamW's weight_decay, into
    whatever class a config picks). ReduceLROnPlateau is stepped on `val/loss`, OneCycleLR
    and proj.tasks.WarmupCosineLR per step with their `total_steps` filled in from the
    trainer. Frozen parameters are left
    out of the optimizer (the Finetuning callback adds them later). How the net starts
    (an init scheme, a weights file) and its memory format are callbacks' business:
    proj.callbacks.InitialWeights and proj.callbacks.ChannelsLast.

    Args:
        net: Any nn.Module mapping a batch of images to (batch, num_classes) logits.
        num_classes: The CLI fills it from the DataModule's num_classes (and gives the same
            number to the net); give it only for a DataModule that has none.
        optimizer: Any torch.optim class with its arguments (None: AdamW with defaults).
        lr_scheduler: Any torch.optim.lr_scheduler class (None: a constant learning rate).
        loss: Any torch.nn loss module (None: CrossEntropyLoss); label smoothing and
            reduction are its own arguments. Fed what it takes (proj.tasks.losses).
        class_weights: 'balanced' (n / (k * n_c) from the training split's class counts,
            when fit starts), one weight per class, or None; they go into the loss's `weight`
            and are saved with the model.
        penalties: The course's explicit penalties on the loss: {l1: lambda} adds
            lambda * sum|w|, {l2: lambda} lambda * sum w^2, over the net's parameters.
        nonfinite_loss: On a NaN or infinite training loss: stop with an error naming the step, or
            skip the batch.
        tta: Outside training, average each image's logits over transformed copies:
            'flip' (its mirror: only where a mirror is the same class) and/or 'shift' (1-pixel
            moves); export folds it in.
        lr_mults: Learning-rate multipliers by the net's submodule name prefix, e.g.
            {backbone.: 0.1, backbone.0.: 0.01}; the longest prefix wins.
    """

    monitor: ClassVar[tuple[str, str]] = ("val/acc", "max")  # the CLI's best checkpoint

    def __init__(
        self,
        net: nn.Module,
        num_classes: int | None = None,
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
        loss: nn.Module | None = None,
        class_weights: Literal["balanced"] | list[float] | None = None,
        penalties: dict[Literal["l1", "l2"], float] | None = None,
        nonfinite_loss: NonFiniteLoss = "stop",
        tta: list[TTA] | None = None,
        lr_mults: dict[str, float] | None = None,
    ) -> None:
        super().__init__()
        if num_classes is None or num_classes < 1:
            raise ConfigError(f"model.num_classes: must be a positive number, got {num_classes}")
        # Under LightningCLI this records the net's config (class path and primitives). A net
        # (or loss) built in Python is dropped: pickling a module breaks weights_only loading.
        self.save_hyperparameters()
        built = [k for k in ("net", "loss") if isinstance(self.hparams.get(k), nn.Module)]
        if built:
            self.remove_ignored_hparams(built)
        self.lr_mults = dict(lr_mults or {})
        self.net = net
        self.num_classes = num_classes
        self.optimizer = optimizer
        self.lr_scheduler = lr_scheduler
        self.penalties = dict(penalties or {})
        self.nonfinite_loss = nonfinite_loss
        self.tta = list(tta or [])
        self.skipped_batches = 0
        self._epoch_loss_sum = torch.zeros(())
        self._epoch_correct = torch.zeros((), dtype=torch.long)
        self._epoch_samples = [0]  # a list: counted in place, see _log_training
        self.loss_fn = loss if loss is not None else nn.CrossEntropyLoss()
        self.class_weights = class_weights
        if isinstance(class_weights, list) and len(class_weights) != num_classes:
            raise ConfigError(
                f"model.class_weights: {len(class_weights)} weights for {num_classes} classes"
            )
        if class_weights is not None:  # a buffer from the start: checkpoints load into it
            given = class_weights if isinstance(class_weights, list) else [1.0] * num_classes
            set_class_weights(self.loss_fn, torch.tensor(given, dtype=torch.float32))
        self.val_acc = MulticlassAccuracy(num_classes, average="micro", validate_args=False)
        self.test_acc = MulticlassAccuracy(num_classes, average="micro", validate_args=False)
        self.val_metrics = ClassMetrics(num_classes)
        self.test_metrics = ClassMetrics(num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 5:  # (B, crops, C, H, W) from FiveCrop/TenCrop: logits averaged
            return self.net(x.flatten(0, 1)).unflatten(0, x.shape[:2]).mean(dim=1)
        if self.tta and not self.training and x.ndim == 4:
            return tta_averaged(self.net, x, self.tta)
        return self.net(x)

    def _step(
        self, batch: tuple[torch.Tensor, torch.Tensor], stage: str
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, logits) of the batch; the stage's accuracy is updated."""
        images, labels = batch
        logits = self(images)  # (B, num_classes)
        if logits.ndim != 2 or logits.shape[1] != self.num_classes:
            raise ConfigError(
                f"{type(self.net).__name__} returned logits of shape {tuple(logits.shape)}, "
                f"expected (batch, {self.num_classes}): check the net's num_classes"
            )
        loss = classification_loss(self.loss_fn, logits, labels)
        if stage != "train":  # the training metrics are summed by training_step
            accuracy = getattr(self, f"{stage}_acc")
            accuracy.update(logits, labels)
            getattr(self, f"{stage}_metrics").update(logits, labels)
            # Evaluation losses are averaged over all ranks, once per epoch.
            self.log(f"{stage}/loss", loss, on_epoch=True, prog_bar=True, sync_dist=True)
            self.log(f"{stage}/acc", accuracy, on_epoch=True, prog_bar=True)
        return loss, logits

    def _log_training(
        self, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor, batch_idx: int
    ) -> None:
        """Per-step logging only on the steps the logger writes; epoch sums kept on device.

        `self.log` costs about half a millisecond of Python per call, and a torchmetrics
        update a tenth of one: each as much as a good part of a step of the course's MLP,
        so the loss and the correct predictions are summed on the device instead.
        """
        # in place: assigning a module attribute goes through nn.Module.__setattr__ (slow)
        self._epoch_loss_sum.add_(loss.detach(), alpha=len(labels))
        # mixed (soft) labels count as their largest class
        hard = labels if labels.ndim == 1 else labels.argmax(dim=1)
        self._epoch_correct.add_((logits.detach().argmax(dim=1) == hard).sum())
        self._epoch_samples[0] += len(labels)
        if self._trainer is None or (batch_idx + 1) % self.trainer.log_every_n_steps == 0:
            self.log("train/loss_step", loss, on_step=True, on_epoch=False, prog_bar=True)

    def on_train_epoch_start(self) -> None:
        self._epoch_loss_sum = torch.zeros((), device=self.device)
        self._epoch_correct = torch.zeros((), dtype=torch.long, device=self.device)
        self._epoch_samples = [0]

    def on_train_epoch_end(self) -> None:
        samples = self._epoch_samples[0]
        if samples:  # means over this rank's samples, averaged over the ranks
            self.log(
                "train/loss_epoch", self._epoch_loss_sum / samples, prog_bar=True, sync_dist=True
            )
            self.log(
                "train/acc", self._epoch_correct.float() / samples, prog_bar=True, sync_dist=True
            )

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor | None:
        """The loss, for Lightning to step on; None (a non-finite loss, skipped) steps nothing."""
        loss, logits = self._step(batch, "train")
        self._log_training(loss, logits, batch[1], batch_idx)
        if l1 := self.penalties.get("l1"):
            loss = loss + l1 * sum(p.abs().sum() for p in self.net.parameters())
        if l2 := self.penalties.get("l2"):
            loss = loss + l2 * sum(p.pow(2).sum() for p in self.net.parameters())
        checked = guard_loss(loss, self, batch_idx, self.nonfinite_loss)
        if self.skipped_batches:
            self.log("train/skipped_batches", float(self.skipped_batches), on_step=True)
        return checked

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        self.val_metrics.log_epoch(self, "val", self._class_names())

    def on_test_epoch_end(self) -> None:
        self.test_metrics.log_epoch(self, "test", self._class_names())

    def _class_names(self) -> list[str]:
        data = self._trainer.datamodule if self._trainer is not None else None
        return class_names(data, self.num_classes)

    def setup(self, stage: str) -> None:
        """What fitting needs from the data, checked before the first step: the class
        counts for 'balanced' weights, and labels this loss can take."""
        if stage != "fit":
            return
        data = self.trainer.datamodule
        if self.class_weights == "balanced":
            counts = getattr(data, "class_counts", None)
            if counts is None:
                raise ConfigError(
                    f"model.class_weights: 'balanced' needs the data's class_counts, which "
                    f"{type(data).__name__} has not; give one weight per class instead"
                )
            counts = torch.as_tensor(counts)
            if (counts == 0).any():
                empty = [self._class_names()[i] for i in (counts == 0).nonzero().flatten()]
                raise ConfigError(f"model.class_weights: no training images of class {empty}")
            weights = balanced_weights(counts)
            set_class_weights(self.loss_fn, weights)
            named = ", ".join(
                f"{n} {w:.3g}" for n, w in zip(self._class_names(), weights.tolist(), strict=True)
            )
            rank_zero_info(f"class weights (balanced): {named}")
        mixes = [k for k in ("mixup", "cutmix") if getattr(data, k, 0)]
        if mixes and not takes_soft_targets(self.loss_fn):
            raise ConfigError(
                f"model.loss: {type(self.loss_fn).__name__} takes class indices, but data."
                f"{' and data.'.join(mixes)} make class probabilities; use CrossEntropyLoss "
                "or a BCE-style loss, or turn them off"
            )

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """The logits, for callbacks (the confusion matrix) to read in on_test_batch_end."""
        return self._step(batch, "test")[1].detach()

    def predict_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> dict[str, torch.Tensor]:
        images, labels = batch
        return {"probs": self(images).softmax(dim=1), "target": labels}  # probs: (B, C)

    def configure_optimizers(self) -> Any:
        make_optimizer = self.optimizer or torch.optim.AdamW
        optimizer = make_optimizer(param_groups(self.net, self.lr_mults))
        for group in optimizer.param_groups:
            group["lr"] = optimizer.defaults["lr"] * group["lr_mult"]
        if self.lr_scheduler is None:
            return optimizer
        scheduler = self._make_scheduler(optimizer)
        if isinstance(scheduler, ReduceLROnPlateau):
            config = {"scheduler": scheduler, "monitor": "val/loss", "interval": "epoch"}
        elif isinstance(scheduler, OneCycleLR | WarmupCosineLR):
            config = {"scheduler": scheduler, "interval": "step"}
        else:
            config = {"scheduler": scheduler, "interval": "epoch"}
        return {"optimizer": optimizer, "lr_scheduler": config}

    def _make_scheduler(self, optimizer: torch.optim.Optimizer) -> Any:
        # OneCycleLR needs a step count that only the trainer knows; a config leaves it
        # unset (null) and it is filled in here.
        keywords = getattr(self.lr_scheduler, "keywords", {})
        overrides: dict[str, Any] = {}
        if (
            "total_steps" in keywords
            and keywords["total_steps"] is None
            and not keywords.get("epochs")
        ):
            overrides["total_steps"] = int(self.trainer.estimated_stepping_batches)
        if isinstance(keywords.get("max_lr"), float | int) and len(optimizer.param_groups) > 1:
            # OneCycleLR's single max_lr would undo the per-group multipliers
            overrides["max_lr"] = [
                keywords["max_lr"] * g["lr_mult"] for g in optimizer.param_groups
            ]
        return self.lr_scheduler(optimizer, **overrides)
