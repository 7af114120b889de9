"""The part every image DataModule shares: named splits served as batches, and uint8 batches
made float, transformed and normalised on the device."""

from typing import Any, Literal

import lightning as L
import torch
from torch.utils.data import Subset

from proj.data import batch_transforms as bt
from proj.data.sampler import EpochSampler, per_sample_loader, shared_seed
from proj.errors import ConfigError, MissingSplitError

Batch = tuple[torch.Tensor, torch.Tensor]
MeanStd = tuple[tuple[float, ...], tuple[float, ...]]
Sampling = Literal["shuffle", "weighted"]


class ImageDataModule(L.LightningDataModule):
    """Base of the image DataModules: a subclass reads its files into `self.splits`
    ('train', 'val', 'test': anything `_batches` can serve) in `setup`; this class serves
    them, shuffled by an epoch-seeded sampler that gives every rank the same order under
    the same seed (or, with `sampler: weighted`, drawn with replacement by inverse class
    frequency, so every class is seen about equally often), and turns each transferred
    batch of uint8 images into normalised floats in the model's dtype.
    """

    class_names: tuple[str, ...] = ()

    def __init__(
        self, batch_size: int, num_workers: int | None, seed: int, sampler: Sampling = "shuffle"
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ConfigError(f"data.batch_size: must be >= 1, got {batch_size}")
        if sampler not in ("shuffle", "weighted"):
            raise ConfigError(f"data.sampler: unknown {sampler!r}; expected shuffle or weighted")
        self.sampler = sampler
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.splits: dict[str, Any] = {}
        self.shuffle_seed = 0  # agreed across ranks in setup

    def setup(self, stage: str) -> None:
        self.shuffle_seed = shared_seed()

    def missing_split(self, split: str) -> str | None:
        """The one line saying that this DataModule, set up, has no `split` split; None
        when it has one, or makes it when set up for that stage (this base: always)."""
        return None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def class_counts(self) -> list[int] | None:
        """Training images per class, once set up for fit (None before): what
        `class_weights: balanced` and the weighted sampler weigh by."""
        labels = self._train_labels()
        if labels is None:
            return None
        return torch.bincount(torch.as_tensor(labels), minlength=self.num_classes).tolist()

    def _train_labels(self) -> torch.Tensor | None:
        source = self.splits.get("train")
        if isinstance(source, tuple):  # in-memory (images, labels)
            return source[1]
        if isinstance(source, Subset):  # a per-sample split of a dataset with labels
            dataset = source.dataset
            labels = getattr(dataset, "labels", None)
            labels = getattr(dataset, "targets", None) if labels is None else labels
            return torch.as_tensor(labels)[source.indices]
        return getattr(source, "labels", None)

    @property
    def normalization(self) -> MeanStd | None:
        """The (mean, std) batches are normalised with; None when they are not."""
        return None

    def _batches(self, source: Any, sampler: EpochSampler) -> Any:
        """What iterates over a split's batches: a DataLoader over a per-sample Dataset."""
        return per_sample_loader(source, sampler, self.batch_size, self.num_workers)

    def _loader(self, split: str, shuffle: bool) -> Any:
        if not self.splits:
            raise RuntimeError(f"{type(self).__name__}: call setup before asking for a loader")
        if split not in self.splits:
            raise MissingSplitError(
                self.missing_split(split) or f"data: {type(self).__name__} has no {split!r} split"
            )
        source = self.splits[split]
        num_samples = len(source[1]) if isinstance(source, tuple) else len(source)
        weights = None
        if split == "train" and self.sampler == "weighted":
            labels = torch.as_tensor(self._train_labels())
            weights = 1.0 / torch.tensor(self.class_counts, dtype=torch.float64)[labels]
        sampler = EpochSampler(
            num_samples, shuffle=shuffle, seed=self.shuffle_seed, weights=weights
        )
        return self._batches(source, sampler)

    def train_dataloader(self) -> Any:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> Any:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> Any:
        return self._loader("test", shuffle=False)

    def predict_dataloader(self) -> Any:
        return self._loader("test", shuffle=False)

    def _transform_batch(
        self, images: torch.Tensor, labels: torch.Tensor | None, training: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Batch-side augmentation, resizing and label mixing of float images in [0, 1]
        (labels None for a bare example input); none here."""
        return images, labels

    def on_after_batch_transfer(
        self, batch: Batch | torch.Tensor, dataloader_idx: int
    ) -> Batch | torch.Tensor:
        images, labels = bt.split_batch(batch)
        # (B, C, H, W) uint8 -> float in [0, 1], in the dtype the model runs in
        images = bt.to_float(images, bt.precision_dtype(self.trainer))
        # training batches only: a bare example input (no labels) must not draw random numbers
        training = labels is not None and self.trainer is not None and self.trainer.training
        images, labels = self._transform_batch(images, labels, training)
        if self.normalization is not None:
            images = bt.normalize_(images, *self.normalization)
        return images if labels is None else (images, labels)
