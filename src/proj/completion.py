"""Shell completion for the `proj` command: `proj --print_shtab bash|zsh|tcsh`.

jsonargparse's own completion walks every subclass of every class-typed argument (810
torch and Lightning modules for a net) and ran over 5 minutes without finishing here, so
proj gives shtab a plain argparse mirror instead: the subcommands, every option their
parsers know, and file names after --config and --ckpt_path.
"""

import argparse
import sys

FILE_OPTIONS = ("--config", "--ckpt_path", "--export")
SHELLS = ("bash", "zsh", "tcsh")


def subcommand_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def _mirror_options(source: argparse.ArgumentParser, target: argparse.ArgumentParser) -> None:
    import shtab

    for action in source._actions:
        if not action.option_strings or isinstance(action, argparse._HelpAction):
            continue
        flag = action.nargs == 0
        mirrored = target.add_argument(
            *action.option_strings,
            action="store_true" if flag else "store",
            help=action.help if isinstance(action.help, str) else None,
            **({} if flag or not action.choices else {"choices": list(action.choices)}),
        )
        if any(option in FILE_OPTIONS for option in action.option_strings):
            mirrored.complete = shtab.FILE


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script of `proj` whose training subcommands `parser` holds."""
    import shtab

    from proj.serve.main import build_parser as serve_parser

    mirror = argparse.ArgumentParser(prog="proj")
    subcommands = mirror.add_subparsers(dest="subcommand")
    for name, subparser in {**subcommand_parsers(parser), "serve": serve_parser()}.items():
        _mirror_options(subparser, subcommands.add_parser(name, help=subparser.description))
    return shtab.complete(mirror, shell=shell)


def print_completion(parser: argparse.ArgumentParser, args: list[str]) -> None:
    if len(args) != 1 or args[0] not in SHELLS:
        parser.error(f"--print_shtab: expected one of {', '.join(SHELLS)}")
    try:
        print(completion_script(parser, args[0]))
    except ImportError:
        parser.error("--print_shtab needs shtab: pip install shtab")
    sys.exit(0)
