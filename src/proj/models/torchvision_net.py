"""Any torchvision classification architecture, its classifier replaced for `num_classes`."""

from pathlib import Path

import torch
import torchvision
from torch import nn

from proj.errors import ConfigError
from proj.weights import load_matching


class TorchvisionNet(nn.Module):
    """`torchvision.models.get_model(arch)` split into `backbone` and a new `head`.

    The head is the architecture's last Linear layer (AlexNet and VGG `classifier[6]`,
    ResNet `fc`, MobileNet/EfficientNet `classifier[-1]`, ConvNeXt `classifier[2]`, ViT
    `heads.head`, ...; SqueezeNet's 1x1 conv becomes a Linear after its pooling); in the
    backbone it becomes an Identity, so `head(backbone(x))` is the original network. `weights` is
    a torchvision weights name (`IMAGENET1K_V1`, downloaded when online) or a local file
    (a state_dict or a Lightning checkpoint), loaded before the head is replaced: the
    pretrained classifier is dropped, every other matching tensor kept.
    """

    input_size = (3, 224, 224)  # (channels, height, width) it is built for

    def __init__(self, arch: str, num_classes: int = 1000, weights: str | None = None) -> None:
        super().__init__()
        available = torchvision.models.list_models(module=torchvision.models)
        if arch not in available:
            raise ConfigError(
                f"net.arch: unknown torchvision arch {arch!r}; expected one of {available}"
            )
        from_file = weights is not None and Path(weights).suffix in (".pth", ".pt", ".ckpt", ".bin")
        # Inception-style nets return auxiliary logits in training unless told not to.
        extra = {"aux_logits": False} if arch in ("googlenet", "inception_v3") else {}
        network = torchvision.models.get_model(
            arch, weights=None if from_file else weights, **extra
        )
        if from_file:
            load_matching(network, weights)
        self.arch = arch
        self.head = _replace_head(network, num_classes)
        self.backbone = network

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x).flatten(1))  # (B, features) -> (B, num_classes)


def _replace_head(network: nn.Module, num_classes: int) -> nn.Module:
    """Swap the classifier for Identity inside `network`; return the new head (a Linear)."""
    if isinstance(network, torchvision.models.SqueezeNet):
        # Its classifier is Conv2d(512, 1000, 1), ReLU, global pooling. A 1x1 conv before
        # average pooling equals a Linear after it, so the backbone keeps the pooling and
        # the head is a Linear (without the ReLU on the logits).
        in_channels = network.classifier[1].in_channels
        network.classifier[1] = nn.Identity()
        network.classifier[2] = nn.Identity()
        return nn.Linear(in_channels, num_classes)
    name, old = [(n, m) for n, m in network.named_modules() if isinstance(m, nn.Linear)][-1]
    parent = network.get_submodule(name.rpartition(".")[0]) if "." in name else network
    setattr(parent, name.rpartition(".")[2], nn.Identity())
    return nn.Linear(old.in_features, num_classes)
