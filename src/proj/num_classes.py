"""How the CLI gives `num_classes` to a model and its net: only where they take it.

The number is the model's own `num_classes` when the config gives one, else the
DataModule's `num_classes` attribute. It goes to the model's `num_classes` and to its
net's (`model.net`), each only if that class's constructor has such a parameter, so a
LightningModule of another task (no `num_classes`, no `net`) runs untouched.
"""

import importlib
import inspect
from typing import Any

from jsonargparse import ArgumentParser, Namespace

from proj.errors import ConfigError


def fill_num_classes(model: Namespace, data: Any) -> None:
    """Write the run's number of classes into the model's config (and its net's), in place.

    `model` is the parsed `model` entry (class_path, init_args); `data` the built DataModule,
    or None. A net's `num_classes` arrives as None (the CLI's parse link keeps a net that
    requires it parseable); it gets the number, or its own default, or an error naming both
    places it could have come from.
    """
    init_args = model.get("init_args") or Namespace()
    model_default = _default(model.class_path)
    net = init_args.get("net")
    net_default = _default(net.class_path) if _is_class_entry(net) else _ABSENT
    if model_default is _ABSENT and net_default is _ABSENT:
        return
    from_data = getattr(data, "num_classes", None) if data is not None else None
    given = init_args.get("num_classes") if model_default is not _ABSENT else None
    if given is not None and given == model_default and from_data is not None:
        given = None  # the constructor's default is not a choice the config made
    if given is not None and from_data is not None and given != from_data:
        raise ConfigError(
            f"model.num_classes: {given}, but data {_name(data)} has num_classes {from_data}"
        )
    number = given if given is not None else from_data
    if number is None:
        own = net_default if model_default is _ABSENT else model_default
        if own in (None, _ABSENT):
            where = "model.num_classes" if model_default is not _ABSENT else "model.net.num_classes"
            data_name = _name(data) if data is not None else "(none)"
            raise ConfigError(
                f"{where}: not given, and data {data_name} has no num_classes attribute"
            )
        number = own
    if model_default is not _ABSENT:
        init_args.num_classes = number
    if net_default is not _ABSENT:
        net.init_args = net.get("init_args") or Namespace()
        net.init_args.num_classes = number


_ABSENT = object()  # the class takes no num_classes


def link_net_num_classes(parser: ArgumentParser) -> None:
    """Mark the net's num_classes as filled in at instantiation (by fill_num_classes), so a
    net whose constructor requires it still parses without the config giving it."""
    parser.link_arguments(
        "model.class_path",
        "model.init_args.net.init_args.num_classes",
        compute_fn=_filled_at_instantiation,
        apply_on="parse",
    )


def _filled_at_instantiation(model_class_path: str) -> None:
    return None


def configured_class(class_path: str) -> type:
    """The class a parsed config entry names (its module imported by the parse already)."""
    module, _, name = class_path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _default(class_path: str) -> Any:
    """The default of `class_path`'s `num_classes` parameter: None when it has no default,
    _ABSENT when it takes no such parameter."""
    parameter = inspect.signature(configured_class(class_path)).parameters.get("num_classes")
    if parameter is None:
        return _ABSENT
    return None if parameter.default is inspect.Parameter.empty else parameter.default


def _is_class_entry(value: Any) -> bool:
    return isinstance(value, Namespace) and isinstance(value.get("class_path"), str)


def _name(data: Any) -> str:
    cls = type(data)
    return f"{cls.__module__}.{cls.__qualname__}"
