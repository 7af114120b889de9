"""The first nn.Module of the course (lesson 1): a line with a learnable slope and offset."""

import torch
from torch import nn


class LinearModel(nn.Module):
    """`forward(x) = x * weight + bias` with two scalar parameters, both `randn(1)` at start."""

    def __init__(self) -> None:
        super().__init__()  # without it, assigning a Parameter raises AttributeError
        self.weight = nn.Parameter(torch.randn(1))
        self.bias = nn.Parameter(torch.randn(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight + self.bias
