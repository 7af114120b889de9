"""The CLI's argument parser: one-line errors and help that lists what a config can name."""

import json
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

import yaml
from jsonargparse import DefaultHelpFormatter
from lightning.pytorch.cli import LightningArgumentParser

PROG = "python -m proj"
# "known subclasses: a, b, ..." as jsonargparse appends it to a class argument's help
_KNOWN = re.compile(r"known subclasses: ([^)]*)")
# Every torch.nn layer is a subclass of nn.Module: listed under `--model.net` they are
# ~730 lines of help in which proj's own nets drown. A net is any nn.Module still.
_LIBRARY_PREFIXES = ("torch.", "torchvision.", "lightning.", "pytorch_lightning.", "torchmetrics.")


class ProjHelpFormatter(DefaultHelpFormatter):
    """jsonargparse's help, with the library classes cut from the 'known subclasses' lists."""

    # argparse's documented way to change one argument's help text (as
    # ArgumentDefaultsHelpFormatter does); tests/test_help.py fails if it stops being called.
    def _get_help_string(self, action: Any) -> str:
        return _KNOWN.sub(_own_classes, super()._get_help_string(action))


def _own_classes(match: re.Match) -> str:
    names = [n.strip() for n in match.group(1).split(",")]
    own = [n for n in names if not n.startswith(_LIBRARY_PREFIXES)]
    if "torch.nn.Module" in names:  # a net: proj's LightningModules are nn.Modules but no nets
        own = [n for n in own if not n.startswith("proj.tasks.")]
    if len(own) == len(names):
        return match.group(0)
    cut = len(names) - len(own)
    return f"known subclasses: {', '.join([*own, f'and {cut} from torch/Lightning'])}"


class ProjArgumentParser(LightningArgumentParser):
    """A parse error is `error: ...` and a one-line hint, not ~70 lines of usage first."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", ProjHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        if not self.exit_on_error:  # a nested parser: its caller reports the error
            super().error(message, ex)
        parser = getattr(ex, "subcommand_parser", None) or self
        prog = parser.prog.replace(" [options]", "")
        sys.stderr.write(f"error: {condensed(message)}\nhint: {prog} --help\n")
        self.exit(2)


_KEY = re.compile(r'Parser key "([^"]+)":')
_NOT_NONE = "Expected a <class 'NoneType'>"


def condensed(message: str) -> str:
    """jsonargparse's report of a value that fits no type of a union, as `key: problem`.

    The report lists every alternative it tried (the class, None, a base class) with the
    whole argument dump; the useful part is the deepest alternative's last line, under
    the keys that lead to it.
    """
    lines = message.strip().splitlines()
    if "Does not validate against any of the Union subtypes" not in message:
        return message.strip()
    keys = _KEY.findall(lines[0])
    items: list[list[str]] = []
    in_errors = False
    for line in lines[1:]:
        stripped = line.strip()
        if stripped == "Errors:":
            in_errors = True
        elif stripped.startswith(("Given value", "Subtypes:")):
            in_errors = False
        elif in_errors and stripped.startswith("- ") and line.index("-") == 4:
            items.append([stripped[2:]])
        elif in_errors and items:
            items[-1].append(stripped)
    items = [i for i in items if i and i[0] != _NOT_NONE] or items
    if not items:
        return message.strip()
    deepest = max(items, key=len)
    keys += [k for line in deepest for k in _KEY.findall(line)]
    problem = deepest[-1].removeprefix("- ")
    problem = re.sub(r"<class '([\w.]+)'>", r"\1", problem).replace("typing.Literal", "one of ")
    problem = problem.replace("Expected a ", "expected ")
    problem = re.sub(r"\. Got value: (.*)$", r", got '\1'", problem)
    given = re.search(r"Given value: (?:NestedArg\(key='[^']*', val='(.*)'\)|(.*))$", message)
    value = given and (given.group(1) or given.group(2))
    if problem.startswith("expected") and value and value not in problem:
        problem += f", got '{value}'"
    return f"{'.'.join(keys)}: {problem}"


def yaml_syntax_error(path: str) -> str | None:
    """`<file>: line L, column C: <problem>` when the file is not valid YAML, else None.

    jsonargparse reads a config from its text and names `<unicode string>` in its
    message; with stacked configs the user could not tell which file is broken.
    """
    try:
        with open(path, encoding="utf-8") as f:
            yaml.safe_load(f)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return f"{path}: {where}{err.problem or err.context}"
    except (OSError, yaml.YAMLError):
        return None  # a missing file is jsonargparse's to report, with its own message
    return None


def config_files(args: list[str]) -> list[str]:
    """The values of every `--config`/`-c` in a command line."""
    return [path for _, path in _config_positions(args)]


def _config_positions(args: list[str]) -> list[tuple[int, str]]:
    """(index of the config's last argument, path) of every `--config`/`-c`."""
    found = []
    for i, arg in enumerate(args):
        if arg in ("--config", "-c") and i + 1 < len(args):
            found.append((i + 1, args[i + 1]))
        elif arg.startswith("--config="):
            found.append((i, arg.split("=", 1)[1]))
    return found


def with_stacked_loggers(args: list[str]) -> list[str]:
    """`args`, plus the loggers of all config files together as one `--trainer.logger` list
    after the last of them, when more than one file names loggers: a later config's list
    would otherwise replace an earlier one's, and logger fragments are meant to stack."""
    stacked, last = [], -1
    for index, path in _config_positions(args):
        try:
            config = yaml.safe_load(Path(path).read_text())
        except (OSError, yaml.YAMLError):
            continue  # reported by the parser
        loggers = ((config or {}).get("trainer") or {}).get("logger")
        if isinstance(loggers, list | dict):
            stacked.append(loggers if isinstance(loggers, list) else [loggers])
            last = index
    if len(stacked) < 2:
        return args
    merged = json.dumps([entry for entries in stacked for entry in entries])
    return [*args[: last + 1], "--trainer.logger", merged, *args[last + 1 :]]
