"""Each fault a long run on a shared machine meets, and the guarantee that holds against it."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import fsspec.implementations.local
import lightning as L
import pytest
import torch
import torchvision
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from proj.cli import main
from proj.course import NeuralNetwork
from proj.data import FashionMNISTDataModule
from proj.runs import reserve_version
from proj.tasks import ImageClassifier
from tests.conftest import MLP, QUIET, REPO, fit_tiny, proj_process, tiny_data_args


def _run(experiment: str, version: int = 0) -> Path:
    return Path("logs") / experiment / f"version_{version}"


def _state(checkpoint: Path) -> dict:
    return torch.load(checkpoint, weights_only=True)


# --- resume -------------------------------------------------------------------------------


@pytest.fixture
def resumable(tiny_data_dir):
    """fit args for a 3-epoch run that uses every RNG: dropout, augmentation, shuffling."""
    return [
        "fit", "--config", MLP, *tiny_data_args(tiny_data_dir), *QUIET,
        "--data.init_args.batch_size", "64", "--data.init_args.augment", "true",
        "--trainer.max_epochs", "3", "--trainer.deterministic", "true", "--test_after_fit", "false",
        "--trainer.log_every_n_steps", "1",
    ]  # fmt: skip


EMA = json.dumps({"class_path": "proj.callbacks.EMA",
                  "init_args": {"decay": 0.9, "update_starting_at_step": 2}})  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kill_epoch", "kill_batch", "ema", "weighted"),
    [(2, 0, False, False), (1, 2, False, False), (1, 2, True, False), (1, 2, False, True)],
    ids=["after_epoch_1", "mid_epoch_1", "mid_epoch_1_with_ema", "mid_epoch_1_weighted_sampler"],
)
def test_killed_run_resumes_to_bitwise_identical_weights(
    resumable, kill_epoch, kill_batch, ema, weighted
):
    if ema:  # the averaged weights are what is saved and evaluated: they must resume too
        resumable = [*resumable, f"--trainer.callbacks+={EMA}"]
    if weighted:  # drawn with replacement, per (seed, epoch): the same draws after a resume
        resumable = [*resumable, "--data.init_args.sampler", "weighted"]
    assert proj_process(*resumable, "--experiment", "whole").returncode == 0
    killer = json.dumps({"class_path": "tests.helpers.KillAt",
                         "init_args": {"epoch": kill_epoch, "batch": kill_batch}})  # fmt: skip
    killed = proj_process(*resumable, "--experiment", "cut", f"--trainer.callbacks+={killer}")
    assert killed.returncode == -9, killed.stderr[-2000:]
    saved = _state(_run("cut") / "checkpoints" / "last.ckpt")
    assert saved["epoch"] == kill_epoch - 1  # a mid-epoch kill loses only that epoch

    resumed = proj_process(*resumable, "--experiment", "cut", "--ckpt_path", "last")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert sorted(p.name for p in Path("logs/cut").iterdir()) == ["version_0"]
    whole, cut = (_state(_run(e) / "checkpoints" / "last.ckpt") for e in ("whole", "cut"))
    assert whole["global_step"] == cut["global_step"]
    for name, tensor in whole["state_dict"].items():
        assert torch.equal(tensor, cut["state_dict"][name]), name
    if ema:
        assert set(whole["state_dict"]) == set(cut["state_dict"])
        whole_live, cut_live = whole["current_model_state"], cut["current_model_state"]
        assert all(torch.equal(t, cut_live[name]) for name, t in whole_live.items())

    run = _run("cut")
    assert (run / "config.yaml").is_file() and (run / "config.resume1.yaml").is_file()
    metrics = json.loads((run / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["val_history"]] == [0, 1, 2]
    events = EventAccumulator(str(run))
    events.Reload()
    for tag in ("val/acc", "train/loss_step"):
        steps = [e.step for e in events.Scalars(tag)]
        assert len(steps) == len(set(steps)), f"{tag} logged a step twice: {steps}"
    assert len(events.Scalars("val/acc")) == 3


def test_a_save_interrupted_mid_write_leaves_the_previous_checkpoint(
    tiny_data_dir, tmp_path, monkeypatch
):
    dm = FashionMNISTDataModule(str(tiny_data_dir), val_size=64)
    trainer = L.Trainer(
        max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False
    )
    trainer.fit(ImageClassifier(NeuralNetwork(), 10), datamodule=dm)
    folder = tmp_path / "checkpoints"
    path = folder / "last.ckpt"
    trainer.save_checkpoint(path)
    before = path.read_bytes()

    def write_half_then_die(self, data):
        self.f.write(data[: len(data) // 2])
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(fsspec.implementations.local.LocalFileOpener, "write", write_half_then_die)
    with pytest.raises(KeyboardInterrupt):
        trainer.save_checkpoint(path)
    assert path.read_bytes() == before
    assert torch.load(path, weights_only=True)["state_dict"]
    assert [p.name for p in folder.iterdir()] == ["last.ckpt"], "a partial file was left behind"


# --- bad checkpoints ------------------------------------------------------------------------


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["truncated", "not_a_checkpoint", "pickled_code", "bare_weights"])
def test_bad_checkpoints_are_refused_naming_the_file(tiny_data_dir, tmp_path, capsys, kind):
    fit_tiny(MLP, tiny_data_dir, "--trainer.max_epochs", "1", "--test_after_fit", "false")
    good = _run("fashion_mnist/mlp") / "checkpoints" / "last.ckpt"
    bad = tmp_path / f"{kind}.ckpt"
    if kind == "truncated":
        bad.write_bytes(good.read_bytes()[:5000])
    elif kind == "not_a_checkpoint":
        bad.write_text("epoch,acc\n1,0.9\n")
    elif kind == "pickled_code":
        torch.save({"state_dict": {}, "payload": _Payload()}, bad)
    else:
        torch.save(NeuralNetwork().state_dict(), bad)
    with pytest.raises(SystemExit) as exit_info:
        main(["test", "--config", MLP, "--ckpt_path", str(bad), *tiny_data_args(tiny_data_dir)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "Traceback" not in err
    expected = "holds no 'state_dict'" if kind == "bare_weights" else "is not a loadable checkpoint"
    assert expected in err
    assert "pwned" not in err


# --- divergence -----------------------------------------------------------------------------


def _nan_net(after: int, count: int = 0) -> list[str]:
    return [
        "--model.init_args.net", "tests.helpers.NaNAfter",
        "--model.init_args.net.init_args.after", str(after),
        "--model.init_args.net.init_args.count", str(count),
    ]  # fmt: skip


@pytest.mark.slow
def test_nan_loss_stops_with_step_and_epoch_and_keeps_the_last_good_checkpoint(
    tiny_data_dir, capsys
):
    # 256 training images in batches of 128: 2 steps an epoch; NaN from the 5th (epoch 2)
    with pytest.raises(SystemExit) as exit_info:
        fit_tiny(MLP, tiny_data_dir, "--trainer.max_epochs", "4", *_nan_net(after=4))
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "error: the training loss is nan at epoch 2, global step 4, batch 0" in err
    last = _state(_run("fashion_mnist/mlp") / "checkpoints" / "last.ckpt")
    assert last["epoch"] == 1
    assert all(torch.isfinite(t).all() for t in last["state_dict"].values())


@pytest.mark.slow
def test_nan_loss_can_skip_the_batch_and_count_it(tiny_data_dir):
    fit_tiny(MLP,
        tiny_data_dir, "--trainer.max_epochs", "2", "--model.init_args.nonfinite_loss", "skip",
        *_nan_net(after=1, count=2),
    )  # fmt: skip
    metrics = json.loads((_run("fashion_mnist/mlp") / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["skipped_batches"] == 2
    last = _state(_run("fashion_mnist/mlp") / "checkpoints" / "last.ckpt")
    assert all(torch.isfinite(t).all() for t in last["state_dict"].values())


# --- config and data errors -----------------------------------------------------------------


def test_missing_required_value_names_the_key(tmp_path, capsys):
    config = tmp_path / "no_net.yaml"
    config.write_text(
        "model:\n  class_path: proj.tasks.ImageClassifier\n"
        "data:\n  class_path: proj.data.FashionMNISTDataModule\n"
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(config)])
    assert exit_info.value.code == 2
    assert "net" in capsys.readouterr().err
    assert not Path("logs").exists()


@pytest.mark.slow
def test_a_data_folder_that_does_not_exist_is_named_and_leaves_no_run(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "mirrors", ["http://127.0.0.1:9/"])
    missing = tmp_path / "no" / "such" / "folder"
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", MLP, "--data.init_args.data_dir", str(missing), *QUIET])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert f"into {missing}" in err and "Traceback" not in err
    assert not Path("logs").exists(), "a run that never started leaves no folder"


@pytest.mark.slow
def test_a_corrupt_dataset_file_is_named_without_a_traceback(tiny_data_dir, capsys):
    FashionMNISTDataModule(str(tiny_data_dir)).prepare_data()
    raw = tiny_data_dir / "FashionMNIST" / "raw" / "train-images-idx3-ubyte"
    raw.write_bytes(raw.read_bytes()[:-100])
    with pytest.raises(SystemExit) as exit_info:
        fit_tiny(MLP, tiny_data_dir)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert f"error: {raw}: not a valid IDX file, or truncated" in err and "Traceback" not in err
    assert not Path("logs").exists(), "a run that never started leaves no folder"


# --- runs never collide ---------------------------------------------------------------------


def test_concurrent_reservations_get_distinct_folders(tmp_path):
    versions, barrier = [], threading.Barrier(8)

    def reserve():
        barrier.wait()
        versions.append(reserve_version(tmp_path / "logs", "exp"))

    threads = [threading.Thread(target=reserve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(versions) == list(range(8))


@pytest.mark.slow
def test_two_runs_started_together_keep_to_their_own_folders(tiny_data_dir):
    args = [
        "fit",
        "--config",
        MLP,
        *tiny_data_args(tiny_data_dir),
        *QUIET,
        "--trainer.max_epochs",
        "1",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, "-m", "proj", *args], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    for proc in procs:
        assert proc.wait(timeout=240) == 0, proc.stderr.read()[-2000:]
    runs = sorted(Path("logs/fashion_mnist/mlp").iterdir())
    assert [r.name for r in runs] == ["version_0", "version_1"]
    for run in runs:
        metrics = json.loads((run / "metrics.json").read_text())
        assert Path(metrics["best_checkpoint"]).parent == run / "checkpoints"
        assert (run / "config.yaml").is_file() and "test" in metrics


# --- workers --------------------------------------------------------------------------------


def _die(image):
    os.kill(os.getpid(), 9)


def test_a_crashed_loader_worker_is_an_error_not_a_hang(tiny_data_dir):
    dm = FashionMNISTDataModule(str(tiny_data_dir), val_size=64, in_memory=False, num_workers=1)
    dm.prepare_data()
    dm.setup("fit")
    dm.splits["train"].dataset.transform = _die
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid"):
        next(iter(dm.train_dataloader()))
