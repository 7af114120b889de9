"""Lesson 2's point: a repeated group of layers becomes a module of its own."""

import torch
from torch import nn


class CustomLayer(nn.Module):
    """Conv in->3 k3 'same', then Conv 3->out k2 'same': the output keeps the input's size."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 3, kernel_size=3, padding="same")
        self.conv2 = nn.Conv2d(3, out_channels, kernel_size=2, padding="same")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x))


class CustomModel(nn.Module):
    """A stack of `CustomLayer(1, 1)` blocks: (B, 1, H, W) in, (B, 1, H, W) out.

    The blocks live in an `nn.Sequential`; a plain Python list would hide their
    parameters from `.parameters()` and so from the optimizer.
    """

    def __init__(self, num_layers: int = 3) -> None:
        super().__init__()
        self.layers = nn.Sequential(*(CustomLayer(1, 1) for _ in range(num_layers)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
