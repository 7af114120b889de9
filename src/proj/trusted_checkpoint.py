"""A checkpoint never chooses code: the config names the classes, the checkpoint gives tensors.

A checkpoint's hyperparameters record class paths (the model's `_class_path` and
`_instantiator`, its net's, optimizer's and scheduler's `class_path`, the DataModule's).
Lightning's CLI (`--ckpt_path`) and `load_from_checkpoint` build whatever they name,
importing its module: a checkpoint from elsewhere, clean tensors and all, could run code.
proj builds from the config instead (the user's, or the `config.yaml` of the run folder the
checkpoint lies in) and reads the checkpoint's class paths only as strings, to compare:
any it records that the config does not build stops the command before anything is
imported. A checkpoint outside a run folder, given without `--config`, is refused too:
its own hyperparameters could only be trusted by importing what they name.
"""

import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import yaml
from jsonargparse import ArgumentParser, Namespace
from torch import nn

from proj.errors import CheckpointError, ConfigError, ProjError, brief
from proj.num_classes import fill_num_classes, link_net_num_classes
from proj.runs import read_checkpoint

# What Lightning's CLI records as `_instantiator`; proj never calls it (it builds from the
# config), but a checkpoint naming any other is not one proj wrote.
LIGHTNING_INSTANTIATOR = "lightning.pytorch.cli.instantiate_module"
_SKIPPED_LEVELS = ("init_args", "dict_kwargs")  # a class entry's arguments: same place


def recorded_classes(checkpoint: dict[str, Any]) -> dict[str, str]:
    """Each class path the checkpoint's hyperparameters record, by where the config would
    name it: {'model': ..., 'model.net': ..., 'model.optimizer': ..., 'data': ...}."""
    found: dict[str, str] = {}
    for section, key in (("model", "hyper_parameters"), ("data", "datamodule_hyper_parameters")):
        hparams = checkpoint.get(key)
        if not isinstance(hparams, dict):
            continue
        if isinstance(hparams.get("_class_path"), str):
            found[section] = hparams["_class_path"]
        instantiator = hparams.get("_instantiator")
        if instantiator is not None and instantiator != LIGHTNING_INSTANTIATOR:
            found[f"{section}._instantiator"] = str(instantiator)
        _collect(hparams, section, found)
    return found


def configured_classes(config: dict[str, Any]) -> dict[str, str]:
    """Each class path a config's `model` and `data` entries name, keyed as recorded_classes."""
    found: dict[str, str] = {}
    for section in ("model", "data"):
        _collect(config.get(section), section, found)
    return found


def _collect(value: Any, where: str, found: dict[str, str]) -> None:
    if isinstance(value, dict):
        if isinstance(value.get("class_path"), str):
            found[where] = value["class_path"]
        for key, inner in value.items():
            if key not in ("class_path", "_class_path", "_instantiator"):
                _collect(inner, where if key in _SKIPPED_LEVELS else f"{where}.{key}", found)
    elif isinstance(value, list | tuple):
        for i, inner in enumerate(value):
            _collect(inner, f"{where}.{i}", found)


def check_classes(path: str | Path, checkpoint: dict[str, Any], config: dict[str, Any]) -> None:
    """Refuse, in one line, a checkpoint recording a class the config does not build there."""
    builds = configured_classes(config)
    for where, recorded in recorded_classes(checkpoint).items():
        if where.endswith("._instantiator"):
            raise CheckpointError(
                f"{path}: it names {recorded!r} as its {where}; proj builds from the config, "
                "with nothing a checkpoint names; nothing imported"
            )
        built = builds.get(where)
        if built is None or not _same_class(recorded, built):
            what = repr(built) if built else "nothing there"
            raise CheckpointError(
                f"{path}: it was made by {recorded!r} ({where}), the config builds {what}; "
                "nothing imported"
            )


def _same_class(recorded: str, built: str) -> bool:
    """Whether two class paths name one class (`proj.models.FashionCNN` and its module's
    path), judged without importing anything: the built one is imported by the parse."""
    if recorded == built:
        return True
    found = _already_imported(recorded)
    return found is not None and found is _already_imported(built)


def _already_imported(class_path: str) -> Any:
    """The object `class_path` names, if its module is already in sys.modules; else None."""
    parts = class_path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is None:
            continue
        found: Any = module
        for name in parts[cut:]:
            found = getattr(found, name, None)
        return found
    return None


def run_config(checkpoint: str | Path) -> Path | None:
    """The config.yaml of the run folder `<run>/checkpoints/<file>` lies in, if any: the
    config that trained it, command-line overrides and all."""
    path = Path(checkpoint)
    config = path.parent.parent / "config.yaml"
    return config if path.parent.name == "checkpoints" and config.is_file() else None


def needs_config(checkpoint: str | Path) -> CheckpointError:
    path = Path(checkpoint)
    return CheckpointError(
        f"{path}: no run folder config.yaml beside it (<run>/checkpoints/{path.name}); give "
        "the config that built it with --config (a checkpoint's own class paths are never "
        "followed); nothing imported"
    )


def checked_config(
    checkpoint: str | Path, config_files: Sequence[str | Path] = ()
) -> tuple[Namespace, dict[str, Any]]:
    """(the `model` and `data` of the run folder's config.yaml, which trained the
    checkpoint, else of `config_files`, parsed; the checkpoint, read): refused in one line
    if the checkpoint records a class that config does not build."""
    state = read_checkpoint(checkpoint)
    trained_by = run_config(checkpoint)
    files = [trained_by] if trained_by else list(config_files)
    if not files:
        raise needs_config(checkpoint)
    config = None
    try:
        for i, file in enumerate(files):
            last = i == len(files) - 1  # defaults and required keys: once all are merged
            config = _model_parser().parse_object(_model_and_data(file), config, defaults=last)
    except ProjError:
        raise
    except Exception as err:  # jsonargparse's parse error: its first line names the key
        raise ConfigError(f"{files[-1]}: {brief(err)}") from err
    check_classes(checkpoint, state, config.as_dict())
    return config, state


def build_checked(
    checkpoint: str | Path, config: Namespace, state: dict[str, Any]
) -> tuple[L.LightningModule, L.LightningDataModule | None]:
    """The model and DataModule that checked_config's `config` builds, the checkpoint's
    weights (`state`) loaded into the model: what export and serve start from."""
    data = None
    if config.get("data") is not None:  # built first: the model's num_classes may be its
        data_parser = ArgumentParser(exit_on_error=False)
        data_parser.add_subclass_arguments(L.LightningDataModule, "data")
        data = data_parser.instantiate_classes(Namespace(data=config.data)).data
    fill_num_classes(config.model, data)
    with warnings.catch_warnings():
        # the net arrives built (as under the CLI, where Lightning records its config instead)
        warnings.filterwarnings("ignore", message=".*is an instance of `nn.Module`")
        module = _model_parser().instantiate_classes(config).model
    check_weights_fit(checkpoint, state, module)
    module.load_state_dict(state["state_dict"])
    return module.eval(), data


def check_weights_fit(path: str | Path, checkpoint: dict[str, Any], model: nn.Module) -> None:
    """Refuse in one line weights that the built model cannot load (a config that changed
    the net's size, say), naming the first tensor that differs."""
    theirs = checkpoint["state_dict"]
    ours = model.state_dict()
    missing = [k for k in ours if k not in theirs]
    unexpected = [k for k in theirs if k not in ours]
    resized = [k for k in ours if k in theirs and theirs[k].shape != ours[k].shape]
    if resized:
        key = resized[0]
        why = f"{key} is {tuple(theirs[key].shape)} there, {tuple(ours[key].shape)} in the model"
    elif missing or unexpected:
        why = f"{missing[0]} is not in it" if missing else f"{unexpected[0]} is not in the model"
    else:
        return
    trained_by = run_config(path)
    hint = f" (--config {trained_by} builds what trained it)" if trained_by else ""
    raise CheckpointError(
        f"{path}: its weights do not fit the model the config builds: {why}{hint}"
    )


def _model_parser() -> ArgumentParser:
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(L.LightningModule, "model")
    parser.add_subclass_arguments(L.LightningDataModule, "data", required=False)
    link_net_num_classes(parser)
    return parser


def _model_and_data(file: str | Path) -> dict[str, Any]:
    """The `model` and `data` entries of a config file; its other keys are the trainer's."""
    try:
        content = yaml.safe_load(Path(file).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{file}: not a readable YAML config ({brief(err)})") from err
    if not isinstance(content, dict):
        raise ConfigError(f"{file}: not a YAML mapping of config keys")
    return {key: content[key] for key in ("model", "data") if key in content}
