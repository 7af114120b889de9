"""scripts/sweep.py: trials are normal runs, failures don't stop it, re-running resumes it."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import pytest
import yaml

from proj.cli import main
from tests.conftest import CNN, MLP, QUIET, REPO, tiny_data_args

FOLDER = Path("logs/fashion_mnist/mlp-sweep")


def _sweep_command(
    space: dict, trials: int, data_dir: Path, *extra: str, epochs: int = 2
) -> list[str]:
    Path("space.yaml").write_text(yaml.safe_dump(space))
    return [sys.executable, str(REPO / "scripts" / "sweep.py"), "--config", MLP,
            "--space", "space.yaml", "--trials", str(trials), *extra, "--",
            *tiny_data_args(data_dir), *QUIET, "--trainer.max_epochs", str(epochs),
            "--test_after_fit", "false"]  # fmt: skip


def _sweep(
    space: dict, trials: int, data_dir: Path, *extra: str, epochs: int = 2
) -> subprocess.CompletedProcess:
    command = _sweep_command(space, trials, data_dir, *extra, epochs=epochs)
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


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
def test_a_killed_workers_trial_is_retried_with_its_parameters(tiny_data_dir):
    space = {"model.init_args.optimizer.init_args.lr": {"log_uniform": [1.0e-3, 1.0e-1]}}
    extra = ["--heartbeat", "1", "--pruner", "none"]
    worker = subprocess.Popen(  # 10,000 epochs: still running when it is killed
        _sweep_command(space, 1, tiny_data_dir, *extra, epochs=10_000),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not list(FOLDER.glob("version_0/checkpoints/*.ckpt")):  # an epoch is done
            assert worker.poll() is None and time.monotonic() < deadline, "the trial never ran"
            time.sleep(0.2)
    finally:
        worker.kill()  # SIGKILL: no handler runs, the trial stays RUNNING in the database
        worker.wait()
    (cut,) = _study().trials
    assert cut.state.name == "RUNNING"
    time.sleep(2.5)  # past the grace period: two heartbeats missed
    result = _sweep(space, 1, tiny_data_dir, *extra, epochs=1)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert f"trial {cut.number} was cut off" in result.stdout
    trials = _study().trials
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE"]
    assert trials[1].params == cut.params  # its parameters ran after all


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
        ({"model.init_args.optimizer.init_args.lr": {"uniform": [1, 0]}}, "low < high"),
        ({"model.init_args.optimizer.init_args.lr": {"gaussian": [0, 1]}}, "needs exactly one of"),
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def postgres_url():
    """A real PostgreSQL server on a temporary folder and a free loopback port."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not binaries:
        pytest.skip("PostgreSQL's server is not installed (make postgres: Debian's postgresql)")
    pytest.importorskip("psycopg", reason="psycopg is not installed (the sweep extra)")
    bin_dir = binaries[-1].parent
    folder = Path(tempfile.mkdtemp(prefix="proj-postgres-"))
    as_postgres = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(folder, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    pg_ctl = [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run([*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                        "--auth=trust", "-E", "UTF8"], check=True, capture_output=True)  # fmt: skip
        subprocess.run([*pg_ctl, "-l", str(folder / "server.log"), "-o", options, "-w", "start"],
                       check=True, capture_output=True, timeout=60)  # fmt: skip
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_two_workers_share_one_postgresql_study(tiny_data_dir, postgres_url):
    space = {"model.init_args.optimizer.init_args.lr": {"log_uniform": [1.0e-3, 1.0e-1]}}
    extra = ["--storage", postgres_url, "--workers", "2", "--pruner", "none"]
    result = _sweep(space, 4, tiny_data_dir, *extra)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    study = optuna.load_study(study_name="fashion_mnist/mlp-sweep", storage=postgres_url)
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert 4 <= len(done) <= 5 and len(done) == len(study.trials)
    learning_rates = [t.params["model.init_args.optimizer.init_args.lr"] for t in done]
    assert len(set(learning_rates)) == len(learning_rates)  # no parameters run twice
    workers = {t.user_attrs["worker"] for t in done}
    assert len(workers) == 2  # both processes ran trials
    assert not (FOLDER / "study.db").exists()  # the study is in PostgreSQL only
    assert (FOLDER / "best.yaml").is_file()
