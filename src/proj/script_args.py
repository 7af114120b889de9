"""What the scripts' argument parsers share with the CLI: `--ckpt_path best|last|FILE`."""

import argparse
from pathlib import Path


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
