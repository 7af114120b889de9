"""The course's MLP (lesson 3): its parameter count, its bug behind a flag, its variants."""

import torch
from torch import nn

from proj.course import NeuralNetwork


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_course_mlp_has_the_course_parameter_count():
    assert _params(NeuralNetwork()) == 669_706


def test_final_relu_is_the_course_bug_behind_a_flag():
    x = torch.randn(256, 1, 28, 28)
    torch.manual_seed(0)
    buggy = NeuralNetwork(final_relu=True)
    assert (buggy(x) >= 0).all()
    torch.manual_seed(0)
    fixed = NeuralNetwork()
    assert (fixed(x) < 0).any()
    assert isinstance(buggy.linear_relu_stack[-1], nn.ReLU)
    assert isinstance(fixed.linear_relu_stack[-1], nn.Linear)


def test_mlp_variants_add_their_layers():
    model = NeuralNetwork(dropout=0.5, batch_norm=True, num_classes=3, in_features=12)
    kinds = [type(m) for m in model.linear_relu_stack]
    assert kinds.count(nn.Dropout) == 2 and kinds.count(nn.BatchNorm1d) == 2
    assert model(torch.randn(4, 3, 2, 2)).shape == (4, 3)
