"""k-fold cross-validation of one config: a fit per fold, per-fold and mean +- std metrics.

    python scripts/kfold.py --config configs/fashion_mnist/mlp.yaml --folds 5 -- --trainer.max_epochs 3

Fold i validates on the i-th of `--folds` stratified parts of the training file and
trains on the rest (`data.num_folds`, `data.fold`); the test split is never touched.
Each fold is an ordinary run under `logs/<experiment>-kfold/`; the summary is written to
`kfold.json` there (or `--json FILE`).
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
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--logs_dir", default="logs")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(own)
    if args.folds < 2:
        parser.error("--folds must be at least 2")

    experiment = f"{experiment_name(args.config)}-kfold"
    configs = config_args(args.config)
    runs = []
    for fold in range(args.folds):
        proj(["fit", *configs, "--experiment", experiment, "--logs_dir", args.logs_dir,
              "--data.init_args.num_folds", str(args.folds), "--data.init_args.fold", str(fold),
              *overrides])  # fmt: skip
        run, metrics = newest_metrics(args.logs_dir, experiment)
        runs.append({"fold": fold, "run": str(run), "metrics": run_metrics(metrics)})
    json_file = args.json or Path(args.logs_dir) / experiment / "kfold.json"
    report(
        f"{experiment}: {args.folds} folds",
        [f"fold {f}" for f in range(args.folds)],
        runs,
        json_file,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
