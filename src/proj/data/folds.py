"""Stratified k-fold splits: each class dealt evenly over the folds, fixed by a seed."""

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
