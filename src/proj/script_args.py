"""The scripts' argument parser: flags spelled as the CLI spells its own (`--logs_dir`)."""

import argparse
import sys
from collections.abc import Sequence
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
