"""Train one config with several seeds and report mean +- std of its metrics.

    python scripts/seeds.py --config configs/fashion_mnist/mlp.yaml --seeds 0 1 2 -- --trainer.max_epochs 3

Each seed is an ordinary `python -m proj fit` run, in its own folder under
`logs/<experiment>-seeds/`; arguments after `--` go to every run. `--json FILE` writes
the per-seed numbers and the summary.
"""

import argparse
import sys
from pathlib import Path

from proj.cli import main as proj
from proj.repeated_runs import config_args, report, run_metrics, split_argv
from proj.runs import experiment_name, newest_metrics


def main(argv: list[str] | None = None) -> int:
    own, overrides = split_argv(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
