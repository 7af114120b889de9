"""Run folders: naming experiments, finding a run's checkpoints, writing its metrics.

One run is one folder, `<logs_dir>/<experiment>/version_<n>/`, reserved by the CLI
(`reserve_version`) whatever the loggers. Lightning can only resolve `best`/`last` in the
process that ran `fit` (Lightning #17312); here they are resolved from the folders on disk.
"""

import json
import os
import re
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import yaml

from proj.errors import CheckpointError, ConfigError, RunNotFoundError, brief

METRICS_FILE = "metrics.json"
_VERSION = re.compile(r"^version_(\d+)$")


def experiment_name(config_paths: Sequence[str | os.PathLike]) -> str:
    """The experiment a config names when it sets no `experiment` of its own.

    `configs/fashion_mnist/mlp.yaml` -> `fashion_mnist/mlp` (the dataset folder is kept:
    stems repeat across datasets). Outside `configs/`, the path from the working
    directory (`a/mlp.yaml` -> `a/mlp`), or the absolute path for a file outside it, so
    two different files never share runs. With several `--config` files, the first names
    the experiment (later ones are fragments), unless one sets `experiment:` itself, as a
    run's saved config.yaml does.
    """
    if not config_paths:
        return "default"
    for config in reversed(config_paths):
        named = _yaml_key(config, "experiment")
        if named:
            return str(named)
    path = Path(os.fspath(config_paths[0]))
    parts = path.with_suffix("").parts
    if "configs" in parts:
        inside = parts[len(parts) - parts[::-1].index("configs") :]
        return "/".join(inside)
    absolute = path.resolve().with_suffix("")
    if absolute.is_relative_to(Path.cwd().resolve()):
        return absolute.relative_to(Path.cwd().resolve()).as_posix()
    return "/".join(absolute.parts[1:])


def _yaml_key(path: str | os.PathLike, key: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            content = yaml.safe_load(f)
    except (OSError, yaml.YAMLError):
        return None  # the CLI reports unreadable configs
    return content.get(key) if isinstance(content, dict) else None


def run_dirs(logs_dir: str | Path, experiment: str) -> list[Path]:
    """The version folders of one experiment, newest (highest version) first."""
    root = Path(logs_dir) / experiment
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _VERSION.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def reserve_version(logs_dir: str | Path, experiment: str) -> int:
    """Create the next `version_<n>` folder and return n.

    `mkdir` either creates the folder or fails, atomically, so two runs started at the
    same moment can never be handed the same folder (listing then creating could).
    """
    root = Path(logs_dir) / experiment
    root.mkdir(parents=True, exist_ok=True)
    existing = run_dirs(logs_dir, experiment)
    version = int(existing[0].name.split("_")[1]) + 1 if existing else 0
    while True:
        try:
            (root / f"version_{version}").mkdir()
            return version
        except FileExistsError:
            version += 1


def version_of_checkpoint(
    checkpoint: str | Path, logs_dir: str | Path, experiment: str
) -> int | None:
    """n when `checkpoint` lies in `<logs_dir>/<experiment>/version_<n>/checkpoints/`."""
    path = Path(checkpoint).resolve()
    run = path.parent.parent
    match = _VERSION.match(run.name)
    if (
        path.parent.name == "checkpoints"
        and match
        and run.parent == (Path(logs_dir) / experiment).resolve()
    ):
        return int(match.group(1))
    return None


def resolve_checkpoint(logs_dir: str | Path, experiment: str, which: str) -> Path:
    """The `best` or `last` checkpoint of the newest run of `experiment` that has one."""
    if which not in ("best", "last"):
        raise ValueError(f"unknown checkpoint {which!r}; expected 'best', 'last' or a file path")
    for run in run_dirs(logs_dir, experiment):
        found = _last(run) if which == "last" else _best(run)
        if found is not None:
            return found
    raise RunNotFoundError(
        f"no run of experiment {experiment!r} under {Path(logs_dir) / experiment} has a "
        f"{which!r} checkpoint; train one first (python -m proj fit --config ...) or give "
        "--ckpt_path a file"
    )


def checkpoint_file(ckpt_path: str, logs_dir: str | Path, experiment: str | None) -> Path:
    """`--ckpt_path` as a file, for the CLI and the scripts alike: `best`/`last` of the
    newest run of `experiment` that has one (the resolution printed), or a file that exists."""
    if ckpt_path not in ("best", "last"):
        if not Path(ckpt_path).is_file():
            raise RunNotFoundError(
                f"--ckpt_path {ckpt_path}: no such file (or use 'best' / 'last')"
            )
        return Path(ckpt_path)
    if experiment is None:
        raise ConfigError(f"--ckpt_path {ckpt_path} needs --config or --experiment")
    found = resolve_checkpoint(logs_dir, experiment, ckpt_path)
    print(f"--ckpt_path {ckpt_path} -> {found}", file=sys.stderr)
    return found


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """A Lightning checkpoint read with weights_only=True, its tensors memory-mapped (cheap
    to read for its metadata); anything else is refused in one paragraph."""
    try:
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as err:
            if "mmap" not in str(err):
                raise
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)  # legacy format
    except Exception as err:
        raise CheckpointError(
            f"{path} is not a loadable checkpoint ({brief(err)}). Checkpoints are read with "
            "weights_only=True: a truncated or half-written file fails this way, and so does "
            "a file that holds pickled Python objects, which could run code when loaded and "
            "is refused rather than trusted."
        ) from err
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(
            f"{path} loads, but holds no 'state_dict': it is not a Lightning checkpoint "
            "(a bare weights file is not a training state to resume or test)."
        )
    return checkpoint


def _last(run: Path) -> Path | None:
    path = run / "checkpoints" / "last.ckpt"
    return path if path.is_file() else None


def _best(run: Path) -> Path | None:
    metrics = run / METRICS_FILE
    if metrics.is_file():
        best = json.loads(metrics.read_text()).get("best_checkpoint")
        if best:
            # Recorded relative to where fit ran; the run folder may have moved since.
            for candidate in (Path(best), run / "checkpoints" / Path(best).name):
                if candidate.is_file():
                    return candidate
    last = _last(run)
    if last is None:
        return None
    # A run stopped before metrics.json was written: ModelCheckpoint's state knows.
    state = torch.load(last, map_location="cpu", weights_only=True).get("callbacks", {})
    for key, value in state.items():
        monitored = key.startswith("ModelCheckpoint") and value.get("monitor")
        if monitored and value.get("best_model_path"):
            best = Path(value["best_model_path"])
            if best.is_file():
                return best
    return None


def newest_metrics(logs_dir: str | Path, experiment: str) -> tuple[Path, dict[str, Any]]:
    """The newest run folder of an experiment and its metrics.json."""
    run = run_dirs(logs_dir, experiment)[0]
    return run, json.loads((run / METRICS_FILE).read_text())


def mean_std(per_run: list[dict[str, float]]) -> dict[str, tuple[float, float]]:
    """Mean and sample standard deviation of every metric all runs have."""
    keys = set.intersection(*(set(m) for m in per_run))
    return {
        key: (
            statistics.mean(m[key] for m in per_run),
            statistics.stdev(m[key] for m in per_run) if len(per_run) > 1 else 0.0,
        )
        for key in sorted(keys)
    }
