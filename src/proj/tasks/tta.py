"""Test-time augmentation: logits averaged over transformed copies of each image."""

from collections.abc import Sequence
from itertools import product
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

TTA = Literal["flip", "shift"]
SHIFTS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))  # (rows, columns): the image and 4 moves


def shifted(images: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """Each image moved by (rows, cols) pixels, the uncovered edge zero (the mean, once
    normalised)."""
    if rows == cols == 0:
        return images
    h, w = images.shape[-2:]
    padded = F.pad(images, (1, 1, 1, 1))
    return padded[..., 1 - rows : 1 - rows + h, 1 - cols : 1 - cols + w]


def tta_averaged(net: nn.Module, images: torch.Tensor, tta: Sequence[TTA]) -> torch.Tensor:
    """The mean of net's logits over every combination of the asked transforms: 'flip'
    (the image and its mirror) and 'shift' (the image and its 1-pixel moves up, down,
    left and right)."""
    flips = (False, True) if "flip" in tta else (False,)
    moves = SHIFTS if "shift" in tta else SHIFTS[:1]
    total = None
    for flip, (rows, cols) in product(flips, moves):
        view = shifted(images.flip(-1) if flip else images, rows, cols)
        logits = net(view)
        total = logits if total is None else total + logits
    return total / (len(flips) * len(moves))
