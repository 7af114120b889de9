"""DDP on two CPU processes (gloo): the loaders' shards, and whole runs from the CLI."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from proj.data import CIFAR2DataModule, FashionMNISTDataModule
from tests.conftest import MLP, write_cifar10, write_fashion_mnist


@pytest.mark.slow
def test_ddp_fit_writes_one_run_and_tests_the_best_checkpoint(tmp_path):
    data = write_fashion_mnist(tmp_path / "data", num_train=600, num_test=100)
    args = [
        "fit", "--config", MLP, "--data.init_args.data_dir", str(data),
        "--data.init_args.val_size", "100", "--data.init_args.batch_size", "50",
        "--trainer.strategy", "ddp", "--trainer.devices", "2", "--trainer.accelerator", "cpu",
        "--trainer.max_epochs", "2", "--trainer.enable_progress_bar", "false",
    ]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "proj", *args], capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    runs = list(Path("logs/fashion_mnist/mlp").iterdir())
    assert [r.name for r in runs] == ["version_0"], "both ranks must share one run folder"
    metrics = json.loads((runs[0] / "metrics.json").read_text())
    # 500 training images, 2 ranks, batches of 50: 5 steps per epoch on each rank
    assert metrics["global_step"] == 10
    assert metrics["test_checkpoint"] == metrics["best_checkpoint"]
    assert 0.0 <= metrics["test"]["test/acc"] <= 1.0
    assert sorted(p.name for p in (runs[0] / "checkpoints").iterdir())[-1] == "last.ckpt"

    # The same checkpoint tested in one process gives the same accuracy: the DDP number
    # was reduced over both ranks' shards, each test image counted once.
    single = ["--data.init_args.data_dir", str(data), "--data.init_args.val_size", "100"]
    best = metrics["best_checkpoint"]
    result = subprocess.run(
        [sys.executable, "-m", "proj", "test", "--config", MLP, "--ckpt_path", best, *single],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    alone = json.loads(Path("logs/fashion_mnist/mlp/version_1/metrics.json").read_text())
    assert alone["test"]["test/acc"] == pytest.approx(metrics["test"]["test/acc"], abs=1e-6)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _collect_shards(rank: int, port: int, make_datamodule, out: Path) -> None:
    """One rank: the training images it is served in epochs 0 and 1."""
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        dm = make_datamodule()
        dm.setup("fit")
        loader = dm.train_dataloader()
        seen = {}
        for epoch in (0, 1):
            loader.sampler.set_epoch(epoch)
            seen[epoch] = torch.cat([images.flatten(1) for images, _ in loader])
        torch.save(seen, out / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _fashion(data_dir: Path, in_memory: bool):
    return FashionMNISTDataModule(str(data_dir), batch_size=32, val_size=60, in_memory=in_memory)


def _cifar2(data_dir: Path, in_memory: bool):
    return CIFAR2DataModule(data_dir=str(data_dir), batch_size=4, val_size=4, in_memory=in_memory)


@pytest.mark.slow
@pytest.mark.parametrize("in_memory", [True, False], ids=["in_memory", "per_sample"])
@pytest.mark.parametrize("dataset", ["fashion_mnist", "cifar2"])
def test_ranks_see_disjoint_shards_that_cover_the_training_split(tmp_path, in_memory, dataset):
    import functools

    if dataset == "fashion_mnist":
        data = write_fashion_mnist(tmp_path / "data", num_train=300)
        make = functools.partial(_fashion, data, in_memory)
    else:
        data = write_cifar10(tmp_path / "data", per_batch=20)
        make = functools.partial(_cifar2, data, in_memory)
    make().prepare_data()
    mp.spawn(_collect_shards, args=(_free_port(), make, tmp_path), nprocs=2)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    reference = make()
    reference.setup("fit")
    expected = reference.splits["train"]
    for epoch in (0, 1):
        a, b = ranks[0][epoch], ranks[1][epoch]
        assert len(a) == len(b) == len(expected[1] if in_memory else expected) // 2
        both = torch.cat([a, b])
        assert len(torch.unique(both, dim=0)) == len(both), "a sample was served to both ranks"
    if in_memory:  # every training image, each exactly once across the two ranks
        everything = torch.sort(torch.unique(expected[0].flatten(1), dim=0), dim=0)[0]
        served = torch.sort(torch.unique(torch.cat([ranks[0][0], ranks[1][0]]), dim=0), dim=0)[0]
        assert torch.equal(everything, served)
    assert not torch.equal(ranks[0][0], ranks[0][1]), "the order must change between epochs"
