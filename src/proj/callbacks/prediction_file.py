"""`predict` of any task: what its `predict_step` returns, stacked, in predictions.pt."""

from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import BasePredictionWriter


class PredictionsFile(BasePredictionWriter):
    """`predictions.pt` in the run folder, `torch.load(..., weights_only=True)`-readable:
    tensors concatenated along the batch (a dict of them, key by key; anything else as a
    list of batches). Under DDP each rank writes `predictions.rank<r>.pt`, its own samples
    (rank r holds the split's samples r, r + world, ...)."""

    def __init__(self) -> None:
        super().__init__(write_interval="epoch")
        self.path: Path | None = None

    def write_on_epoch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, predictions: Any, batch_indices: Any
    ) -> None:
        self.path = rank_file(trainer, "pt")
        torch.save(stacked(first_dataloader(predictions)), self.path)


def first_dataloader(predictions: Any) -> list[Any]:
    """The batches of the (first) predict dataloader, as Lightning hands them over."""
    return predictions[0] if predictions and isinstance(predictions[0], list) else predictions


def rank_file(trainer: L.Trainer, suffix: str) -> Path:
    """`predictions.<suffix>` in the run folder; `predictions.rank<r>.<suffix>` under DDP."""
    rank = "" if trainer.world_size == 1 else f".rank{trainer.global_rank}"
    path = Path(trainer.log_dir or ".") / f"predictions{rank}.{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def stacked(outputs: list[Any]) -> Any:
    """Batches of tensors (or dicts of tensors) as one tensor (or dict), on the CPU."""
    if outputs and all(isinstance(o, torch.Tensor) for o in outputs):
        return torch.cat([o.detach().cpu() for o in outputs])
    if outputs and all(isinstance(o, dict) for o in outputs):
        return {key: stacked([o[key] for o in outputs]) for key in outputs[0]}
    return list(outputs)
