"""Every course model: parameter counts computed by hand, shapes, and the course's bugs."""

import pytest
import torch
import torchvision
from torch import nn

from proj.course import (
    CustomLayer,
    CustomModel,
    LeNet,
    LinearModel,
    MyCNN,
    Net,
    Net224,
    NetBatchNorm,
    NetDropout,
    NetRes,
    NetResDeep,
    NetWidth,
    NeuralNetwork,
    ResNet34,
    SequentialNet,
)
from proj.models import FashionCNN


def conv(cin: int, cout: int, k: int, bias: bool = True) -> int:
    return cin * cout * k * k + (cout if bias else 0)


def linear(fin: int, fout: int) -> int:
    return fin * fout + fout


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# (model class, constructor arguments, parameters counted by hand); built in the test, so
# collecting the suite does not allocate Net224's 47.8 M-parameter layer
HAND_COUNTED = [
    (NeuralNetwork, {}, linear(784, 512) + linear(512, 512) + linear(512, 10)),  # 669,706
    (
        FashionCNN,
        {},
        conv(1, 32, 3, False)
        + 64
        + conv(32, 64, 3, False)
        + 128
        + conv(64, 128, 3, False)
        + 256
        + linear(1152, 10),
    ),
    (SequentialNet, {}, conv(3, 16, 3) + conv(16, 8, 3) + linear(512, 32) + linear(32, 2)),
    (Net, {}, conv(3, 16, 3) + conv(16, 8, 3) + linear(512, 32) + linear(32, 2)),  # 18,090
    (NetWidth, {}, conv(3, 32, 3) + conv(32, 16, 3) + linear(1024, 32) + linear(32, 2)),
    (NetDropout, {}, conv(3, 32, 3) + conv(32, 16, 3) + linear(1024, 32) + linear(32, 2)),
    (NetBatchNorm, {}, 38_386 + 2 * 32 + 2 * 16),
    (
        NetRes,
        {},
        conv(3, 32, 3) + conv(32, 16, 3) + conv(16, 16, 3) + linear(256, 32) + linear(32, 2),
    ),
    (
        NetResDeep,
        {},
        conv(3, 32, 3) + 10 * (conv(32, 32, 3, False) + 64) + linear(2048, 32) + linear(32, 2),
    ),
    (
        LeNet,
        {},
        conv(3, 6, 5) + conv(6, 16, 5) + linear(400, 120) + linear(120, 84) + linear(84, 10),
    ),
    pytest.param(
        Net224,
        {},
        conv(3, 32, 3)
        + conv(32, 64, 3)
        + linear(64 * 54 * 54, 256)
        + linear(256, 128)
        + linear(128, 101),
        marks=pytest.mark.slow,
    ),
    pytest.param(MyCNN, {}, conv(3, 16, 3) + linear(16 * 222 * 222, 10), marks=pytest.mark.slow),
    (CustomLayer, {"in_channels": 1, "out_channels": 1}, conv(1, 3, 3) + conv(3, 1, 2)),
    (CustomModel, {"num_layers": 3}, 3 * (conv(1, 3, 3) + conv(3, 1, 2))),
    (LinearModel, {}, 2),
]


@pytest.mark.parametrize(
    ("cls", "kwargs", "expected"), HAND_COUNTED, ids=lambda v: getattr(v, "__name__", "")
)
def test_parameter_count(cls, kwargs, expected):
    assert _params(cls(**kwargs)) == expected


def test_known_totals():
    assert _params(NeuralNetwork()) == 669_706
    assert _params(Net()) == 18_090 and _params(NetWidth()) == 38_386
    assert _params(LeNet()) == 62_006


@pytest.mark.slow
def test_resnet34_matches_torchvision_and_runs_at_32_and_224():
    model = ResNet34(num_classes=1000)
    assert _params(model) == _params(torchvision.models.resnet34()) == 21_797_672
    model = ResNet34(num_classes=7).eval()
    for size in (32, 224):
        assert model(torch.randn(1, 3, size, size)).shape == (1, 7)


def test_resdeep_blocks_are_distinct_unless_the_course_bug_is_asked_for():
    fixed, buggy = NetResDeep(n_blocks=10), NetResDeep(n_blocks=10, shared_blocks=True)
    assert len({id(block) for block in fixed.resblocks}) == 10
    assert len({id(block) for block in buggy.resblocks}) == 1
    assert _params(fixed) - _params(buggy) == 9 * (conv(32, 32, 3, False) + 64)


def test_resblock_starts_as_the_course_initialises_it():
    block = NetResDeep(n_chans1=8, n_blocks=1).resblocks[0]
    assert (block.batch_norm.weight == 0.5).all() and (block.batch_norm.bias == 0).all()
    assert block.conv.bias is None


def test_custom_model_keeps_the_size_and_registers_every_block():
    model = CustomModel(num_layers=4)
    assert model(torch.randn(2, 1, 13, 17)).shape == (2, 1, 13, 17)
    assert len(list(model.parameters())) == 4 * 4


def test_linear_model_computes_a_line():
    model = LinearModel()
    with torch.no_grad():
        model.weight.fill_(2.0)
        model.bias.fill_(3.0)
    assert model(torch.tensor([[1.0], [-4.0]])).flatten().tolist() == [5.0, -5.0]
    assert [name for name, _ in model.named_parameters()] == ["weight", "bias"]
