"""What imbalanced classes need measured, from torchmetrics: balanced accuracy (the mean
of the classes' recalls), macro F1, and each class's precision, recall and F1 by name."""

import re
from collections.abc import Sequence
from typing import Any

import lightning as L
import torch
from torch import nn
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassF1Score, MulticlassPrecision, MulticlassRecall


def class_names(datamodule: Any, num_classes: int) -> list[str]:
    """The DataModule's class names when it has one per class, else the indices."""
    names = list(getattr(datamodule, "class_names", ()) or ())
    return names if len(names) == num_classes else [str(c) for c in range(num_classes)]


def metric_tag(name: str) -> str:
    """A class name as a metric name's part: `T-shirt/top` -> `T-shirt_top`."""
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", name)


class ClassMetrics(nn.Module):
    """Updated with each evaluation batch; logged once per epoch as `<stage>/balanced_acc`,
    `<stage>/macro_f1` and `<stage>/{precision,recall,f1}/<class>` (summed over ranks)."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        options = {"num_classes": num_classes, "validate_args": False}
        self.metrics = MetricCollection(
            {
                "balanced_acc": MulticlassRecall(average="macro", **options),
                "macro_f1": MulticlassF1Score(average="macro", **options),
                "precision": MulticlassPrecision(average=None, **options),
                "recall": MulticlassRecall(average=None, **options),
                "f1": MulticlassF1Score(average=None, **options),
            },
            compute_groups=True,  # one confusion count shared by all five
        )
        self.batches = 0

    def update(self, logits: torch.Tensor, labels: torch.Tensor) -> None:
        self.metrics.update(logits, labels if labels.ndim == 1 else labels.argmax(dim=1))
        self.batches += 1

    def log_epoch(self, module: L.LightningModule, stage: str, names: Sequence[str]) -> None:
        if not self.batches:
            return
        values = self.metrics.compute()
        self.metrics.reset()
        self.batches = 0
        for key in ("balanced_acc", "macro_f1"):
            module.log(f"{stage}/{key}", values[key])
        for key in ("precision", "recall", "f1"):
            for name, value in zip(names, values[key], strict=True):
                module.log(f"{stage}/{key}/{metric_tag(name)}", value)
