"""Test-only pieces: callbacks configs in tests refer to by class path (tests.helpers.X),
and a reader for the TensorBoard event files runs write."""

import os
import signal
from pathlib import Path

import torch
from lightning.pytorch.callbacks import Callback
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from torch import nn


class KillAt(Callback):
    """SIGKILL this process at the start of `epoch` (after `batch` batches of it)."""

    def __init__(self, epoch: int, batch: int = 0) -> None:
        self.epoch = epoch
        self.batch = batch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        if trainer.current_epoch == self.epoch and batch_idx == self.batch:
            os.kill(os.getpid(), signal.SIGKILL)


class NaNAfter(nn.Module):
    """A linear classifier whose training forward passes return NaN from call `after` on
    (for `count` calls; forever when count is 0)."""

    def __init__(self, num_classes: int = 10, after: int = 2, count: int = 0) -> None:
        super().__init__()
        self.linear = nn.Linear(28 * 28, num_classes)
        self.after, self.count, self.calls = after, count, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.linear(x.flatten(1))
        if self.training:
            self.calls += 1
            poisoned = self.calls > self.after and (
                self.count == 0 or self.calls <= self.after + self.count
            )
            if poisoned:
                return out * float("nan")
        return out


def tensorboard_tags(run: Path) -> tuple[dict[str, str], bool]:
    """Every tag in the run's event files -> its kind (plugin or value type); a graph?"""
    tags: dict[str, str] = {}
    graph = False
    for path in run.glob("events.out.tfevents.*"):
        for event in EventFileLoader(str(path)).Load():
            graph = graph or bool(event.graph_def)
            for value in event.summary.value:
                kind = value.metadata.plugin_data.plugin_name or value.WhichOneof("value")
                tags[value.tag] = kind
    return tags, graph
