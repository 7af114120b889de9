"""NHWC memory format for a model's weights."""

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback


class ChannelsLast(Callback):
    """Stores the model's 4-D weights as NHWC, the layout oneDNN's bf16 and cuDNN's
    tensor-core convolutions are fastest in (fast.yaml uses it).

    Weights are enough: a convolution with an NHWC weight computes and returns NHWC
    whatever its input's layout (same numbers as converting the input first, measured),
    so every activation after the first convolution is NHWC.
    """

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        pl_module.to(memory_format=torch.channels_last)
