"""Plain torch.nn.Modules: the course's models, free of Lightning."""

from proj.models.cifar2 import (
    Net,
    NetBatchNorm,
    NetDropout,
    NetRes,
    NetResDeep,
    NetWidth,
    ResBlock,
    SequentialNet,
)
from proj.models.composing import CustomLayer, CustomModel
from proj.models.fashion_cnn import FashionCNN
from proj.models.init import course_init_weights, initialize
from proj.models.lenet import LeNet
from proj.models.linear import LinearModel
from proj.models.mlp import NeuralNetwork
from proj.models.net224 import MyCNN, Net224
from proj.models.resnet34 import ResidualBlock, ResNet34
from proj.models.torchvision_net import TorchvisionNet

# The classifiers, by name: every one takes `num_classes`.
CLASSIFIERS = {
    cls.__name__: cls
    for cls in (
        NeuralNetwork,
        FashionCNN,
        SequentialNet,
        Net,
        NetWidth,
        NetDropout,
        NetBatchNorm,
        NetRes,
        NetResDeep,
        LeNet,
        ResNet34,
        Net224,
        MyCNN,
    )
}

__all__ = [
    "CLASSIFIERS",
    "CustomLayer",
    "CustomModel",
    "FashionCNN",
    "LeNet",
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
    "TorchvisionNet",
    "course_init_weights",
    "initialize",
]
