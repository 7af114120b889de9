"""`predict` of an ImageClassifier writes predictions.csv: one row per input, class names."""

import csv
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import BasePredictionWriter

from proj.callbacks.prediction_file import first_dataloader, rank_file
from proj.errors import ConfigError


class PredictionsCSV(BasePredictionWriter):
    """Rows of `id, target, pred, prob` (plus `pred_k, prob_k` up to `top_k`), from the
    `{"probs", "target"}` batches of ImageClassifier.predict_step.

    `id` is the image's file for CSV image datasets, else its index in the split; the
    target and predicted classes are written by name. Under DDP each rank writes its
    own `predictions.rank<r>.csv`, with the same global ids.
    """

    def __init__(self, top_k: int = 1) -> None:
        super().__init__(write_interval="epoch")
        if top_k < 1:
            raise ConfigError(f"top_k: must be >= 1, got {top_k}")
        self.top_k = top_k
        self.path: Path | None = None

    def write_on_epoch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, predictions: Any, batch_indices: Any
    ) -> None:
        outputs = first_dataloader(predictions)
        rank, world = trainer.global_rank, trainer.world_size
        self.path = rank_file(trainer, "csv")
        probs = torch.cat([o["probs"] for o in outputs]).float().cpu()  # (N, C)
        targets = torch.cat([o["target"] for o in outputs]).cpu()
        names = list(getattr(trainer.datamodule, "class_names", []))
        names = names or [str(c) for c in range(probs.shape[1])]
        k = min(self.top_k, probs.shape[1])
        top_probs, top_classes = probs.topk(k, dim=1)
        header = ["id", "target", "pred", "prob"]
        header += [f"{col}_{j}" for j in range(2, k + 1) for col in ("pred", "prob")]
        rows = []
        ids = _sample_ids(trainer, [rank + i * world for i in range(len(probs))])
        for i, sample_id in enumerate(ids):
            row = [sample_id, names[targets[i]] if 0 <= int(targets[i]) < len(names) else ""]
            for j in range(k):
                row += [names[top_classes[i, j]], f"{float(top_probs[i, j]):.6f}"]
            rows.append(row)
        _write(self.path, header, rows)


def _write(path: Path, header: list[str], rows: Any) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def _sample_ids(trainer: L.Trainer, indices: list[int]) -> list[str | int]:
    """File names when the predict split is a CSV image dataset, else split indices."""
    splits = getattr(trainer.datamodule, "splits", None)
    rows = getattr(splits.get("test") if isinstance(splits, dict) else None, "rows", None)
    return [rows[i].file for i in indices] if rows else indices
