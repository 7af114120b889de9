"""Resumable hyperparameter sweep with Optuna: each trial a normal run, the study in SQLite.

    python scripts/sweep.py --config configs/fashion_mnist/cnn.yaml \\
        --space configs/sweeps/fashion_cnn.yaml --trials 20 -- --trainer.max_epochs 5

The space file maps any CLI key to a distribution:

    model.init_args.optimizer.init_args.lr: {log_uniform: [1.0e-4, 1.0e-1]}
    model.init_args.net.init_args.dropout: {uniform: [0.0, 0.5]}
    model.init_args.net.init_args.width: {choice: [16, 24, 32]}
    data.init_args.batch_size: {int: [64, 256], step: 64}

Trials run one after another in this process as `python -m proj fit` runs under
`logs/<experiment>-sweep/`, where the study lives too (`study.db`). `--trials N` is the
number of finished trials the study should have: re-running the same command resumes
it and runs only the missing ones; a trial cut off by an interrupted sweep is retried
with its parameters. A trial that fails (an error, a diverged loss) is recorded as
failed and the sweep goes on; one whose per-epoch `--metric` falls behind the others is
pruned (`--pruner median`, the default, or `none`). The best trial's config is written
to `best.yaml` there, runnable with `python -m proj fit --config .../best.yaml`. Needs
the `sweep` extra: pip install -e '.[sweep]'.
"""

import fcntl
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from proj.callbacks.optuna_pruning import OptunaPruning, make_pruner
from proj.cli import run
from proj.repeated_runs import config_args, split_argv
from proj.runs import experiment_name
from proj.script_args import ScriptParser

try:
    import optuna
except ImportError:  # the extra is optional: say how to get it instead of a traceback
    sys.exit("error: sweeps need Optuna: pip install -e '.[sweep]'")

KINDS = ("log_uniform", "uniform", "int", "choice")
COUNTED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


class TrialFailed(Exception):
    """The trial's run ended with an error; Optuna records the trial as failed."""


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


def retry_interrupted(study: optuna.Study) -> None:
    """Trials left RUNNING by a sweep that was killed: told failed, parameters queued again.

    Safe because a lock file keeps a second sweep process out of the same folder. Their
    numbers are kept in the study's `interrupted` attribute: they count as not finished.
    """
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for trial in running:
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        study.enqueue_trial(trial.params, skip_if_exists=False)
        print(f"trial {trial.number} was cut off by an interrupted sweep: retrying its parameters")
    if running:
        interrupted = study.user_attrs.get("interrupted", [])
        study.set_user_attr("interrupted", [*interrupted, *(t.number for t in running)])


def finished(study: optuna.Study) -> int:
    """Trials that ran to an end: complete, pruned, or failed by their own error."""
    interrupted = set(study.user_attrs.get("interrupted", []))
    return sum(
        t.state in COUNTED
        or (t.state == optuna.trial.TrialState.FAIL and t.number not in interrupted)
        for t in study.get_trials(deepcopy=False)
    )


def write_best(study: optuna.Study, folder: Path, experiment: str) -> Path | None:
    try:
        best = study.best_trial
    except ValueError:
        return None  # no trial completed
    config = yaml.safe_load((Path(best.user_attrs["run"]) / "config.yaml").read_text())
    config["experiment"] = f"{experiment}-best"
    config["ckpt_path"] = None
    path = folder / "best.yaml"
    header = (
        f"# Best trial of the sweep in {folder}: trial {best.number}, "
        f"{study.user_attrs['metric']} = {best.value:.4f}\n# {best.params}\n"
    )
    path.write_text(header + yaml.safe_dump(config, sort_keys=False))
    return path


def main(argv: list[str] | None = None) -> int:
    own, overrides = split_argv(sys.argv[1:] if argv is None else argv)
    parser = ScriptParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", action="append", required=True, help="repeatable")
    parser.add_argument("--space", type=Path, required=True)
    parser.add_argument("--trials", type=int, required=True, help="finished trials wanted in all")
    parser.add_argument("--metric", default="val/acc", help="the best value of this run metric")
    parser.add_argument("--direction", choices=["maximize", "minimize"], default="maximize")
    parser.add_argument("--pruner", choices=["median", "none"], default="median")
    parser.add_argument("--seed", type=int, default=0, help="the sampler's seed")
    parser.add_argument("--logs_dir", default="logs")
    args = parser.parse_args(own)
    space = read_space(args.space)

    experiment = f"{experiment_name(args.config)}-sweep"
    folder = Path(args.logs_dir) / experiment
    folder.mkdir(parents=True, exist_ok=True)
    lock = open(folder / "sweep.lock", "w")  # noqa: SIM115  (held for the whole sweep)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"error: another sweep is running in {folder}")
    storage = f"sqlite:///{(folder / 'study.db').resolve()}"
    study = optuna.create_study(
        study_name=experiment,
        storage=storage,
        load_if_exists=True,
        direction=args.direction,
        pruner=make_pruner(args.pruner),
    )
    # A resumed sweep must not draw the first run's parameters again: its seed moves on.
    study.sampler = optuna.samplers.TPESampler(seed=args.seed + len(study.trials))
    study.set_user_attr("metric", args.metric)
    retry_interrupted(study)
    configs = config_args(args.config)

    def objective(trial: optuna.Trial) -> float:
        values = [
            a
            for key, spec in space.items()
            for a in (f"--{key}", cli_value(suggest(trial, key, spec)))
        ]
        pruning = OptunaPruning(trial, monitor=args.metric)
        print(f"trial {trial.number}: {trial.params}", flush=True)
        try:
            cli = run(["fit", *configs, "--experiment", experiment, "--logs_dir", args.logs_dir,
                       *overrides, *values], callbacks=[pruning])  # fmt: skip
        except SystemExit as exit_:
            if exit_.code == 2 and finished(study) == 0:
                raise  # a config error in the first trial: every trial would hit it
            raise TrialFailed(f"the run exited with status {exit_.code}") from None
        trial.set_user_attr("run", cli.trainer.log_dir)
        summary = json.loads((Path(trial.user_attrs["run"]) / "metrics.json").read_text())
        # the trial's best epoch by the sweep's own metric and direction
        scores = [e[args.metric] for e in summary.get("val_history", []) if args.metric in e]
        if not scores:
            raise TrialFailed(f"the run logged no {args.metric} at validation")
        return float(max(scores) if args.direction == "maximize" else min(scores))

    missing = args.trials - finished(study)
    if missing > 0:
        # any error fails the trial, not the sweep
        study.optimize(objective, n_trials=missing, catch=(Exception,))
    counts = {s.name.lower(): 0 for s in optuna.trial.TrialState}
    for trial in study.trials:
        counts[trial.state.name.lower()] += 1
    print(f"{experiment}: {finished(study)} finished trials "
          f"({', '.join(f'{n} {s}' for s, n in counts.items() if n)})")  # fmt: skip
    best = write_best(study, folder, experiment.removesuffix("-sweep"))
    if best is None:
        print("no trial completed: no best config")
        return 1
    print(f"best: trial {study.best_trial.number} {args.metric} {study.best_value:.4f} "
          f"{study.best_params}\nbest config: {best}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
