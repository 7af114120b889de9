from pathlib import Path

import pytest
import torch
from torch import nn

import proj.models
from proj.models import FashionCNN


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


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


def test_cnn_residual_adds_each_block_input_to_its_later_convolutions():
    plain, residual = FashionCNN(width=8, depth=2), FashionCNN(width=8, depth=2, residual=True)
    assert _params(residual) == _params(plain)  # the skip is free
    later = residual.backbone[0][3]  # the block's second convolution, after conv-BN-ReLU
    nn.init.zeros_(later.conv.weight)  # a zero branch leaves only the skip
    x = torch.rand(2, 8, 28, 28)  # non-negative, as after a ReLU
    torch.testing.assert_close(later.eval()(x), x)
    assert residual(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_cnn_depth_1_keeps_the_checkpoint_keys_of_before():
    """Checkpoints trained before `depth` existed must still load."""
    keys = set(FashionCNN(width=8).state_dict())
    assert {"backbone.0.0.weight", "backbone.0.1.running_mean", "backbone.2.0.weight"} <= keys
    assert not any(key.startswith("backbone.0.3.") for key in keys)  # the pool holds no state


@pytest.mark.parametrize("depth", [0, (1, 2), (2, 0, 2)])
def test_cnn_bad_depth_is_named(depth):
    with pytest.raises(ValueError, match="depth"):
        FashionCNN(depth=depth)


def test_cnn_width_per_block_sets_each_blocks_channels():
    model = FashionCNN(width=(4, 12, 20), depth=2, residual=True)
    convs = [[m.out_channels for m in block.modules() if isinstance(m, nn.Conv2d)]
             for block in model.backbone[:3]]  # fmt: skip
    assert convs == [[4, 4], [12, 12], [20, 20]]
    assert model.backbone(torch.randn(2, 1, 28, 28)).shape == (2, 20 * 3 * 3)
    assert set(FashionCNN(width=8).state_dict()) == set(FashionCNN(width=(8, 16, 32)).state_dict())


@pytest.mark.parametrize("width", [0, (8, 16), (8, 0, 32)])
def test_cnn_bad_width_is_named(width):
    with pytest.raises(ValueError, match="width"):
        FashionCNN(width=width)


def _classifiers() -> list:
    """Every exported nn.Module of proj.models and proj.course (when present) that a config
    can build from `num_classes` alone: whatever is exported, however many."""
    import importlib
    import inspect

    found = []
    for package in ("proj.models", "proj.course"):
        try:
            module = importlib.import_module(package)
        except ImportError:  # a fork that deleted the course
            continue
        for name in module.__all__:
            cls = getattr(module, name)
            if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
                continue
            parameters = inspect.signature(cls).parameters
            required = [n for n, p in parameters.items() if p.default is inspect.Parameter.empty]
            if "num_classes" in parameters and set(required) <= {"num_classes"}:
                big = getattr(cls, "input_size", (0, 0, 0))[1] >= 224
                found.append(pytest.param(cls, id=name, marks=[pytest.mark.slow] if big else []))
    return found


@pytest.mark.parametrize("cls", _classifiers())
def test_every_exported_classifier_keeps_the_contract(cls):
    """A classifier declares the input it is built for (`input_size`), `num_classes` sets
    the logits' width, and every parameter gets a finite gradient."""
    assert len(cls.input_size) == 3, f"{cls.__name__}.input_size: (C, H, W)"
    torch.manual_seed(0)
    net = cls(num_classes=4)
    logits = net(torch.randn(2, *cls.input_size))
    assert logits.shape == (2, 4)
    logits.logsumexp(dim=1).sum().backward()
    assert all(p.grad is not None and p.grad.isfinite().all() for p in net.parameters())


@pytest.mark.parametrize("package", ["models", "course"])
def test_nets_do_not_import_lightning(package):
    folder = Path(proj.models.__file__).parents[1] / package
    for path in folder.glob("*.py"):
        if path.name != "line.py":  # the line lesson's DataModule
            assert "lightning" not in path.read_text(), f"{path.name} imports Lightning"
