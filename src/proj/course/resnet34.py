"""ResNet-34 written out by hand, as in the course's lesson 6."""

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """Conv3x3(stride) BN ReLU Conv3x3 BN, plus a shortcut, then ReLU.

    The shortcut is a 1x1 conv + BN when the shape changes (first block of a stage).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


def _stage(in_channels: int, out_channels: int, blocks: int, stride: int) -> nn.Sequential:
    layers = [ResidualBlock(in_channels, out_channels, stride)]
    layers += [ResidualBlock(out_channels, out_channels) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class ResNet34(nn.Module):
    """Stem, four stages of (3, 4, 6, 3) blocks, global average pool, Linear 512 -> classes.

    The course pools with a fixed `avg_pool2d(7)`, which only fits 224x224 input; adaptive
    pooling makes the same network work at any size (32x32 CIFAR included).
    Stages are 64 x3, 128 x4, 256 x6, 512 x3 blocks with strides 1, 2, 2, 2: the standard
    ResNet-34, with exactly torchvision's `resnet34` parameter count (21,797,672 at 1000
    classes).
    """

    input_size = (3, 32, 32)  # (channels, height, width) it is built for

    def __init__(self, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),  # (B, 64, H/4, W/4)
            _stage(64, 64, 3, stride=1),
            _stage(64, 128, 4, stride=2),
            _stage(128, 256, 6, stride=2),
            _stage(256, 512, 3, stride=2),  # (B, 512, H/32, W/32)
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),  # (B, 512)
        )
        self.head = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))
