"""The two 224x224-input networks of the course's lesson 6."""

import torch
import torch.nn.functional as F
from torch import nn


class Net224(nn.Module):
    """Conv 3->32 k3, pool, Conv 32->64 k3, pool, Linear 64*54*54 -> 256 -> 128 -> classes.

    The course's "Net" for 101 classes at 224x224 (named apart from the CIFAR-2 `Net`).
    The flattened size fixes the input at 224x224.
    """

    input_size = (3, 224, 224)  # (channels, height, width) it is built for

    def __init__(self, num_classes: int = 101) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.fc1 = nn.Linear(64 * 54 * 54, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (B, 3, 224, 224) -> (B, 32, 111, 111)
        out = F.max_pool2d(F.relu(self.conv2(out)), 2)  # -> (B, 64, 54, 54)
        out = F.relu(self.fc1(out.flatten(1)))
        out = F.relu(self.fc2(out))
        return self.fc3(out)


class MyCNN(nn.Module):
    """The lesson's exercise: one Conv 3->16 k3 (222x222 out), flatten, one Linear -> classes."""

    input_size = (3, 224, 224)  # (channels, height, width) it is built for

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 16, kernel_size=3)
        self.fc = nn.Linear(16 * 222 * 222, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).flatten(1))  # (B, 16, 222, 222) -> (B, 788544) -> logits
