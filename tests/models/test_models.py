from pathlib import Path

import pytest
import torch
from torch import nn

import proj.models
from proj.models import FashionCNN, NeuralNetwork


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


@pytest.mark.parametrize("num_classes", [2, 10])
def test_cnn_output_and_backbone_head_split(num_classes):
    model = FashionCNN(num_classes=num_classes, width=8)
    assert model(torch.randn(3, 1, 28, 28)).shape == (3, num_classes)
    assert model.backbone(torch.randn(3, 1, 28, 28)).shape == (3, 4 * 8 * 3 * 3)


def test_cnn_hidden_layer_sits_before_the_classifier():
    model = FashionCNN(num_classes=5, width=8, hidden=16)
    kinds = [type(m) for m in model.head]
    assert kinds == [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]
    assert model.head[0].out_features == 16 and model.head[-1].in_features == 16
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 5)


@pytest.mark.parametrize(
    ("depth", "convs"), [(1, [1, 1, 1]), (2, [2, 2, 2]), ((1, 2, 3), [1, 2, 3])]
)
def test_cnn_depth_stacks_convolutions_in_each_block(depth, convs):
    model = FashionCNN(width=8, depth=depth)
    blocks = model.backbone[:3]
    assert [sum(isinstance(m, nn.Conv2d) for m in block) for block in blocks] == convs
    assert [block[-1].__class__ for block in blocks] == [nn.MaxPool2d] * 3  # one pool per block
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_cnn_depth_1_keeps_the_checkpoint_keys_of_before():
    """Checkpoints trained before `depth` existed must still load."""
    keys = set(FashionCNN(width=8).state_dict())
    assert {"backbone.0.0.weight", "backbone.0.1.running_mean", "backbone.2.0.weight"} <= keys
    assert not any(key.startswith("backbone.0.3.") for key in keys)  # the pool holds no state


@pytest.mark.parametrize("depth", [0, (1, 2), (2, 0, 2)])
def test_cnn_bad_depth_is_named(depth):
    with pytest.raises(ValueError, match="depth"):
        FashionCNN(depth=depth)


def test_models_do_not_import_lightning():
    files = list(Path(proj.models.__file__).parent.glob("*.py"))
    assert len(files) >= 3
    for path in files:
        assert "lightning" not in path.read_text(), f"{path.name} imports Lightning"
