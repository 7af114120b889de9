"""The birds-vs-airplanes networks of the course's CIFAR-2 lesson (lesson 5).

All take (B, 3, 32, 32) and return (B, num_classes) logits; num_classes is 2 in the course.
"""

import torch
import torch.nn.functional as F
from torch import nn


class SequentialNet(nn.Sequential):
    """The lesson's first `nn.Sequential` model, with the Flatten its listing forgot."""

    input_size = (3, 32, 32)  # (channels, height, width) it is built for

    def __init__(self, num_classes: int = 2) -> None:
        super().__init__(
            nn.Conv2d(3, 16, kernel_size=3, padding=1),
            nn.Tanh(),
            nn.MaxPool2d(2),  # (B, 16, 16, 16)
            nn.Conv2d(16, 8, kernel_size=3, padding=1),
            nn.Tanh(),
            nn.MaxPool2d(2),  # (B, 8, 8, 8)
            nn.Flatten(),  # (B, 512): the course's listing lacks this and fails
            nn.Linear(8 * 8 * 8, 32),
            nn.Tanh(),
            nn.Linear(32, num_classes),
        )


class Net(nn.Module):
    """`SequentialNet` as a module: layers with weights are attributes, the rest functional."""

    input_size = (3, 32, 32)  # (channels, height, width) it is built for

    def __init__(self, num_classes: int = 2) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 8, kernel_size=3, padding=1)
        self.fc1 = nn.Linear(8 * 8 * 8, 32)
        self.fc2 = nn.Linear(32, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.max_pool2d(torch.tanh(self.conv1(x)), 2)  # (B, 16, 16, 16)
        out = F.max_pool2d(torch.tanh(self.conv2(out)), 2)  # (B, 8, 8, 8)
        out = torch.tanh(self.fc1(out.flatten(1)))
        return self.fc2(out)


class NetWidth(nn.Module):
    """`Net` with `n_chans1` channels in the first conv and half that in the second."""

    input_size = (3, 32, 32)  # (channels, height, width) it is built for

    def __init__(self, n_chans1: int = 32, num_classes: int = 2) -> None:
        super().__init__()
        self.n_chans1 = n_chans1
        self.conv1 = nn.Conv2d(3, n_chans1, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(n_chans1, n_chans1 // 2, kernel_size=3, padding=1)
        self.fc1 = nn.Linear(8 * 8 * (n_chans1 // 2), 32)
        self.fc2 = nn.Linear(32, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        out = F.max_pool2d(torch.tanh(self.conv1(x)), 2)  # (B, n, 16, 16)
        return F.max_pool2d(torch.tanh(self.conv2(out)), 2)  # (B, n/2, 8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.tanh(self.fc1(self.features(x).flatten(1)))
        return self.fc2(out)


class NetDropout(NetWidth):
    """`NetWidth` with Dropout2d(p=0.4) after each conv block."""

    def __init__(self, n_chans1: int = 32, num_classes: int = 2, p: float = 0.4) -> None:
        super().__init__(n_chans1, num_classes)
        self.conv1_dropout = nn.Dropout2d(p)
        self.conv2_dropout = nn.Dropout2d(p)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1_dropout(F.max_pool2d(torch.tanh(self.conv1(x)), 2))
        return self.conv2_dropout(F.max_pool2d(torch.tanh(self.conv2(out)), 2))


class NetBatchNorm(NetWidth):
    """`NetWidth` with BatchNorm2d after each conv, before the tanh."""

    def __init__(self, n_chans1: int = 32, num_classes: int = 2) -> None:
        super().__init__(n_chans1, num_classes)
        self.conv1_batchnorm = nn.BatchNorm2d(n_chans1)
        self.conv2_batchnorm = nn.BatchNorm2d(n_chans1 // 2)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        out = F.max_pool2d(torch.tanh(self.conv1_batchnorm(self.conv1(x))), 2)
        return F.max_pool2d(torch.tanh(self.conv2_batchnorm(self.conv2(out))), 2)


class NetRes(nn.Module):
    """Three ReLU convs; the third adds its input back (a skip connection) before pooling."""

    input_size = (3, 32, 32)  # (channels, height, width) it is built for

    def __init__(self, n_chans1: int = 32, num_classes: int = 2) -> None:
        super().__init__()
        self.n_chans1 = n_chans1
        self.conv1 = nn.Conv2d(3, n_chans1, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(n_chans1, n_chans1 // 2, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2d(n_chans1 // 2, n_chans1 // 2, kernel_size=3, padding=1)
        self.fc1 = nn.Linear(4 * 4 * (n_chans1 // 2), 32)
        self.fc2 = nn.Linear(32, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.max_pool2d(torch.relu(self.conv1(x)), 2)  # (B, n, 16, 16)
        out = F.max_pool2d(torch.relu(self.conv2(out)), 2)  # (B, n/2, 8, 8)
        out = F.max_pool2d(torch.relu(self.conv3(out)) + out, 2)  # (B, n/2, 4, 4)
        out = torch.relu(self.fc1(out.flatten(1)))
        return self.fc2(out)


class ResBlock(nn.Module):
    """Conv (no bias) -> BatchNorm -> ReLU, plus the input; initialised as in the course."""

    def __init__(self, n_chans: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(n_chans, n_chans, kernel_size=3, padding=1, bias=False)
        self.batch_norm = nn.BatchNorm2d(n_chans)
        nn.init.kaiming_normal_(self.conv.weight, nonlinearity="relu")
        nn.init.constant_(self.batch_norm.weight, 0.5)
        nn.init.zeros_(self.batch_norm.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.batch_norm(self.conv(x))) + x


class NetResDeep(nn.Module):
    """A stem conv, `n_blocks` ResBlocks at 16x16, and the two-layer head.

    The course builds the stack as `n_blocks * [ResBlock(...)]`: one block repeated, so
    all blocks share their weights. Here every block is its own module;
    `shared_blocks=True` restores the course's behaviour for comparison.
    """

    input_size = (3, 32, 32)  # (channels, height, width) it is built for

    def __init__(
        self,
        n_chans1: int = 32,
        n_blocks: int = 10,
        num_classes: int = 2,
        shared_blocks: bool = False,
    ) -> None:
        super().__init__()
        self.n_chans1 = n_chans1
        self.conv1 = nn.Conv2d(3, n_chans1, kernel_size=3, padding=1)
        if shared_blocks:
            blocks = n_blocks * [ResBlock(n_chans1)]  # the course's bug: one block, n times
        else:
            blocks = [ResBlock(n_chans1) for _ in range(n_blocks)]
        self.resblocks = nn.Sequential(*blocks)
        self.fc1 = nn.Linear(8 * 8 * n_chans1, 32)
        self.fc2 = nn.Linear(32, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.max_pool2d(torch.relu(self.conv1(x)), 2)  # (B, n, 16, 16)
        out = F.max_pool2d(self.resblocks(out), 2)  # (B, n, 8, 8)
        out = torch.relu(self.fc1(out.flatten(1)))
        return self.fc2(out)
