"""Gives the model an `example_input_array` shaped like one real batch of its data."""

from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities.model_helpers import is_overridden
from torch.utils.data import DataLoader, Dataset


class ExampleInput(Callback):
    """Sets `pl_module.example_input_array` to one blank input of the data, at setup.

    With it, Lightning's model summary shows every layer's input and output shape (the
    course's torchsummary table) and TensorBoardViews can draw the graph. It is a batch
    as the DataLoader yields it (e.g. uint8): Lightning passes it through the DataModule's
    batch transforms, so a resize on the device shows in the shapes. Reading the batch
    leaves the random state untouched: a run trains the same with or without this. A module
    with no `forward` of its own (a task that only defines its steps) gets none.
    """

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage != "fit" or pl_module.example_input_array is not None:
            return
        if not is_overridden("forward", pl_module, L.LightningModule):
            return
        datamodule = trainer.datamodule
        if datamodule is None:
            return
        split = "val" if is_overridden("val_dataloader", datamodule) else "train"
        loader = getattr(datamodule, f"{split}_dataloader")()
        with torch.random.fork_rng(devices=[]):
            images = _first_input(loader)
        if isinstance(images, torch.Tensor):
            pl_module.example_input_array = torch.zeros((1, *images.shape[1:]), dtype=images.dtype)


def _first_input(loader: Any) -> Any:
    """The inputs of one batch; read from a DataLoader's dataset, so no worker is started."""
    dataset = getattr(loader, "dataset", None)
    if (
        isinstance(loader, DataLoader)
        and isinstance(dataset, Dataset)
        and hasattr(dataset, "__len__")
    ):
        sample = dataset[0]
        first = sample[0] if isinstance(sample, list | tuple) else sample
        if isinstance(first, torch.Tensor):
            return first.unsqueeze(0)
    batch = next(iter(loader))
    return batch[0] if isinstance(batch, list | tuple) else batch
