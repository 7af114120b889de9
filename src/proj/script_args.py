"""What the scripts' argument parsers share with the CLI: `--ckpt_path best|last|FILE`."""

import argparse
from pathlib import Path


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """`--config`, `--experiment` and `--logs_dir`: which run `--ckpt_path` names."""
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        help="names the experiment; builds a checkpoint outside a run folder (in one, "
        "its config.yaml does: what trained it)",
    )
    parser.add_argument("--experiment", help="instead of --config: fashion_mnist/mlp, ...")
    parser.add_argument("--logs_dir", default="logs")


def resolved_checkpoint(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Path:
    """`args.ckpt_path` as a file: `best`/`last` of the experiment that `--experiment` or
    `--config` names under `--logs_dir` (as the CLI resolves them), or a file that exists."""
    from proj.errors import ProjError
    from proj.runs import checkpoint_file, experiment_name  # torch: only when asked

    named = args.experiment or (experiment_name(args.config) if args.config else None)
    try:
        return checkpoint_file(args.ckpt_path, args.logs_dir, named)
    except ProjError as err:
        parser.error(str(err))
