"""Plain torch.nn.Modules of the template, free of Lightning: a CNN for small images and
any torchvision architecture. The course's nets are in proj.course."""

from proj.models.fashion_cnn import FashionCNN
from proj.models.init import course_init_weights, initialize
from proj.models.torchvision_net import TorchvisionNet

__all__ = ["FashionCNN", "TorchvisionNet", "course_init_weights", "initialize"]
