"""Matplotlib figures for TensorBoard and the results page."""

from collections.abc import Sequence

import torch
from matplotlib.figure import Figure  # without pyplot: no display backend, nothing global


def confusion_matrix_figure(matrix: torch.Tensor, class_names: Sequence[str]) -> Figure:
    """(C, C) counts, rows = true class: shaded by row share, counts written in each cell."""
    counts = matrix.detach().cpu().long()
    shares = counts.float() / counts.sum(dim=1, keepdim=True).clamp(min=1)
    size = max(4.0, 0.6 * len(class_names) + 2)
    fig = Figure(figsize=(size, size))
    ax = fig.subplots()
    ax.imshow(shares.numpy(), cmap="Blues", vmin=0, vmax=1)
    ticks = range(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in ticks:
        for j in ticks:
            color = "white" if shares[i, j] > 0.5 else "black"
            ax.text(j, i, str(int(counts[i, j])), ha="center", va="center", color=color, fontsize=8)
    fig.tight_layout()
    return fig


def training_curves_figure(curves: dict[str, list[tuple[float, float]]], title: str = "") -> Figure:
    """Loss and accuracy per epoch: one panel each, a line per tag (train/..., val/...)."""
    fig = Figure(figsize=(10, 4))
    loss_ax, acc_ax = fig.subplots(1, 2)
    for tag, points in sorted(curves.items()):
        if not points:
            continue
        ax = loss_ax if "loss" in tag else acc_ax
        epochs, values = zip(*points, strict=True)
        ax.plot(epochs, values, marker="o", markersize=3, label=tag)
    for ax, name in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def time_to_accuracy_figure(
    curves: dict[str, list[tuple[float, float]]], targets: Sequence[float] = ()
) -> Figure:
    """Validation accuracy against fit seconds, a line per run, dashed lines at the targets.

    With targets, the y axis starts 0.1 below the lowest one, so the runs that compete
    are not squeezed by a slow one; runs that stay below are marked so in the legend.
    """
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    bottom = min(targets) - 0.1 if targets else None
    for name, points in sorted(curves.items()):
        seconds, accuracy = zip(*points, strict=True)
        below = bottom is not None and max(accuracy) < bottom
        ax.plot(seconds, accuracy, marker="o", markersize=3, label=name + " (below)" * below)
    for target in targets:
        ax.axhline(target, color="gray", linestyle="--", linewidth=0.8)
    if bottom is not None:
        ax.set_ylim(bottom=bottom)
    ax.set_xlabel("fit seconds")
    ax.set_ylabel("val/acc")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
