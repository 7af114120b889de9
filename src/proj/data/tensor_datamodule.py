"""Image datasets small enough to decode once into uint8 tensors: split, batched by index."""

import copy
from collections.abc import Sequence
from typing import Any, Literal

import torch
from lightning.pytorch.utilities import rank_zero_info
from torch.utils.data import Dataset, Subset
from torchvision.transforms import v2

from proj.data import batch_transforms as bt
from proj.data.folds import stratified_fold
from proj.data.image_datamodule import Batch, ImageDataModule, MeanStd, Sampling
from proj.data.in_memory import InMemoryBatches
from proj.data.sampler import EpochSampler
from proj.data.tensor_dataset import TensorImageDataset
from proj.data.transform_lists import one_normalization, per_sample
from proj.errors import ConfigError


class TensorImageDataModule(ImageDataModule):
    """Base for datasets small enough to decode once into uint8 tensors (Fashion-MNIST, CIFAR).

    Subclasses say what the data is (`class_names`, `mean`, `std`, `crop_padding`) and
    how to read it (`_read_split`); this class splits train/val with its own seeded
    generator (so the split does not move with the training seed), serves batches, and
    normalises/augments/resizes whole batches on the device. The per-sample path
    (`in_memory: false`) yields the same batches for the same seeds (without resizing:
    the two resizes round differently).

    Args:
        data_dir: Where the dataset's files are, or are downloaded to.
        batch_size: Images per batch (per process under DDP).
        val_size: Training images held out for validation, by a seeded split.
        seed: The split's own seed; it does not move when seed_everything does.
        num_workers: DataLoader workers of the per-sample path (None: some on a GPU
            machine, none on a CPU-only one, where they fight the model for the cores).
        in_memory: Decode once, batch by index, transform whole batches on the device;
            false: a per-sample Dataset and DataLoader.
        augment: true or 'crop_flip': random shifts (up to crop_padding pixels) and
            horizontal flips; 'shift': the shifts alone (for data where a mirror is another
            picture, such as Fashion-MNIST's shoes, which all face one way);
            'resized_crop': RandomResizedCrop to image_size and flips; false: none. Each
            image of a batch draws its own.
        erasing: Probability that a training image gets one random box set to the mean
            (random erasing, cutout), each image drawn on its own; 0: never.
        mixup: Probability that a training batch is mixed with itself shuffled
            (torchvision's MixUp, alpha 0.2): labels become class probabilities.
        cutmix: Probability that a training batch (not mixed up) gets a box pasted from
            another image of it (torchvision's CutMix, alpha 1.0), labels by area.
        normalize: Subtract the dataset's mean and divide by its std.
        image_size: Resize to this size (e.g. 224 for ImageNet backbones); None keeps it.
        mean_std: [[means], [stds]] to normalise with instead of the dataset's own.
        classes: Keep only these class indices, relabelled 0..K-1 in this order.
        train_per_class: Keep at most this many training images per class (few-shot), or
            a number per class (to make a class rare, say).
        num_folds: Validate on a fold of a stratified k-fold split instead of val_size.
        fold: Which fold (0..num_folds-1) validates.
        sampler: 'shuffle', or 'weighted': training images drawn with replacement by
            inverse class frequency (imbalanced classes), reproducibly per epoch.
        train_transforms: torchvision v2 transforms for training images, per sample (the
            per-sample path then runs, in_memory or not; a Normalize in it becomes the
            normalisation); the batch presets above still apply after them.
        eval_transforms: The same for validation, test and predict.
    """

    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    crop_padding: int = 4

    def __init__(
        self,
        data_dir: str = "data",
        batch_size: int = 64,
        val_size: int = 5000,
        seed: int = 42,
        num_workers: int | None = None,
        in_memory: bool = True,
        augment: bool | Literal["crop_flip", "shift", "resized_crop"] = False,
        erasing: float = 0.0,
        mixup: float = 0.0,
        cutmix: float = 0.0,
        normalize: bool = True,
        image_size: int | None = None,
        mean_std: MeanStd | None = None,
        classes: list[int] | None = None,
        train_per_class: int | list[int] | None = None,
        num_folds: int | None = None,
        fold: int = 0,
        sampler: Sampling = "shuffle",
        train_transforms: list[v2.Transform] | None = None,
        eval_transforms: list[v2.Transform] | None = None,
    ) -> None:
        super().__init__(batch_size, num_workers, seed, sampler)
        if val_size < 1:
            raise ConfigError(f"data.val_size: must be >= 1, got {val_size}")
        if augment not in (True, False, "crop_flip", "shift", "resized_crop"):
            raise ConfigError(
                f"data.augment: unknown {augment!r}; expected true/false, 'crop_flip', 'shift' "
                "or 'resized_crop'"
            )
        for name, p in (("erasing", erasing), ("mixup", mixup), ("cutmix", cutmix)):
            if not 0 <= p <= 1:
                raise ConfigError(f"data.{name}: a probability in [0, 1], got {p}")
        if augment == "resized_crop" and not image_size:
            raise ConfigError(
                "data.augment: 'resized_crop' needs data.image_size (the crop's size, e.g. 224)"
            )
        self.save_hyperparameters()
        self.data_dir = data_dir
        self.val_size = val_size
        self.in_memory = in_memory
        self.augment = augment
        self.erasing = erasing
        self.mixup, self.cutmix = mixup, cutmix
        self.normalize = normalize
        self.image_size = image_size
        if mean_std is not None:  # e.g. ImageNet's, for pretrained torchvision backbones
            self.mean, self.std = tuple(mean_std[0]), tuple(mean_std[1])
        self.classes = classes
        self.train_per_class = train_per_class
        self.train_transforms, self.eval_transforms = train_transforms, eval_transforms
        if (train_transforms is not None or eval_transforms is not None) and in_memory:
            rank_zero_info(
                "data.train_transforms/eval_transforms: per-sample transforms, so the "
                "per-sample path (in_memory: false) runs"
            )
            self.in_memory = False
        given = one_normalization(per_sample(train_transforms)[1], per_sample(eval_transforms)[1])
        if given is not None:
            self.mean, self.std = given
        self.num_folds = num_folds
        self.fold = fold
        if classes is not None:
            unknown = [c for c in classes if not 0 <= c < len(type(self).class_names)]
            if unknown:
                raise ConfigError(
                    f"data.classes: {unknown} not in 0..{len(type(self).class_names) - 1}"
                )
            self.class_names = tuple(type(self).class_names[c] for c in classes)
        self._mix_up = v2.MixUp(alpha=0.2, num_classes=self.num_classes)
        self._cut_mix = v2.CutMix(alpha=1.0, num_classes=self.num_classes)

    @property
    def normalization(self) -> MeanStd | None:
        return (tuple(self.mean), tuple(self.std)) if self.normalize else None

    def _read_split(self, train: bool) -> Batch:
        """All images of the train or test split as uint8 (N, C, H, W) and int64 (N,) tensors."""
        raise NotImplementedError

    def _per_sample_dataset(self, train: bool) -> Dataset:
        """The train or test file as a classic per-sample Dataset yielding (uint8 CHW
        tensor, int), with its `transform` (training's for the train file)."""
        return TensorImageDataset(
            *self._read_split(train), transform=self._per_sample_transform(train)
        )

    def _per_sample_transform(self, training: bool) -> v2.Transform | None:
        resize = [v2.Resize(self.image_size, antialias=True)] if self.image_size else []
        given = self.train_transforms if training else self.eval_transforms
        composed, _ = per_sample(given, before=resize)
        return composed or (resize[0] if resize else None)

    def setup(self, stage: str) -> None:
        super().setup(stage)
        if stage in ("fit", "validate") and "train" not in self.splits:
            self._setup_train_val()
        if stage in ("test", "predict") and "test" not in self.splits:
            self.splits["test"] = self._test_source()

    def _read_selected(self, train: bool) -> Batch:
        """The split, kept to `classes` (relabelled 0..K-1 in that order) when given."""
        images, labels = self._read_split(train)
        return (
            (images, labels) if self.classes is None else keep_classes(images, labels, self.classes)
        )

    def _setup_train_val(self) -> None:
        if not self.in_memory and (self.classes is not None or self.train_per_class):
            raise ConfigError("data.classes, data.train_per_class: need data.in_memory: true")
        images, labels = self._read_selected(train=True)
        n = len(labels)
        if self.num_folds:
            val_idx, train_idx = stratified_fold(labels, self.num_folds, self.fold, self.seed)
        else:
            if self.val_size >= n:
                raise ConfigError(
                    f"data.val_size: {self.val_size} leaves no training data: the set has {n}"
                )
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed))
            val_idx, train_idx = order[: self.val_size], order[self.val_size :]
        if self.train_per_class:  # few labels: the first N of each class in the seeded order
            caps = self.train_per_class
            if isinstance(caps, int):
                caps = [caps] * self.num_classes
            elif len(caps) != self.num_classes:
                raise ConfigError(
                    f"data.train_per_class: {len(caps)} numbers for {self.num_classes} classes"
                )
            per_class = [train_idx[labels[train_idx] == c][:cap] for c, cap in enumerate(caps)]
            train_idx = torch.cat(per_class)
        if self.in_memory:
            self.splits["train"] = (images[train_idx], labels[train_idx])
            self.splits["val"] = (images[val_idx], labels[val_idx])
        else:
            training = self._per_sample_dataset(train=True)
            evaluation = copy.copy(training)  # the same images, read once; its own transform
            evaluation.transform = self._per_sample_transform(training=False)
            self.splits["train"] = Subset(training, train_idx.tolist())
            self.splits["val"] = Subset(evaluation, val_idx.tolist())

    def _test_source(self) -> Any:
        return (
            self._read_selected(train=False)
            if self.in_memory
            else self._per_sample_dataset(train=False)
        )

    def _batches(self, source: Any, sampler: EpochSampler) -> Any:
        if self.in_memory:
            return InMemoryBatches(*source, batch_size=self.batch_size, sampler=sampler)
        return super()._batches(source, sampler)

    def _transform_batch(
        self, images: torch.Tensor, labels: torch.Tensor | None, training: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        augment = self.augment if training else False
        if augment == "resized_crop":
            images = bt.random_hflip(bt.random_resized_crop(images, self.image_size))
        elif self.image_size and images.shape[-2:] != (self.image_size, self.image_size):
            images = bt.resize(images, self.image_size)
        if augment in (True, "crop_flip", "shift"):
            images = bt.random_crop(images, self.crop_padding)
        if augment in (True, "crop_flip"):
            images = bt.random_hflip(images)
        if training and self.erasing:
            fill = self.mean if self.normalize else (0.0,)
            images = bt.random_erasing_(images, self.erasing, fill)
        if training and (self.mixup or self.cutmix):
            draw = float(torch.rand(()))  # one draw per batch, as the recipes do
            if draw < self.mixup:
                images, labels = self._mix_up(images, labels)
            elif draw < self.mixup + (1 - self.mixup) * self.cutmix:
                images, labels = self._cut_mix(images, labels)
        return images, labels


def keep_classes(images: torch.Tensor, labels: torch.Tensor, classes: Sequence[int]) -> Batch:
    """The samples of `classes` only, relabelled 0..K-1 in the order given."""
    keep = torch.isin(labels, torch.tensor(list(classes)))
    relabel = torch.full((int(labels.max()) + 1,), -1, dtype=torch.int64)
    relabel[list(classes)] = torch.arange(len(classes))
    return images[keep], relabel[labels[keep]]
