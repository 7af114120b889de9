"""Plain torch.nn.Modules: the course's models, free of Lightning."""

from proj.models.fashion_cnn import FashionCNN
from proj.models.mlp import NeuralNetwork

__all__ = ["FashionCNN", "NeuralNetwork"]
