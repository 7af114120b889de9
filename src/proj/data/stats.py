"""Per-channel mean and standard deviation of a stream of image batches."""

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from proj.json_files import write_json


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


def cached_mean_std(
    batches: Iterable, cache: Path, key: Any
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """`channel_mean_std(batches)`, read from `cache` when it was written for the same
    `key` (any JSON value that changes when the images do), else computed and written."""
    digest = hashlib.sha1(json.dumps(key).encode()).hexdigest()[:16]
    if cache.is_file():
        cached = json.loads(cache.read_text())
        if cached.get("key") == digest:
            return tuple(cached["mean"]), tuple(cached["std"])
    mean, std = channel_mean_std(batches)
    write_json(cache, {"key": digest, "mean": mean, "std": std})
    return mean, std
