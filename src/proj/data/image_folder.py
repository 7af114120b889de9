"""A folder per class, as torchvision's ImageFolder, timm and Hugging Face read images:
`root/<class>/<image>`, or `root/train/<class>/`, `root/val/<class>/`, `root/test/<class>/`."""

import logging
from pathlib import Path
from typing import Literal

from torchvision.datasets.folder import IMG_EXTENSIONS
from torchvision.transforms import v2

from proj.data.decoded_images import CacheMode
from proj.data.image_datamodule import Sampling
from proj.data.image_files import ImageFilesDataModule, Listing, Normalize, outside
from proj.data.label_csv import Row
from proj.errors import ConfigError, DataFormatError, DataNotFoundError

log = logging.getLogger(__name__)
SPLIT_FOLDERS = ("train", "val", "test")


class ImageFolderDataModule(ImageFilesDataModule):
    """Images in a folder per class; the classes are the folder names, sorted (as
    torchvision's ImageFolder numbers them). With `train/` (and `val/`, `test/`) inside
    root, those are the splits; otherwise val_fraction and test_fraction hold out seeded,
    stratified shares of root. Hidden files and files that are not images are skipped and
    counted in one line; an empty class folder, or a class missing from `val/` or `test/`,
    is an error naming it. Everything else is `ImageFilesDataModule`'s (shared with the
    CSV DataModule): every image read once before training, a decode cache, one-line errors.

    Args:
        root: The folder of class folders (or of train/, val/, test/ class folders).
        val_fraction: Share of each class held out for validation (without val/).
        test_fraction: Share of each class held out for testing (without test/).
        image_size: Square size the images are cropped or resized to.
        normalize: 'imagenet', 'dataset' (the training split's mean/std, computed once
            and cached in data/stats/), 'none', or [[means], [stds]].
        augment: RandomResizedCrop and flips in training; false: resize and center-crop.
        batch_size: Images per batch (per process under DDP).
        num_workers: DataLoader workers (None: some on a GPU machine, none on a CPU).
        seed: The split's own seed; it does not move when seed_everything does.
        on_bad_image: 'raise' stops on an unreadable image; 'skip' drops it and logs which.
        num_folds: Validate on a stratified fold of what the test split leaves.
        fold: Which fold (0..num_folds-1) validates.
        sampler: 'shuffle', or 'weighted': training images drawn with replacement by
            inverse class frequency (imbalanced classes), reproducibly per epoch.
        train_transforms: torchvision v2 transforms for training images, per sample,
            instead of the augment preset (a Normalize in it becomes the normalisation).
        eval_transforms: The same for validation, test and predict, instead of resize and
            center-crop; export and serve take Resize, CenterCrop and Normalize only.
        cache: 'disk' (in data/stats/, reused by later runs; root is never written to),
            'memory' or 'none'; every mode gives the same pixels.
    """

    def __init__(
        self,
        root: str,
        val_fraction: float = 0.2,
        test_fraction: float = 0.0,
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
        super().__init__(
            root, val_fraction, test_fraction, image_size, normalize, augment, batch_size,
            num_workers, seed, on_bad_image, num_folds, fold, cache, sampler,
            train_transforms, eval_transforms,
        )  # fmt: skip
        self.save_hyperparameters()
        self.root = Path(root)
        self._class_names: tuple[str, ...] | None = None

    @property
    def class_names(self) -> tuple[str, ...]:
        """The class folders' names, sorted: read from disk once (the CLI asks before setup)."""
        if self._class_names is None:
            train = self._split_folders()["train"]
            names = _class_folders(train)
            if len(names) < 2:
                raise ConfigError(
                    f"{train}: needs a folder per class, at least 2; found {names or 'none'}"
                )
            self._class_names = tuple(names)
        return self._class_names

    def _split_folders(self) -> dict[str, Path]:
        if not self.root.is_dir():
            raise DataNotFoundError(self._not_found())
        if (self.root / "train").is_dir():
            return {s: self.root / s for s in SPLIT_FOLDERS if (self.root / s).is_dir()}
        return {"train": self.root}

    def _listed(self) -> dict[str, Listing]:
        classes = self.class_names
        folders = self._split_folders()
        listings, skipped = {}, []
        for split, folder in folders.items():
            present = _class_folders(folder)
            if missing := [c for c in classes if c not in present]:
                raise DataFormatError(
                    f"{folder}: no folder for class(es) {missing}, which {folders['train']} has"
                )
            if extra := [c for c in present if c not in classes]:
                raise DataFormatError(
                    f"{folder}: class folder(s) {extra} that {folders['train']} does not have"
                )
            rows = []
            for label, name in enumerate(classes):
                images, ignored = _images_in(folder / name)
                skipped += ignored
                if not images:
                    raise DataFormatError(f"{folder / name}: a class folder with no images")
                rows += [Row(image.relative_to(self.root).as_posix(), label, 0) for image in images]
            listings[split] = Listing(folder, rows)
        if skipped:
            shown = ", ".join(p.relative_to(self.root).as_posix() for p in skipped[:3])
            log.warning(
                "%s: skipped %d hidden or non-image file(s) (%s%s)",
                self.root,
                len(skipped),
                shown,
                ", ..." if len(skipped) > 3 else "",
            )
        return listings

    def _cache_place(self) -> tuple[Path, str]:
        return outside(self.root, self.root, self.root.name)

    def _not_found(self) -> str:
        return (
            f"{self.root}: folder not found (data.root). For the demo data of "
            "configs/catdog/folder.yaml, run `python scripts/make_fashion_csv.py --layout folder`"
        )

    def _how_to_add(self, split: str) -> str:
        return " (add one with data.test_fraction or a test/ folder)" if split == "test" else ""


def _class_folders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _images_in(folder: Path) -> tuple[list[Path], list[Path]]:
    """(image files, skipped files) under a class folder, at any depth, sorted."""
    images, skipped = [], []
    for path in sorted(folder.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
        if path.is_dir() and not hidden:
            continue
        if hidden or path.suffix.lower() not in IMG_EXTENSIONS:
            if path.is_file():
                skipped.append(path)
            continue
        images.append(path)
    return images, skipped
