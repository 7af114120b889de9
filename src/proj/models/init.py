"""Weight initialisation: the course's `init_weights` recipe and the `torch.nn.init` schemes.

`initialize(net, "kaiming_normal", nonlinearity="relu")` sets the weights of every Conv
and Linear layer with the named scheme and zeroes their biases; BatchNorm layers get
weight 1 and bias 0. `scheme="course"` is lesson 7's recipe: Conv Xavier-normal, Linear
normal(0, 0.01). A `gain` may be a nonlinearity's name (`gain: relu`), turned into a
number by `calculate_gain`.
"""

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from proj.errors import ConfigError

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORM = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm, nn.LayerNorm)
# Schemes defined only for 2-D weights: applied to Linear layers, Conv layers keep theirs.
_MATRIX_ONLY = ("eye", "sparse")

SCHEMES: dict[str, Callable[..., torch.Tensor]] = {
    "xavier_uniform": nn.init.xavier_uniform_,
    "xavier_normal": nn.init.xavier_normal_,
    "kaiming_uniform": nn.init.kaiming_uniform_,
    "kaiming_normal": nn.init.kaiming_normal_,
    "uniform": nn.init.uniform_,
    "normal": nn.init.normal_,
    "constant": nn.init.constant_,
    "eye": nn.init.eye_,
    "orthogonal": nn.init.orthogonal_,
    "sparse": nn.init.sparse_,
}


def course_init_weights(module: nn.Module) -> None:
    """Lesson 7's recipe, for `net.apply(course_init_weights)`."""
    if isinstance(module, nn.Conv2d):
        nn.init.xavier_normal_(module.weight)
        _zero_bias(module)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, mean=0.0, std=0.01)
        _zero_bias(module)


def initialize(net: nn.Module, scheme: str, **options: Any) -> nn.Module:
    """Initialise `net` in place with a named scheme (see the module docstring); returns it."""
    if scheme == "course":
        if options:
            raise ConfigError(
                f"init_options: init scheme 'course' takes none, got {sorted(options)}"
            )
        net.apply(course_init_weights)
        return net
    if scheme not in SCHEMES:
        raise ConfigError(
            f"init: unknown scheme {scheme!r}; expected 'course' or one of {sorted(SCHEMES)}"
        )
    if isinstance(options.get("gain"), str):
        options["gain"] = nn.init.calculate_gain(options["gain"])
    init_fn = SCHEMES[scheme]
    layers = (nn.Linear,) if scheme in _MATRIX_ONLY else (nn.Linear, *_CONV)
    for module in net.modules():
        if isinstance(module, layers):
            try:
                init_fn(module.weight, **options)
            except TypeError as err:
                raise ConfigError(
                    f"init_options: bad options {options} for scheme {scheme!r}: {err}"
                ) from err
            _zero_bias(module)
        elif isinstance(module, _NORM) and module.weight is not None:
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    return net


def _zero_bias(module: nn.Module) -> None:
    if getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)
