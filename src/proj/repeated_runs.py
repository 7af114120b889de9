"""What the scripts that fit one config several times share: seeds, folds, trials."""

import json
from pathlib import Path

from proj.runs import mean_std


def run_metrics(metrics: dict) -> dict[str, float]:
    """The best validation metrics and the test metrics of one run."""
    numbers = {**(metrics.get("best_val") or {}), **metrics.get("test", {})}
    return {key: value for key, value in numbers.items() if "/" in key}


def report(title: str, labels: list, runs: list[dict], json_file: Path | None) -> None:
    """Each run's metrics and their mean +- std, printed and written to `json_file`."""
    summary = mean_std([run["metrics"] for run in runs])
    print(title)
    for label, run in zip(labels, runs, strict=True):
        numbers = "  ".join(f"{k} {v:.4f}" for k, v in run["metrics"].items())
        print(f"  {label}: {numbers}")
    for key, (mean, std) in summary.items():
        print(f"  {key:12} {mean:.4f} +- {std:.4f}")
    if json_file:
        json_file.write_text(json.dumps({"runs": runs, "mean_std": summary}, indent=2) + "\n")


def split_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    """(this script's arguments, the overrides after `--` for every run)."""
    if "--" not in argv:
        return argv, []
    cut = argv.index("--")
    return argv[:cut], argv[cut + 1 :]


def config_args(configs: list[str]) -> list[str]:
    """`--config A --config B`: the configs as arguments for each fit."""
    return [arg for config in configs for arg in ("--config", config)]
