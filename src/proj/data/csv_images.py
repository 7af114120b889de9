"""Image files listed in a CSV (the cats-and-dogs lesson): any classes, any image modes."""

import logging
from pathlib import Path
from typing import Literal

import torch
from torch.utils.data import DataLoader

from proj.data.csv_dataset import CSVImageDataset
from proj.data.decoded_images import CacheMode, DecodedImages
from proj.data.folds import stratified_fold
from proj.data.image_datamodule import ImageDataModule, MeanStd
from proj.data.label_csv import Row, listing, parse_label_csv
from proj.data.presets import eval_preset, train_preset
from proj.data.stats import cached_mean_std
from proj.errors import ConfigError, DataFormatError, DataNotFoundError

log = logging.getLogger(__name__)
IMAGENET_MEAN_STD = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


class CSVImageDataModule(ImageDataModule):
    """A CSV of `file name,label` rows plus a folder of images, split and checked up front.

    `setup` reads every image once before training starts, so a missing, unreadable or
    truncated file is reported then (all of them, with their CSV lines), not mid-epoch;
    with a cache, what it decoded is kept, and no epoch decodes a file again. Images are
    cropped, resized and augmented per sample (their sizes differ), then normalised as a
    batch on the device.

    Args:
        csv_file: Rows of `file name,label` (a header is optional); the training rows.
        image_dir: The folder the CSV's file names are relative to; never written to.
        class_names: The classes in label order; labels may be indices or these names.
        val_fraction: Seeded share of csv_file held out for validation (unless val_csv).
        test_fraction: Seeded share of csv_file held out for testing (unless test_csv).
        val_csv: A CSV of validation rows instead of val_fraction.
        test_csv: A CSV of test rows instead of test_fraction.
        image_size: Square size the images are cropped or resized to.
        normalize: 'imagenet', 'dataset' (the training split's mean/std, computed once
            and cached next to the CSV), 'none', or [[means], [stds]].
        augment: RandomResizedCrop and flips in training; false: resize and center-crop.
        batch_size: Images per batch (per process under DDP).
        num_workers: DataLoader workers (None: some on a GPU machine, none on a CPU).
        seed: The split's own seed; it does not move when seed_everything does.
        on_bad_image: 'raise' stops on an unreadable image; 'skip' drops it and logs which.
        num_folds: Validate on a stratified fold of the rows left after the test split.
        fold: Which fold (0..num_folds-1) validates.
        cache: Keep the decoded images: 'disk' (memory-mapped, in a folder next to the CSV,
            reused by later runs, rebuilt for changed files), 'memory', or 'none' (decode
            every epoch). Cached images keep a short side of at least image_size (JPEGs
            decoded at a reduced DCT scale when that is enough), so epochs after the first
            decode nothing.
    """

    def __init__(
        self,
        csv_file: str,
        image_dir: str,
        class_names: tuple[str, ...] = ("cat", "dog"),
        val_fraction: float = 0.2,
        test_fraction: float = 0.0,
        val_csv: str | None = None,
        test_csv: str | None = None,
        image_size: int = 224,
        normalize: str | list[list[float]] = "imagenet",
        augment: bool = False,
        batch_size: int = 32,
        num_workers: int | None = None,
        seed: int = 42,
        on_bad_image: Literal["raise", "skip"] = "raise",
        num_folds: int | None = None,
        fold: int = 0,
        cache: CacheMode = "disk",
    ) -> None:
        super().__init__(batch_size, num_workers, seed)
        if len(class_names) < 2:
            raise ConfigError(
                f"data.class_names: needs at least 2 classes, got {list(class_names)}"
            )
        for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
            if not 0 <= value < 1:
                raise ConfigError(f"data.{name}: must be in [0, 1), got {value}")
        if num_folds and val_csv:
            raise ConfigError("data.num_folds, data.val_csv: they exclude each other; pick one")
        if isinstance(normalize, str) and normalize not in ("imagenet", "dataset", "none"):
            raise ConfigError(
                f"data.normalize: unknown {normalize!r}; expected 'imagenet', 'dataset', 'none' "
                "or [[mean, ...], [std, ...]]"
            )
        self.save_hyperparameters()
        self.csv_file, self.image_dir = Path(csv_file), Path(image_dir)
        self.class_names = tuple(class_names)
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.val_csv, self.test_csv = val_csv, test_csv
        self.image_size, self.normalize, self.augment = image_size, normalize, augment
        self.on_bad_image = on_bad_image
        self.num_folds, self.fold = num_folds, fold
        self.cache = cache
        self.images: DecodedImages | None = None
        self.mean_std: MeanStd | None = None

    @property
    def normalization(self) -> MeanStd | None:
        """Known after setup (`normalize: dataset` computes it there)."""
        return self.mean_std

    def setup(self, stage: str) -> None:
        super().setup(stage)
        if self.splits:
            return
        if not self.image_dir.is_dir():
            raise DataNotFoundError(
                f"{self.image_dir}: image folder not found (data.image_dir). For the demo data "
                "of configs/catdog/, run `python scripts/make_fashion_csv.py`; for your own "
                "images, set data.image_dir and data.csv_file (scripts/make_csv.py writes the CSV)"
            )
        self.images = DecodedImages(
            self.cache,
            self._cache_folder() / f"{self.csv_file.stem}.decoded-{self.image_size}",
            self.image_size,
        )
        splits = self._split_rows()
        for name, rows in splits.items():
            transform = train_preset(self.image_size, self.augment) if name == "train" else None
            self.splits[name] = CSVImageDataset(
                rows, self.image_dir, self.images, transform or eval_preset(self.image_size)
            )
        self.mean_std = self._resolve_normalization()

    def missing_split(self, split: str) -> str | None:
        """Every split is made at the first setup: after it, a missing one is known."""
        if not self.splits or split in self.splits:
            return None
        add = " (add one with data.test_csv or data.test_fraction)" if split == "test" else ""
        return f"data: {type(self).__name__} has no {split!r} split{add}"

    def _split_rows(self) -> dict[str, list[Row]]:
        usable = self._usable_rows()
        rows = usable[self.csv_file]
        generator = torch.Generator().manual_seed(self.seed)
        order = torch.randperm(len(rows), generator=generator).tolist()
        n_test = 0 if self.test_csv else round(self.test_fraction * len(rows))
        n_val = 0 if self.val_csv or self.num_folds else round(self.val_fraction * len(rows))
        if n_test + n_val >= len(rows):
            raise ConfigError(f"{self.csv_file}: {len(rows)} rows leave nothing to train on")
        picked = [rows[i] for i in order]
        splits = {"test": picked[:n_test], "val": picked[n_test : n_test + n_val]}
        splits["train"] = picked[n_test + n_val :]
        if self.num_folds:  # validation is a stratified fold of what the test split left
            rest = picked[n_test:]
            labels = torch.tensor([r.label for r in rest])
            val_idx, train_idx = stratified_fold(labels, self.num_folds, self.fold, self.seed)
            splits["val"] = [rest[i] for i in val_idx.tolist()]
            splits["train"] = [rest[i] for i in train_idx.tolist()]
        if self.val_csv:
            splits["val"] = usable[Path(self.val_csv)]
        if self.test_csv:
            splits["test"] = usable[Path(self.test_csv)]
        return {name: r for name, r in splits.items() if r}

    def _usable_rows(self) -> dict[Path, list[Row]]:
        """Each CSV's rows whose images exist and decode (every image decoded once, for
        all CSVs together); a CSV's bad rows reported in one message (bad columns, bad
        labels, missing and unreadable files), or unreadable files skipped with
        `on_bad_image: skip`."""
        csvs = [self.csv_file, *(Path(c) for c in (self.val_csv, self.test_csv) if c)]
        parsed = {csv_file: parse_label_csv(csv_file, self.class_names) for csv_file in csvs}
        files = {self.image_dir / r.file for rows, _ in parsed.values() for r in rows}
        unreadable = self.images.decode_all(sorted(f for f in files if f.is_file()))
        return {
            csv_file: self._checked(csv_file, rows, problems, unreadable)
            for csv_file, (rows, problems) in parsed.items()
        }

    def _checked(
        self,
        csv_file: Path,
        rows: list[Row],
        problems: list[tuple[int, str]],
        unreadable: dict[Path, str],
    ) -> list[Row]:
        missing, bad = [], []
        for row in rows:
            path = self.image_dir / row.file
            if path in unreadable:
                bad.append((row, unreadable[path]))
            elif not path.is_file():
                missing.append(row)
        problems = problems + [
            (r.line, f"line {r.line}: {r.file}: image file not found") for r in missing
        ]
        if self.on_bad_image == "raise":
            problems += [(r.line, f"line {r.line}: {message}") for r, message in bad]
        if problems:
            listed = listing([p for _, p in sorted(problems)])
            if len(missing) == len(problems):
                raise DataNotFoundError(
                    f"{csv_file}: {len(missing)} image file(s) not found under "
                    f"{self.image_dir}:\n{listed}"
                )
            raise DataFormatError(
                f"{csv_file}: {len(problems)} bad row(s) (image paths are under "
                f"{self.image_dir}; data.on_bad_image: skip drops unreadable images):\n{listed}"
            )
        if bad:
            log.warning(
                "%s: skipped %d unreadable image(s): %s",
                csv_file,
                len(bad),
                [r.file for r, _ in bad],
            )
        dropped = {r.line for r, _ in bad}
        return [r for r in rows if r.line not in dropped]

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
        """The training split's statistics, computed once and cached next to the CSV."""
        train = self.splits["train"]
        plain = CSVImageDataset(
            train.rows, self.image_dir, self.images, eval_preset(self.image_size)
        )
        return cached_mean_std(
            DataLoader(plain, batch_size=64, num_workers=self.num_workers or 0),
            self._cache_folder() / f"{self.csv_file.stem}.mean_std.json",
            key=[self.image_size, [r.file for r in train.rows]],
        )

    def _cache_folder(self) -> Path:
        """Next to the CSV, unless that is inside image_dir, which is never written to."""
        folder = self.csv_file.resolve().parent
        if folder.is_relative_to(self.image_dir.resolve()):
            folder = Path("data") / "stats"
        return folder
