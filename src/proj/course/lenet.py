"""The LeNet-style CIFAR-10 network of the course's second tutorial (lesson 5)."""

import torch
import torch.nn.functional as F
from torch import nn


class LeNet(nn.Module):
    """Conv 3->6 k5, pool, Conv 6->16 k5, pool, Linear 400->120->84->num_classes, ReLU."""

    input_size = (3, 32, 32)  # (channels, height, width) it is built for

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, kernel_size=5)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (B, 3, 32, 32) -> (B, 6, 14, 14)
        out = F.max_pool2d(F.relu(self.conv2(out)), 2)  # -> (B, 16, 5, 5)
        out = F.relu(self.fc1(out.flatten(1)))
        out = F.relu(self.fc2(out))
        return self.fc3(out)
