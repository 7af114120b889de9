import math

import pytest
import torch
from torch import nn

from proj.course import NetBatchNorm
from proj.models import course_init_weights, initialize
from proj.models.init import SCHEMES


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 64, 3),
        nn.BatchNorm2d(64),
        nn.Flatten(),
        nn.Linear(400, 300),
        nn.Linear(300, 200),
    )


def _weights(net, kinds=(nn.Conv2d, nn.Linear)):
    return [m for m in net.modules() if isinstance(m, kinds)]


def test_the_ten_schemes_are_offered():
    assert sorted(SCHEMES) == sorted(
        [
            "xavier_uniform",
            "xavier_normal",
            "kaiming_uniform",
            "kaiming_normal",
            "uniform",
            "normal",
            "constant",
            "eye",
            "orthogonal",
            "sparse",
        ]
    )


def test_constant_sets_weights_zeroes_biases_and_resets_batchnorm():
    net = _net()
    net[1].weight.data.fill_(7.0)
    initialize(net, "constant", val=0.3)
    for layer in _weights(net):
        assert (layer.weight == 0.3).all() and (layer.bias == 0).all()
    assert (net[1].weight == 1).all() and (net[1].bias == 0).all()


def test_uniform_and_normal_use_their_options():
    net = initialize(_net(), "uniform", a=-0.05, b=0.05)
    weight = net[3].weight
    assert weight.min() >= -0.05 and weight.max() <= 0.05 and weight.std() > 0.02
    net = initialize(_net(), "normal", mean=2.0, std=0.1)
    assert net[3].weight.mean().item() == pytest.approx(2.0, abs=0.01)
    assert net[3].weight.std().item() == pytest.approx(0.1, abs=0.01)


def test_xavier_and_kaiming_have_their_variances():
    net = initialize(_net(), "xavier_uniform", gain="relu")  # gain from a nonlinearity's name
    bound = math.sqrt(2) * math.sqrt(6 / (400 + 300))
    assert net[3].weight.abs().max().item() <= bound
    assert net[3].weight.abs().max().item() > 0.95 * bound
    net = initialize(_net(), "xavier_normal")
    assert net[3].weight.std().item() == pytest.approx(math.sqrt(2 / 700), rel=0.05)
    net = initialize(_net(), "kaiming_normal", mode="fan_in", nonlinearity="relu")
    assert net[3].weight.std().item() == pytest.approx(math.sqrt(2 / 400), rel=0.05)
    assert net[0].weight.std().item() == pytest.approx(math.sqrt(2 / 27), rel=0.1)
    net = initialize(_net(), "kaiming_uniform", a=0, mode="fan_out", nonlinearity="relu")
    assert net[3].weight.abs().max().item() <= math.sqrt(6 / 300)


def test_matrix_schemes_apply_to_linear_layers_only():
    net = _net()
    conv_before = net[0].weight.clone()
    initialize(net, "eye")
    assert torch.equal(net[3].weight, torch.eye(300, 400))
    assert torch.equal(net[0].weight, conv_before)  # eye is defined for 2-D weights only
    initialize(net, "sparse", sparsity=0.5, std=0.01)
    zeros_per_column = (net[3].weight == 0).sum(dim=0)
    assert (zeros_per_column >= 150).all()


def test_orthogonal_gives_orthonormal_rows():
    net = initialize(_net(), "orthogonal", gain=1.0)
    weight = net[4].weight  # (200, 300): rows orthonormal
    torch.testing.assert_close(weight @ weight.T, torch.eye(200), atol=1e-5, rtol=0)


def test_course_recipe():
    torch.manual_seed(0)
    net = NetBatchNorm(n_chans1=64)
    net.conv1_batchnorm.weight.data.fill_(3.0)
    initialize(net, "course")
    assert net.fc1.weight.std().item() == pytest.approx(0.01, rel=0.05)
    assert (net.fc1.bias == 0).all() and (net.conv1.bias == 0).all()
    fan_in, fan_out = 64 * 9, 32 * 9
    assert net.conv2.weight.std().item() == pytest.approx(
        math.sqrt(2 / (fan_in + fan_out)), rel=0.05
    )
    assert (net.conv1_batchnorm.weight == 1).all()
    other = NetBatchNorm(n_chans1=64)
    torch.manual_seed(1)
    other.apply(course_init_weights)  # the recipe as the course applies it
    assert other.fc1.weight.std().item() == pytest.approx(0.01, rel=0.05)


def test_bad_scheme_or_option_names_it():
    with pytest.raises(ValueError, match="init: unknown scheme 'he'; expected 'course' or one of"):
        initialize(_net(), "he")
    with pytest.raises(ValueError, match="init_options: bad options .* for scheme 'normal'"):
        initialize(_net(), "normal", sd=1.0)
