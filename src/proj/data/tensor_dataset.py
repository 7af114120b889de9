"""A per-sample Dataset over decoded image tensors, for the classic DataLoader path."""

from collections.abc import Callable

import torch
from torch.utils.data import Dataset

from proj.data.transform_lists import stacked


class TensorImageDataset(Dataset):
    """(uint8 (C, H, W) image, int label) pairs, each passed through an optional transform.

    The transform gets a uint8 tensor, which torchvision's v2 transforms take as an image.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = images
        self.labels = labels
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = self.images[index]
        if self.transform is not None:
            image = stacked(self.transform(image))
        return image, int(self.labels[index])
