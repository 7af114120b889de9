"""torchvision v2 transforms from a config (`data.train_transforms`, `data.eval_transforms`),
run per sample on the uint8 image, as torchvision's own recipes run them.

A `Normalize` in a list is taken out and becomes the DataModule's normalisation, which
runs on the whole batch on the device (as for every proj DataModule), so the other
transforms, RandAugment and friends included, see uint8 images wherever they stand.
FiveCrop and TenCrop give several crops of an image: they are stacked, and the classifier
averages its logits over them.
"""

from collections.abc import Sequence

import torch
from torchvision.transforms import v2

from proj.errors import ConfigError

MeanStd = tuple[tuple[float, ...], tuple[float, ...]]
# What an export can fold in: the client resizes and crops, the network normalises.
FOLDABLE = (v2.Resize, v2.CenterCrop, v2.Normalize, v2.ToImage, v2.ToDtype, v2.ToPureTensor)


def per_sample(
    transforms: Sequence[v2.Transform] | None, before: Sequence[v2.Transform] = ()
) -> tuple[v2.Compose | None, MeanStd | None]:
    """(the list without its Normalize, composed after `before`, None if nothing is left;
    that Normalize's mean and std), or (None, None) for no list."""
    if transforms is None:
        return None, None
    normalizes = [t for t in transforms if isinstance(t, v2.Normalize)]
    mean_std = None
    if normalizes:
        mean_std = tuple(normalizes[-1].mean), tuple(normalizes[-1].std)
    rest = [*before, *(t for t in transforms if not isinstance(t, v2.Normalize))]
    return (v2.Compose(rest) if rest else None), mean_std


def stacked(output: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    """A transform's output as one tensor: FiveCrop's/TenCrop's crops stacked, (n, C, H, W)."""
    return torch.stack(list(output)) if isinstance(output, tuple | list) else output


def one_normalization(*found: MeanStd | None) -> MeanStd | None:
    """The Normalize the lists give, which must agree between training and evaluation."""
    given = [f for f in found if f is not None]
    if len({repr(g) for g in given}) > 1:
        raise ConfigError(
            "data.train_transforms, data.eval_transforms: their Normalize differ; the model "
            "sees one normalisation (keep it in eval_transforms)"
        )
    return given[0] if given else None


def check_foldable(transforms: Sequence[v2.Transform] | None) -> None:
    """Refuse in one line an evaluation transform that an export cannot fold in."""
    for transform in transforms or ():
        if not isinstance(transform, FOLDABLE):
            raise ConfigError(
                f"data.eval_transforms: export and serve cannot fold {type(transform).__name__} "
                "into the network; they take Resize, CenterCrop and Normalize (the client "
                "resizes and crops, the network normalises)"
            )
