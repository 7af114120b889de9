"""THE COURSE: its nets and lessons, kept apart from the template.

Nothing else in `proj` imports this package: a fork that trains its own models deletes
`src/proj/course/`, `tests/course/` and the configs that name `proj.course.*`, and the
template (CLI, tasks, DataModules, callbacks, export, serve, FashionCNN, TorchvisionNet)
still works. docs/course.md maps each lesson to its config and class.
"""

from proj.course.cifar2 import (
    Net,
    NetBatchNorm,
    NetDropout,
    NetRes,
    NetResDeep,
    NetWidth,
    ResBlock,
    SequentialNet,
)
from proj.course.composing import CustomLayer, CustomModel
from proj.course.lenet import LeNet
from proj.course.line import LineDataModule
from proj.course.linear import LinearModel
from proj.course.mlp import NeuralNetwork
from proj.course.net224 import MyCNN, Net224
from proj.course.resnet34 import ResidualBlock, ResNet34

__all__ = [
    "CustomLayer",
    "CustomModel",
    "LeNet",
    "LineDataModule",
    "LinearModel",
    "MyCNN",
    "Net",
    "Net224",
    "NetBatchNorm",
    "NetDropout",
    "NetRes",
    "NetResDeep",
    "NetWidth",
    "NeuralNetwork",
    "ResBlock",
    "ResNet34",
    "ResidualBlock",
    "SequentialNet",
]
