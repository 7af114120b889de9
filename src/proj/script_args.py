"""The scripts' argument parser: flags spelled as the CLI spells its own (`--logs_dir`)."""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class ScriptParser(argparse.ArgumentParser):
    """`--logs_dir`, `--ckpt_path`, `--data_dir`: underscores, as LightningCLI writes them.

    The dashed spelling of earlier versions (`--logs-dir`), and any names given in `old`,
    still work and print a one-line notice with the new spelling.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._renamed: dict[str, str] = {}  # old spelling -> new
        super().__init__(*args, **kwargs)

    def add_argument(self, *names: str, old: Sequence[str] = (), **kwargs: Any) -> argparse.Action:
        dashed = [n.replace("_", "-") for n in names if n.startswith("--") and "_" in n]
        for alias in (*dashed, *old):
            self._renamed[alias] = names[0]
        return super().add_argument(*names, *dashed, *old, **kwargs)

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:
        for arg in sys.argv[1:] if args is None else args:
            if arg == "--":  # what follows goes to `python -m proj`
                break
            flag = arg.split("=", 1)[0]
            if flag in self._renamed:
                print(f"note: {flag} is now spelled {self._renamed[flag]}", file=sys.stderr)
        return super().parse_known_args(args, namespace)


def resolved_checkpoint(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Path:
    """`args.ckpt_path` as a file: `best`/`last` of the experiment that `--experiment` or
    `--config` names under `--logs_dir` (as the CLI resolves them), or a file that exists."""
    from proj.errors import ProjError
    from proj.runs import experiment_name, resolve_checkpoint  # torch: only when asked

    if args.ckpt_path not in ("best", "last"):
        if not Path(args.ckpt_path).is_file():
            parser.error(f"--ckpt_path {args.ckpt_path}: no such file (or use 'best' / 'last')")
        return Path(args.ckpt_path)
    if not (args.experiment or args.config):
        parser.error("--ckpt_path best/last needs --config or --experiment")
    experiment = args.experiment or experiment_name(args.config)
    try:
        found = resolve_checkpoint(args.logs_dir, experiment, args.ckpt_path)
    except ProjError as err:
        parser.error(str(err))
    print(f"--ckpt_path {args.ckpt_path} -> {found}", file=sys.stderr)
    return found
