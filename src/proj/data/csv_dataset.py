"""A labelled image per CSV row, its pixels from a DecodedImages store."""

from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from proj.data.decoded_images import DecodedImages
from proj.data.label_csv import Row
from proj.data.transform_lists import stacked


class CSVImageDataset(Dataset):
    """(uint8 (3, H, W) tensor, label) for each row; paths are absolute or under `image_dir`,
    pixels from `images` (decoded now, or once before training)."""

    def __init__(
        self, rows: list[Row], image_dir: str | Path, images: DecodedImages, transform: Any = None
    ) -> None:
        self.rows = rows
        self.image_dir = Path(image_dir)
        self.images = images
        self.transform = transform

    @property
    def labels(self) -> list[int]:
        return [row.label for row in self.rows]

    def path(self, index: int) -> Path:
        return self.image_dir / self.rows[index].file  # an absolute file replaces image_dir

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image = self.images[self.path(index)]
        image = stacked(self.transform(image)) if self.transform else image
        return image, self.rows[index].label
