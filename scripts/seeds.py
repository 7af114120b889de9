"""Train one config with several seeds and report mean +- std of its metrics.

    python scripts/seeds.py --config configs/fashion_mnist/mlp.yaml --seeds 0 1 2 -- --trainer.max_epochs 3

Each seed is an ordinary `python -m proj fit` run, in its own folder under
`logs/<experiment>-seeds/`; arguments after `--` go to every run. `--json FILE` writes
the per-seed numbers and the summary.
"""

import json
import sys
from pathlib import Path

from proj.cli import main as proj
from proj.runs import experiment_name, mean_std, newest_metrics
from proj.script_args import ScriptParser


def run_metrics(metrics: dict) -> dict[str, float]:
    """The best validation metrics and the test metrics of one run."""
    numbers = {**(metrics.get("best_val") or {}), **metrics.get("test", {})}
    return {key: value for key, value in numbers.items() if "/" in key}


def report(title: str, labels: list, runs: list[dict], json_file: Path | None) -> None:
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


def main(argv: list[str] | None = None) -> int:
    own, overrides = split_argv(sys.argv[1:] if argv is None else argv)
    parser = ScriptParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", action="append", required=True, help="repeatable")
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    parser.add_argument("--logs_dir", default="logs")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(own)

    experiment = f"{experiment_name(args.config)}-seeds"
    configs = config_args(args.config)
    runs = []
    for seed in args.seeds:
        proj(["fit", *configs, "--seed_everything", str(seed), "--experiment", experiment,
              "--logs_dir", args.logs_dir, *overrides])  # fmt: skip
        run, metrics = newest_metrics(args.logs_dir, experiment)
        runs.append({"seed": seed, "run": str(run), "metrics": run_metrics(metrics)})
    labels = [f"seed {seed}" for seed in args.seeds]
    report(f"{experiment}: {len(args.seeds)} seeds", labels, runs, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
