"""`python -m proj` and the `proj` command: `serve` without importing torch, the rest the CLI."""

import sys


def main() -> None:
    if sys.argv[1:2] == ["serve"]:  # serving an export needs no torch: the CLI is not imported
        from proj.serve.main import main as serve

        serve(sys.argv[2:])
    else:
        from proj.cli import main as cli

        cli()


if __name__ == "__main__":
    main()
