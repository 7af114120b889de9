"""scripts/sweep.py: trials are normal runs, failures don't stop it, re-running resumes it."""

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml

from proj.cli import main
from tests.conftest import CNN, MLP, QUIET, REPO, tiny_data_args

FOLDER = Path("logs/fashion_mnist/mlp-sweep")


def _sweep(space: dict, trials: int, data_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    Path("space.yaml").write_text(yaml.safe_dump(space))
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "sweep.py"), "--config", MLP,
         "--space", "space.yaml", "--trials", str(trials), *extra, "--",
         *tiny_data_args(data_dir), *QUIET, "--trainer.max_epochs", "2",
         "--test_after_fit", "false"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def _study() -> optuna.Study:
    storage = f"sqlite:///{(FOLDER / 'study.db').resolve()}"
    return optuna.load_study(study_name="fashion_mnist/mlp-sweep", storage=storage)


def _queue(*learning_rates: float) -> None:
    """Create the sweep's study with these trials queued first, as the sweep will find it."""
    FOLDER.mkdir(parents=True)
    storage = f"sqlite:///{(FOLDER / 'study.db').resolve()}"
    study = optuna.create_study(
        study_name="fashion_mnist/mlp-sweep", storage=storage, direction="maximize"
    )
    for lr in learning_rates:
        study.enqueue_trial({"model.init_args.optimizer.init_args.lr": lr})


@pytest.mark.slow
def test_sweep_survives_a_failed_trial_resumes_and_writes_a_runnable_best_config(tiny_data_dir):
    # lr 1e30 makes the loss infinite: that trial fails (diverged) and the sweep goes on
    space = {"model.init_args.optimizer.init_args.lr": {"log_uniform": [1.0e-3, 1.0e31]}}
    _queue(0.1, 1.0e30, 0.01)
    first = _sweep(space, 3, tiny_data_dir, "--pruner", "none")
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    states = [t.state.name for t in _study().trials]
    assert states == ["COMPLETE", "FAIL", "COMPLETE"]
    failed = next(t for t in _study().trials if t.state.name == "FAIL")
    assert failed.params["model.init_args.optimizer.init_args.lr"] == 1.0e30
    runs = sorted(FOLDER.glob("version_*"))
    assert len(runs) == 3  # every trial is a normal run folder, the failed one included

    again = _sweep(space, 5, tiny_data_dir, "--pruner", "none")  # the same sweep, 5 in all
    assert again.returncode == 0, again.stderr[-3000:]
    trials = _study().trials
    assert len(trials) == 5 and [t.number for t in trials] == [0, 1, 2, 3, 4]
    first_params = [t.params for t in trials[:3]]
    assert [t.params for t in _study().trials[:3]] == first_params  # nothing re-run

    best = FOLDER / "best.yaml"
    config = yaml.safe_load(best.read_text())
    assert (
        config["model"]["init_args"]["optimizer"]["init_args"]["lr"]
        == _study().best_params["model.init_args.optimizer.init_args.lr"]
    )
    assert "OptunaPruning" not in best.read_text()
    main(["fit", "--config", str(best), "--trainer.max_epochs", "1", *QUIET])
    assert list(Path("logs/fashion_mnist/mlp-best").glob("version_0/metrics.json"))


@pytest.mark.slow
def test_a_trial_cut_off_by_a_killed_sweep_is_retried_on_resume(tiny_data_dir):
    space = {"model.init_args.optimizer.init_args.lr": {"log_uniform": [1.0e-3, 1.0e-1]}}
    assert _sweep(space, 1, tiny_data_dir, "--pruner", "none").returncode == 0
    # what a kill leaves behind: a trial still RUNNING in the database
    study = _study()
    cut = study.ask()
    study.tell  # noqa: B018  (never told: the process "died")
    cut_params = {"model.init_args.optimizer.init_args.lr": cut.suggest_float(
        "model.init_args.optimizer.init_args.lr", 1.0e-3, 1.0e-1, log=True)}  # fmt: skip
    result = _sweep(space, 2, tiny_data_dir, "--pruner", "none")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "cut off by an interrupted sweep" in result.stdout
    trials = _study().trials
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "COMPLETE"]
    assert trials[2].params == cut_params  # its parameters ran after all


@pytest.mark.slow
def test_median_pruner_stops_a_trial_that_falls_behind(tiny_data_dir):
    space = {"model.init_args.optimizer.init_args.lr": {"choice": [0.1, 0.1, 1.0e-7]}}
    Path("space.yaml").write_text(yaml.safe_dump(space))
    study_dir = FOLDER
    study_dir.mkdir(parents=True)
    storage = f"sqlite:///{(study_dir / 'study.db').resolve()}"
    study = optuna.create_study(
        study_name="fashion_mnist/mlp-sweep", storage=storage, direction="maximize"
    )
    for lr in (0.1, 0.1, 1.0e-7):
        study.enqueue_trial({"model.init_args.optimizer.init_args.lr": lr})
    result = _sweep(space, 3, tiny_data_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    states = [t.state.name for t in _study().trials]
    assert states == ["COMPLETE", "COMPLETE", "PRUNED"]
    pruned = json.loads((FOLDER / "version_2" / "metrics.json").read_text())
    assert [e["epoch"] for e in pruned["val_history"]] == [0]  # stopped after its first epoch
    assert "test" not in pruned


@pytest.mark.slow
@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"model.init_args.l1": {"uniform": [1, 0]}}, "low < high"),
        ({"model.init_args.l1": {"gaussian": [0, 1]}}, "needs exactly one of"),
    ],
)
def test_a_bad_space_is_named_before_any_trial(tiny_data_dir, space, message):
    result = _sweep(space, 2, tiny_data_dir)
    assert result.returncode == 1 and "space.yaml" in result.stderr and message in result.stderr
    assert not FOLDER.exists()


def test_the_example_space_names_keys_of_its_config():
    space = yaml.safe_load((REPO / "configs" / "sweeps" / "fashion_cnn.yaml").read_text())
    args = []
    for key, spec in space.items():
        (values,) = [v for kind, v in spec.items() if kind != "step"]
        args += [f"--{key}", str(values[0])]
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "--config", CNN, *args, "--print_config"])
    assert exit_.value.code == 0
