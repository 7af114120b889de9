"""Stratified splits and k-fold splits: each class dealt out in proportion, fixed by a seed."""

from collections.abc import Sequence

import torch

from proj.errors import ConfigError


def stratified_fold(
    labels: torch.Tensor, num_folds: int, fold: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(validation, training) indices for `fold` of `num_folds`.

    Every class is shuffled with its own seeded generator and cut into `num_folds`
    near-equal parts, so the folds are disjoint, together cover all indices, and hold
    each class in the same proportion as the whole.
    """
    if num_folds < 2:
        raise ConfigError(f"data.num_folds: must be >= 2, got {num_folds}")
    if not 0 <= fold < num_folds:
        raise ConfigError(f"data.fold: must be in 0..{num_folds - 1}, got {fold}")
    generator = torch.Generator().manual_seed(seed)
    val_parts, train_parts = [], []
    for label in torch.unique(labels).tolist():
        members = (labels == label).nonzero().flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        parts = torch.tensor_split(members, num_folds)
        val_parts.append(parts[fold])
        train_parts.extend(p for i, p in enumerate(parts) if i != fold)
    return torch.cat(val_parts).sort().values, torch.cat(train_parts).sort().values


def stratified_split(
    labels: torch.Tensor, fractions: Sequence[float], seed: int
) -> list[torch.Tensor]:
    """Index parts of `labels`, one per fraction and then the rest: each part takes its
    fraction of every class (rounded), picked by a seeded generator, so every part keeps
    the classes' proportions."""
    generator = torch.Generator().manual_seed(seed)
    parts: list[list[torch.Tensor]] = [[] for _ in range(len(fractions) + 1)]
    for label in torch.unique(labels).tolist():
        members = (labels == label).nonzero().flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        start = 0
        for i, fraction in enumerate(fractions):
            cut = round(fraction * len(members))
            parts[i].append(members[start : start + cut])
            start += cut
        parts[-1].append(members[start:])
    empty = torch.zeros(0, dtype=torch.long)
    return [torch.cat(p).sort().values if p else empty for p in parts]
