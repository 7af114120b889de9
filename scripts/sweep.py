"""Resumable hyperparameter sweep with Optuna: each trial a normal run, on one machine or many.

    python scripts/sweep.py --config configs/fashion_mnist/cnn.yaml \\
        --space configs/sweeps/fashion_cnn.yaml --trials 20 -- --trainer.max_epochs 5

The space file maps any CLI key to a distribution:

    model.init_args.optimizer.init_args.lr: {log_uniform: [1.0e-4, 1.0e-1]}
    model.init_args.net.init_args.dropout: {uniform: [0.0, 0.5]}
    model.init_args.net.init_args.width: {choice: [16, 24, 32]}
    data.init_args.batch_size: {int: [64, 256], step: 64}

Trials are `python -m proj fit` runs under `logs/<experiment>-sweep/`. The study lives in
`--storage` (default: `study.db`, SQLite, in that folder); `--workers N` runs N worker
processes here, and any number of `sweep.py` processes on other machines given the same
`--storage` (a PostgreSQL URL, say) and the same arguments share the study. `--trials N`
is the number of finished trials the study should have: re-running the same command
resumes it and runs only the missing ones (at most workers - 1 more when workers race).
A worker that dies mid-trial stops sending heartbeats; after `--heartbeat` x 2 seconds
another worker (or the next run) fails that trial and runs its parameters again; a
Ctrl-C'd trial is queued again too. A trial that fails (an error, a diverged loss) is
recorded as failed and the sweep goes on; one whose per-epoch `--metric` falls behind
the others is pruned (`--pruner median`, the default, or `none`). The best trial's
config is written to `best.yaml` in the sweep folder, runnable with
`python -m proj fit --config .../best.yaml`. Needs the `sweep` extra (Optuna, and psycopg
for PostgreSQL): pip install -e '.[sweep]'.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import yaml

from proj.callbacks.optuna_pruning import OptunaPruning, make_pruner
from proj.cli import run
from proj.errors import brief
from proj.json_files import atomic_write_text
from proj.repeated_runs import config_args, split_argv
from proj.runs import experiment_name

try:
    import optuna
except ImportError:  # the extra is optional: say how to get it instead of a traceback
    sys.exit("error: sweeps need Optuna: pip install -e '.[sweep]'")

# heartbeats and retrying a dead worker's trial are marked experimental by Optuna
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
KINDS = ("log_uniform", "uniform", "int", "choice")
COUNTED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
RDB_SCHEMES = ("sqlite", "postgresql", "mysql")


class TrialFailed(Exception):
    """The trial's run ended with an error; Optuna records the trial as failed."""


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a trial (Lightning turns it into an exit): the sweep stops."""


def read_space(path: Path) -> dict[str, dict[str, Any]]:
    """The space file, checked: every key a CLI key, every value one known distribution."""
    try:
        space = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise SystemExit(f"error: --space {path}: {err}") from err
    if not isinstance(space, dict) or not space:
        raise SystemExit(f"error: --space {path}: expected a mapping of CLI keys to distributions")
    for key, spec in space.items():
        kinds = [k for k in KINDS if isinstance(spec, dict) and k in spec]
        if len(kinds) != 1:
            raise SystemExit(
                f"error: --space {path}: key {key!r} needs exactly one of {', '.join(KINDS)}, "
                f"got {spec!r}"
            )
        bounds = spec[kinds[0]]
        if kinds[0] == "choice":
            ok = isinstance(bounds, list) and len(bounds) > 0
        else:
            ok = (
                isinstance(bounds, list)
                and len(bounds) == 2
                and all(isinstance(b, int | float) for b in bounds)
                and bounds[0] < bounds[1]
            )
        if not ok:
            raise SystemExit(
                f"error: --space {path}: key {key!r}: {kinds[0]} needs "
                + ("a non-empty list" if kinds[0] == "choice" else "[low, high] with low < high")
            )
    return space


def suggest(trial: optuna.Trial, key: str, spec: dict[str, Any]) -> Any:
    if "log_uniform" in spec:
        return trial.suggest_float(key, *spec["log_uniform"], log=True)
    if "uniform" in spec:
        return trial.suggest_float(key, *spec["uniform"])
    if "int" in spec:
        low, high = spec["int"]
        return trial.suggest_int(
            key, low, high, step=spec.get("step", 1), log=spec.get("log", False)
        )
    return trial.suggest_categorical(key, spec["choice"])


def cli_value(value: Any) -> str:
    """A value as the CLI parses it (YAML): lists and None survive the trip."""
    return (
        value
        if isinstance(value, str)
        else yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...")
    )


def retry_stale(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Called by the storage for a trial whose worker stopped sending heartbeats (killed,
    or its machine gone): its parameters are queued to run again."""
    print(f"trial {trial.number} was cut off (its worker stopped): retrying its parameters")
    optuna.storages.RetryFailedTrialCallback(max_retry=2)(study, trial)


def storage_for(url: str, heartbeat: int) -> Any:
    """An Optuna storage for the URL; databases (SQLite, PostgreSQL, MySQL) with heartbeats,
    so a dead worker's trial is found and retried."""
    if "://" not in url or url.split("://")[0].split("+")[0] not in RDB_SCHEMES:
        return url  # any other storage Optuna takes by URL, without heartbeats
    return optuna.storages.RDBStorage(
        url, heartbeat_interval=heartbeat, failed_trial_callback=retry_stale
    )


def finished(study: optuna.Study) -> int:
    """Trials that ran to an end: complete, pruned, or failed by their own error (not those
    cut off by a dead worker or Ctrl-C, which run again)."""
    return sum(
        t.state in COUNTED or (t.state == optuna.trial.TrialState.FAIL and "error" in t.user_attrs)
        for t in study.get_trials(deepcopy=False)
    )


def write_best(study: optuna.Study, folder: Path, experiment: str) -> Path | None:
    try:
        best = study.best_trial
    except ValueError:
        return None  # no trial completed
    config = yaml.safe_load(best.user_attrs["config"])  # stored: the run may be on another machine
    config["experiment"] = f"{experiment}-best"
    config["ckpt_path"] = None
    path = folder / "best.yaml"
    header = (
        f"# Best trial of the sweep in {folder}: trial {best.number}, "
        f"{study.user_attrs['metric']} = {best.value:.4f}\n# {best.params}\n"
    )
    atomic_write_text(path, header + yaml.safe_dump(config, sort_keys=False))
    return path


def run_workers(count: int, own: list[str], overrides: list[str]) -> None:
    """`count` copies of this sweep, each a worker on the same study; waits for all."""
    workers = [
        subprocess.Popen(
            [sys.executable, __file__, *own, "--workers", "1", "--worker", str(k), "--", *overrides]
        )
        for k in range(1, count + 1)
    ]
    try:
        codes = [w.wait() for w in workers]
    except KeyboardInterrupt:  # the workers got the Ctrl-C too: let them queue their trials
        codes = [w.wait() for w in workers]
    if any(codes):
        print(f"workers exited with {codes}")


def main(argv: list[str] | None = None) -> int:
    own, overrides = split_argv(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", action="append", required=True, help="repeatable")
    parser.add_argument("--space", type=Path, required=True)
    parser.add_argument("--trials", type=int, required=True, help="finished trials wanted in all")
    parser.add_argument("--metric", default="val/acc", help="the best value of this run metric")
    parser.add_argument("--direction", choices=["maximize", "minimize"], default="maximize")
    parser.add_argument("--pruner", choices=["median", "none"], default="median")
    parser.add_argument("--seed", type=int, default=0, help="the sampler's seed")
    parser.add_argument("--logs_dir", default="logs")
    parser.add_argument(
        "--storage", help="an Optuna storage URL shared by every worker, e.g. "
        "postgresql+psycopg://user:password@host/db (default: SQLite in the sweep folder)"
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=1, help="worker processes on this machine")
    parser.add_argument(
        "--heartbeat", type=int, default=60, help="seconds between a worker's heartbeats"
    )
    parser.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(own)
    space = read_space(args.space)
    if args.workers < 1 or args.heartbeat < 1:
        parser.error("--workers and --heartbeat must be at least 1")

    experiment = f"{experiment_name(args.config)}-sweep"
    folder = Path(args.logs_dir) / experiment
    folder.mkdir(parents=True, exist_ok=True)
    url = args.storage or f"sqlite:///{(folder / 'study.db').resolve()}"
    study = optuna.create_study(
        study_name=experiment,
        storage=storage_for(url, args.heartbeat),
        load_if_exists=True,
        direction=args.direction,
        pruner=make_pruner(args.pruner),
    )
    study.set_user_attr("metric", args.metric)
    if args.workers > 1:
        run_workers(args.workers, own, overrides)
        return report(study, folder, experiment, args.metric)
    # A resumed sweep must not draw the first run's parameters again: its seed moves on;
    # so do workers', which would otherwise draw the same parameters side by side.
    salt = 1_000_003 * args.worker + (int.from_bytes(os.urandom(3), "big") if args.storage else 0)
    study.sampler = optuna.samplers.TPESampler(
        seed=args.seed + len(study.trials) + salt, constant_liar=True
    )
    configs = config_args(args.config)

    def objective(trial: optuna.Trial) -> float:
        values = [
            a
            for key, spec in space.items()
            for a in (f"--{key}", cli_value(suggest(trial, key, spec)))
        ]
        pruning = OptunaPruning(trial, monitor=args.metric)
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        print(f"trial {trial.number}: {trial.params}", flush=True)
        try:
            cli = run(["fit", *configs, "--experiment", experiment, "--logs_dir", args.logs_dir,
                       *overrides, *values], callbacks=[pruning])  # fmt: skip
            run_folder = Path(cli.trainer.log_dir)
            trial.set_user_attr("run", str(run_folder))
            trial.set_user_attr("config", (run_folder / "config.yaml").read_text())
            summary = json.loads((run_folder / "metrics.json").read_text())
        except SystemExit as exit_:
            if pruning.interrupted:  # Ctrl-C: Lightning shut the run down and exited
                signal.signal(signal.SIGINT, signal.default_int_handler)
                study.enqueue_trial(trial.params, skip_if_exists=False)
                raise SweepInterrupted from None
            if exit_.code == 2 and finished(study) == 0:
                raise  # a config error in the first trial: every trial would hit it
            trial.set_user_attr("error", f"the run exited with status {exit_.code}")
            raise TrialFailed(trial.user_attrs["error"]) from None
        except optuna.TrialPruned:
            raise
        except Exception as err:
            trial.set_user_attr("error", brief(err))
            raise
        # the trial's best epoch by the sweep's own metric and direction
        scores = [e[args.metric] for e in summary.get("val_history", []) if args.metric in e]
        if not scores:
            trial.set_user_attr("error", f"the run logged no {args.metric} at validation")
            raise TrialFailed(trial.user_attrs["error"])
        return float(max(scores) if args.direction == "maximize" else min(scores))

    try:
        # Other workers' running trials are not waited for (one may be a dead worker's,
        # without heartbeats): so workers racing may finish at most workers - 1 extra.
        while finished(study) < args.trials:
            optuna.storages.fail_stale_trials(study)
            # any error fails the trial, not the sweep
            study.optimize(objective, n_trials=1, catch=(Exception,))
    except SweepInterrupted:
        print("interrupted: the cut-off trial is queued to run again on resume")
        return 130
    return report(study, folder, experiment, args.metric)


def report(study: optuna.Study, folder: Path, experiment: str, metric: str) -> int:
    """Prints the trials' states and the best; writes best.yaml."""
    counts = {s.name.lower(): 0 for s in optuna.trial.TrialState}
    for trial in study.trials:
        counts[trial.state.name.lower()] += 1
    print(f"{experiment}: {finished(study)} finished trials "
          f"({', '.join(f'{n} {s}' for s, n in counts.items() if n)})")  # fmt: skip
    best = write_best(study, folder, experiment.removesuffix("-sweep"))
    if best is None:
        print("no trial completed: no best config")
        return 1
    print(f"best: trial {study.best_trial.number} {metric} {study.best_value:.4f} "
          f"{study.best_params}\nbest config: {best}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
