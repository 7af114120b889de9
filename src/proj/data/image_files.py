"""Labelled image files, checked, decoded once and split up front: the base of the CSV and
class-folder DataModules, which differ only in how they list their (file, label) rows."""

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import torch
from torch.utils.data import DataLoader
from torchvision.transforms import v2

from proj.data.csv_dataset import CSVImageDataset
from proj.data.decoded_images import CacheMode, DecodedImages
from proj.data.folds import stratified_fold, stratified_split
from proj.data.image_datamodule import ImageDataModule, MeanStd, Sampling
from proj.data.label_csv import Row, listing
from proj.data.presets import eval_preset, train_preset
from proj.data.stats import cached_mean_std
from proj.data.transform_lists import one_normalization, per_sample
from proj.errors import ConfigError, DataFormatError, DataNotFoundError

log = logging.getLogger(__name__)
IMAGENET_MEAN_STD = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
Normalize = str | list[list[float]]


class Listing:
    """The rows one source (a CSV, a folder) lists, and what is wrong with the others."""

    def __init__(
        self, source: Path, rows: list[Row], problems: list[tuple[int, str]] | None = None
    ) -> None:
        self.source, self.rows, self.problems = source, rows, problems or []


class ImageFilesDataModule(ImageDataModule):
    """Image files with labels: `setup` reads every image once before training starts, so
    a missing, unreadable or truncated file is reported then (all of them at once), not
    mid-epoch; with a cache what it decoded is kept, so no epoch decodes a file again.
    Splits are stratified and seeded; images are cropped, resized and augmented per sample
    (their sizes differ), then normalised as a batch on the device.

    A subclass lists rows (`_listed`): 'train' always (split by val_fraction/test_fraction
    unless 'val'/'test' are listed too), paths relative to `image_dir`.
    """

    def __init__(
        self,
        image_dir: str | Path,
        val_fraction: float,
        test_fraction: float,
        image_size: int,
        normalize: Normalize,
        augment: bool,
        batch_size: int,
        num_workers: int | None,
        seed: int,
        on_bad_image: Literal["raise", "skip"],
        num_folds: int | None,
        fold: int,
        cache: CacheMode,
        sampler: Sampling,
        train_transforms: Sequence[v2.Transform] | None = None,
        eval_transforms: Sequence[v2.Transform] | None = None,
    ) -> None:
        super().__init__(batch_size, num_workers, seed, sampler)
        for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
            if not 0 <= value < 1:
                raise ConfigError(f"data.{name}: must be in [0, 1), got {value}")
        if isinstance(normalize, str) and normalize not in ("imagenet", "dataset", "none"):
            raise ConfigError(
                f"data.normalize: unknown {normalize!r}; expected 'imagenet', 'dataset', 'none' "
                "or [[mean, ...], [std, ...]]"
            )
        self.image_dir = Path(image_dir)
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.image_size, self.normalize, self.augment = image_size, normalize, augment
        self.on_bad_image = on_bad_image
        self.num_folds, self.fold = num_folds, fold
        self.cache = cache
        self.train_transforms, self.eval_transforms = train_transforms, eval_transforms
        self.images: DecodedImages | None = None
        self.mean_std: MeanStd | None = None

    # --- what a subclass says -------------------------------------------------------------

    def _listed(self) -> dict[str, Listing]:
        raise NotImplementedError

    def _cache_place(self) -> tuple[Path, str]:
        """(folder, file stem) of the caches: decoded pixels, dataset mean/std."""
        raise NotImplementedError

    def _not_found(self) -> str:
        """What to say when image_dir does not exist."""
        return f"{self.image_dir}: image folder not found"

    # --- shared -----------------------------------------------------------------------------

    @property
    def normalization(self) -> MeanStd | None:
        """Known after setup (`normalize: dataset` computes it there)."""
        return self.mean_std

    def setup(self, stage: str) -> None:
        super().setup(stage)
        if self.splits:
            return
        if not self.image_dir.is_dir():
            raise DataNotFoundError(self._not_found())
        folder, stem = self._cache_place()
        self.images = DecodedImages(
            self.cache, folder / f"{stem}.decoded-{self.image_size}", self.image_size
        )
        train, train_norm = per_sample(self.train_transforms)
        evaluate, eval_norm = per_sample(self.eval_transforms)
        train = train or train_preset(self.image_size, self.augment)
        evaluate = evaluate or eval_preset(self.image_size)
        for name, rows in self._split_rows().items():
            transform = train if name == "train" else evaluate
            self.splits[name] = CSVImageDataset(rows, self.image_dir, self.images, transform)
        self.mean_std = one_normalization(train_norm, eval_norm) or self._resolve_normalization()

    def missing_split(self, split: str) -> str | None:
        """Every split is made at the first setup: after it, a missing one is known."""
        if not self.splits or split in self.splits:
            return None
        return f"data: {type(self).__name__} has no {split!r} split{self._how_to_add(split)}"

    def _how_to_add(self, split: str) -> str:
        return " (add one with data.test_fraction)" if split == "test" else ""

    def _split_rows(self) -> dict[str, list[Row]]:
        listed = self._listed()
        usable = self._usable_rows(listed)
        rows = usable["train"]
        labels = torch.tensor([r.label for r in rows], dtype=torch.long)
        test_share = 0.0 if "test" in usable else self.test_fraction
        val_share = 0.0 if "val" in usable or self.num_folds else self.val_fraction
        test, val, rest = stratified_split(labels, [test_share, val_share], self.seed)
        splits = {
            "test": usable.get("test") or [rows[i] for i in test.tolist()],
            "val": usable.get("val") or [rows[i] for i in val.tolist()],
        }
        if self.num_folds and "val" not in usable:  # validation: a stratified fold of the rest
            val_idx, train_idx = stratified_fold(labels[rest], self.num_folds, self.fold, self.seed)
            splits["val"] = [rows[i] for i in rest[val_idx].tolist()]
            rest = rest[train_idx]
        if len(rest) == 0:
            raise ConfigError(
                f"{listed['train'].source}: {len(rows)} images leave nothing to train on"
            )
        splits["train"] = [rows[i] for i in rest.tolist()]
        return {name: r for name, r in splits.items() if r}

    def _usable_rows(self, listed: dict[str, Listing]) -> dict[str, list[Row]]:
        """Each listing's rows whose images exist and decode (every image decoded once);
        a source's bad rows reported in one message (bad columns, bad labels, missing and
        unreadable files), or unreadable files skipped with `on_bad_image: skip`."""
        files = {self.image_dir / r.file for lst in listed.values() for r in lst.rows}
        unreadable = self.images.decode_all(sorted(f for f in files if f.is_file()))
        return {split: self._checked(lst, unreadable) for split, lst in listed.items()}

    def _checked(self, listed: Listing, unreadable: dict[Path, str]) -> list[Row]:
        missing, bad = [], []
        for row in listed.rows:
            path = self.image_dir / row.file
            if path in unreadable:
                bad.append((row, unreadable[path]))
            elif not path.is_file():
                missing.append(row)
        problems = listed.problems + [
            (r.line, f"{_at(r)}{r.file}: image file not found") for r in missing
        ]
        if self.on_bad_image == "raise":
            problems += [(r.line, f"{_at(r)}{message}") for r, message in bad]
        if problems:
            listed_problems = listing([p for _, p in sorted(problems)])
            if len(missing) == len(problems):
                raise DataNotFoundError(
                    f"{listed.source}: {len(missing)} image file(s) not found under "
                    f"{self.image_dir}:\n{listed_problems}"
                )
            raise DataFormatError(
                f"{listed.source}: {len(problems)} bad row(s) (image paths are under "
                f"{self.image_dir}; data.on_bad_image: skip drops unreadable images):\n"
                f"{listed_problems}"
            )
        if bad:
            log.warning(
                "%s: skipped %d unreadable image(s): %s",
                listed.source,
                len(bad),
                [r.file for r, _ in bad],
            )
        dropped = {r.file for r, _ in bad}
        return [r for r in listed.rows if r.file not in dropped]

    def _resolve_normalization(self) -> MeanStd | None:
        if self.normalize == "none":
            return None
        if self.normalize == "imagenet":
            return IMAGENET_MEAN_STD
        if self.normalize == "dataset":
            return self._dataset_mean_std()
        mean, std = self.normalize
        if len(mean) != 3 or len(std) != 3:
            raise ConfigError(
                f"data.normalize: must be [[3 means], [3 stds]], got {self.normalize}"
            )
        return tuple(mean), tuple(std)

    def _dataset_mean_std(self) -> MeanStd:
        """The training split's statistics, computed once and cached beside the others."""
        train = self.splits["train"]
        plain = CSVImageDataset(
            train.rows, self.image_dir, self.images, eval_preset(self.image_size)
        )
        folder, stem = self._cache_place()
        return cached_mean_std(
            DataLoader(plain, batch_size=64, num_workers=self.num_workers or 0),
            folder / f"{stem}.mean_std.json",
            key=[self.image_size, [r.file for r in train.rows]],
        )


def _at(row: Row) -> str:
    """Where a row is, for a message: its CSV line (a folder's rows have none)."""
    return f"line {row.line}: " if row.line else ""


def outside(folder: Path, image_dir: Path, name: str) -> tuple[Path, str]:
    """A cache place in `folder`, unless that is inside image_dir, which is never written
    to: then data/stats/, under a name that tells two image folders apart."""
    if not folder.resolve().is_relative_to(image_dir.resolve()):
        return folder, name
    digest = hashlib.sha1(str(image_dir.resolve()).encode()).hexdigest()[:8]
    return Path("data") / "stats", f"{name}-{digest}"
