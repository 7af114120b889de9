"""Test-time augmentation: logits averaged over transformed copies of each image."""

import torch
from torch import nn


def flip_averaged(net: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Logits of each image and its left-right mirror, averaged."""
    return (net(images) + net(images.flip(-1))) / 2
