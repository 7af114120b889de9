"""Per-sample torchvision transforms for image files: small named presets.

They take the uint8 (3, H, W) tensor an image file decodes to and give a uint8 tensor of
a fixed size; conversion to float and normalisation happen later, on the whole batch, on
the device.
"""

from torchvision.transforms import v2


def train_preset(image_size: int, augment: bool) -> v2.Compose:
    """Random resized crop and horizontal flip when augmenting; else the eval preset."""
    if not augment:
        return eval_preset(image_size)
    return v2.Compose([v2.RandomResizedCrop(image_size, antialias=True), v2.RandomHorizontalFlip()])


def eval_preset(image_size: int) -> v2.Compose:
    """Resize the short side to `image_size`, then crop the centre square."""
    return v2.Compose([v2.Resize(image_size, antialias=True), v2.CenterCrop(image_size)])
