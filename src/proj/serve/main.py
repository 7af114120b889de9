"""`python -m proj serve`: the command line of the server.

python -m proj serve --config configs/fashion_mnist/cnn.yaml --ckpt_path best
python -m proj serve --export logs/fashion_mnist/cnn/version_0/export
"""

import argparse
import json
import os
from pathlib import Path

from proj.script_args import add_run_arguments, resolved_checkpoint
from proj.serve.app import SETTINGS_ENV, Settings
from proj.serve.open_inference import model_name


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m proj serve", description=__doc__.splitlines()[0]
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--ckpt_path", help="best / last of the config's experiment, or a file")
    what.add_argument("--export", help="a folder scripts/export.py wrote (ONNX Runtime, no torch)")
    add_run_arguments(parser)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to accept other machines")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--max_batch_size", type=int, default=32, help="1: no batching")
    parser.add_argument("--batch_timeout", type=float, default=0.005, help="seconds")
    parser.add_argument("--workers", type=int, default=1, help="processes, each with the model")
    parser.add_argument(
        "--model_name",
        help="the model's name under /v2/models/ (default: its experiment, '/' as '_')",
    )
    parser.add_argument("--top_k", type=int, default=3, help="classes per answer (?top_k=K)")
    parser.add_argument("--max_body_mb", type=float, default=20.0, help="larger bodies get 413")
    parser.add_argument("--max_pixels", type=int, default=40_000_000, help="larger images: 413")
    parser.add_argument(
        "--access_log", action="store_true", help="a log line per request (~15%% of throughput)"
    )
    return parser


def parse(argv: list[str] | None) -> tuple[Settings, dict]:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.max_batch_size < 1 or args.workers < 1 or args.top_k < 1 or args.batch_timeout < 0:
        parser.error("--max_batch_size, --workers and --top_k must be >= 1, --batch_timeout >= 0")
    settings = Settings(
        checkpoint=str(resolved_checkpoint(parser, args)) if args.ckpt_path else None,
        configs=list(args.config),
        export=args.export,
        max_batch_size=args.max_batch_size,
        batch_timeout=args.batch_timeout,
        top_k=args.top_k,
        max_body_bytes=int(args.max_body_mb * 1024 * 1024),
        max_pixels=args.max_pixels,
    )
    if settings.checkpoint:
        from proj.errors import ProjError
        from proj.export import checked_servable  # torch: only for a checkpoint

        try:
            checked_servable(settings.checkpoint, settings.configs)
        except ProjError as err:
            parser.error(str(err))
    if args.export and not (Path(args.export) / "model.onnx").is_file():
        parser.error(f"--export {args.export}: no model.onnx there (scripts/export.py writes it)")
    settings.model_name = args.model_name or model_name(_experiment_of(args, settings))
    if not settings.model_name or "/" in settings.model_name:
        parser.error(f"--model_name {settings.model_name!r}: a non-empty name without '/'")
    server = {
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "access_log": args.access_log,
    }
    return settings, server


def _experiment_of(args: argparse.Namespace, settings: Settings) -> str | None:
    """The experiment that made what is served: the export's model.json, the checkpoint's
    run config.yaml, or the one --experiment / --config names; None when none says."""
    if settings.export:
        card = Path(settings.export) / "model.json"
        return (json.loads(card.read_text()) if card.is_file() else {}).get("experiment")
    from proj.export import recorded_experiment
    from proj.runs import experiment_name

    return (
        recorded_experiment(settings.checkpoint)
        or args.experiment
        or (experiment_name(args.config) if args.config else None)
    )


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    settings, server = parse(argv)
    # Workers are processes that build the app themselves: they read what to serve here.
    os.environ[SETTINGS_ENV] = json.dumps(settings.__dict__)
    uvicorn.run(
        "proj.serve.app:app_from_env",
        factory=True,
        host=server["host"],
        port=server["port"],
        workers=server["workers"],
        access_log=server["access_log"],
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
