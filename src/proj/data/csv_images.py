"""Image files listed in a CSV (the cats-and-dogs lesson): any classes, any image modes."""

from pathlib import Path
from typing import Literal

from torchvision.transforms import v2

from proj.data.decoded_images import CacheMode
from proj.data.image_datamodule import Sampling
from proj.data.image_files import (
    IMAGENET_MEAN_STD,
    ImageFilesDataModule,
    Listing,
    Normalize,
    outside,
)
from proj.data.label_csv import parse_label_csv
from proj.errors import ConfigError

__all__ = ["IMAGENET_MEAN_STD", "CSVImageDataModule"]


class CSVImageDataModule(ImageFilesDataModule):
    """A CSV of `file name,label` rows plus a folder of images, split and checked up front
    (`ImageFilesDataModule`: every image read once before training, all bad rows reported
    together with their CSV lines, stratified seeded splits, a decode cache).

    Args:
        csv_file: Rows of `file name,label` (a header is optional); the training rows.
        image_dir: The folder the CSV's file names are relative to; never written to.
        class_names: The classes in label order; labels may be indices or these names.
        val_fraction: Seeded, stratified share of csv_file held out for validation
            (unless val_csv).
        test_fraction: Seeded, stratified share of csv_file held out for testing (unless
            test_csv).
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
        sampler: 'shuffle', or 'weighted': training images drawn with replacement by
            inverse class frequency (imbalanced classes), reproducibly per epoch.
        train_transforms: torchvision v2 transforms for training images, per sample,
            instead of the augment preset (a Normalize in it becomes the normalisation).
        eval_transforms: The same for validation, test and predict, instead of resize and
            center-crop; export and serve take Resize, CenterCrop and Normalize only.
        cache: Keep the decoded images: 'disk' (memory-mapped, in a folder next to the CSV,
            reused by later runs, rebuilt for changed files), 'memory', or 'none' (decode
            every epoch). Every mode gives the same pixels: a short side of at least
            image_size (JPEGs decoded at a reduced DCT scale when that is enough).
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
        normalize: Normalize = "imagenet",
        augment: bool = False,
        batch_size: int = 32,
        num_workers: int | None = None,
        seed: int = 42,
        on_bad_image: Literal["raise", "skip"] = "raise",
        num_folds: int | None = None,
        fold: int = 0,
        cache: CacheMode = "disk",
        sampler: Sampling = "shuffle",
        train_transforms: list[v2.Transform] | None = None,
        eval_transforms: list[v2.Transform] | None = None,
    ) -> None:
        if len(class_names) < 2:
            raise ConfigError(
                f"data.class_names: needs at least 2 classes, got {list(class_names)}"
            )
        if num_folds and val_csv:
            raise ConfigError("data.num_folds, data.val_csv: they exclude each other; pick one")
        super().__init__(
            image_dir, val_fraction, test_fraction, image_size, normalize, augment, batch_size,
            num_workers, seed, on_bad_image, num_folds, fold, cache, sampler,
            train_transforms, eval_transforms,
        )  # fmt: skip
        self.save_hyperparameters()
        self.csv_file = Path(csv_file)
        self.class_names = tuple(class_names)
        self.val_csv, self.test_csv = val_csv, test_csv

    def _listed(self) -> dict[str, Listing]:
        given = {"train": self.csv_file, "val": self.val_csv, "test": self.test_csv}
        return {
            split: Listing(Path(csv_file), *parse_label_csv(csv_file, self.class_names))
            for split, csv_file in given.items()
            if csv_file
        }

    def _cache_place(self) -> tuple[Path, str]:
        """Next to the CSV, unless that is inside image_dir."""
        return outside(self.csv_file.parent, self.image_dir, self.csv_file.stem)

    def _not_found(self) -> str:
        return (
            f"{self.image_dir}: image folder not found (data.image_dir). For the demo data "
            "of configs/catdog/, run `python scripts/make_fashion_csv.py`; for your own "
            "images, set data.image_dir and data.csv_file (scripts/make_csv.py writes the CSV), "
            "or use proj.data.ImageFolderDataModule on a folder per class"
        )

    def _how_to_add(self, split: str) -> str:
        return " (add one with data.test_csv or data.test_fraction)" if split == "test" else ""
