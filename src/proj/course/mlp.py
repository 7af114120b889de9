"""The multilayer perceptron of the course's Fashion-MNIST quickstart (lesson 3)."""

import torch
from torch import nn


class NeuralNetwork(nn.Module):
    """Flatten -> Linear 784->512 -> ReLU -> Linear 512->512 -> ReLU -> Linear 512->10.

    669,706 parameters at the defaults. The course ends with a ReLU on the logits, which
    clips every negative score to 0 and stalls learning; `final_relu=True` restores that
    bug for the quickstart lesson. `dropout` and `batch_norm` are the lesson's variants,
    added after each hidden Linear (BatchNorm before the activation).
    """

    input_size = (1, 28, 28)  # (channels, height, width) it is built for

    def __init__(
        self,
        num_classes: int = 10,
        in_features: int = 28 * 28,
        hidden: int = 512,
        dropout: float = 0.0,
        batch_norm: bool = False,
        final_relu: bool = False,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]  # (B, C, H, W) -> (B, C*H*W)
        width = in_features
        for _ in range(2):
            layers.append(nn.Linear(width, hidden))
            if batch_norm:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = hidden
        layers.append(nn.Linear(hidden, num_classes))
        if final_relu:
            layers.append(nn.ReLU())
        self.linear_relu_stack = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_relu_stack(x)  # (B, num_classes) logits
