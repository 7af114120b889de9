"""Per-channel mean and standard deviation of a stream of image batches."""

from collections.abc import Iterable

import torch


def channel_mean_std(batches: Iterable) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Mean/std over every pixel of (B, C, H, W) batches (uint8 in [0, 255] or float in [0, 1]).

    Sums are kept in float64, so millions of pixels add up without drift.
    """
    total = total_sq = None
    count = 0
    for batch in batches:
        images = batch[0] if isinstance(batch, list | tuple) else batch
        x = images.double() / 255 if images.dtype == torch.uint8 else images.double()
        x = x.transpose(0, 1).flatten(1)  # (C, B*H*W)
        total = x.sum(1) if total is None else total + x.sum(1)
        total_sq = (x * x).sum(1) if total_sq is None else total_sq + (x * x).sum(1)
        count += x.shape[1]
    if not count:
        raise ValueError("no images to compute a mean and std from")
    mean = total / count
    std = (total_sq / count - mean * mean).clamp_min(0).sqrt()
    return tuple(round(v, 4) for v in mean.tolist()), tuple(round(v, 4) for v in std.tolist())
