"""What proj's training path costs next to a hand-written PyTorch loop, as ratios in one run.

For the course MLP (batch 64, SGD) and the Fashion-MNIST CNN (batch 128, AdamW), on the
real Fashion-MNIST training split, it times one training epoch three ways, each in a
fresh process, interleaved, median of `--repeats`:
  raw        a plain loop over pre-made in-memory uint8 batches (the limit)
  proj       `python -m proj fit` with the shipped defaults: TensorBoard logger,
             checkpointing, progress bar, torchmetrics accuracy (training epoch only)
  per_sample a plain loop over torchvision's FashionMNIST + ToTensor + Normalize + DataLoader

    python scripts/benchmark.py --quick --json b.json     # under 2 minutes
    python scripts/benchmark.py --repeats 5 --json b.json

Ratios: mlp_overhead_ratio = proj / raw (MLP), cnn_overhead_ratio = proj / raw (CNN),
inmemory_speedup = per_sample / proj (MLP). A full run times whole epochs (proj's with its
end-of-epoch validation batch and checkpoints). `--quick` times the steady state of the
first batches (steps 20 to 300 for the MLP, 20 to 60 for the CNN, the same window for
every way) and scales it to an epoch, so one-time costs are not multiplied.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from lightning.pytorch.callbacks import Callback
from torch import nn

REPO = Path(__file__).resolve().parents[1]
MODELS = {
    "mlp": {
        "batch": 64,
        "net": "proj.models.NeuralNetwork",
        "optimizer": "torch.optim.SGD",
        "optimizer_args": {"lr": 0.01, "weight_decay": 0.0},
    },
    "cnn": {
        "batch": 128,
        "net": "proj.models.FashionCNN",
        "optimizer": "torch.optim.AdamW",
        "optimizer_args": {"lr": 0.003, "weight_decay": 0.0005},
    },
}
MEAN, STD = 0.2860, 0.3530


def _net(model: str) -> nn.Module:
    from proj.models import FashionCNN, NeuralNetwork

    return NeuralNetwork() if model == "mlp" else FashionCNN()


def _optimizer(model: str, params) -> torch.optim.Optimizer:
    spec = MODELS[model]
    cls = torch.optim.SGD if spec["optimizer"] == "torch.optim.SGD" else torch.optim.AdamW
    return cls(params, **spec["optimizer_args"])


def _train(net: nn.Module, optimizer: torch.optim.Optimizer, batches, warmup: int) -> float:
    """Seconds per step, timed after the first `warmup` steps."""
    loss_fn = nn.CrossEntropyLoss()
    steps, start = 0, time.perf_counter()
    for images, labels in batches:
        if steps == warmup:
            steps, start = 0, time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss_fn(net(images), labels).backward()
        optimizer.step()
        steps += 1
    return (time.perf_counter() - start) / steps


def time_raw(model: str, data_dir: str, limit: int | None, warmup: int) -> float:
    from proj.data import FashionMNISTDataModule

    dm = FashionMNISTDataModule(data_dir=data_dir, batch_size=MODELS[model]["batch"])
    dm.prepare_data()
    dm.setup("fit")
    batches = list(dm.train_dataloader())[:limit]  # pre-made uint8 batches

    def prepared():
        for images, labels in batches:
            yield (images.float().div_(255) - MEAN) / STD, labels

    net = _net(model)
    return _train(net, _optimizer(model, net.parameters()), prepared(), warmup)


def time_per_sample(model: str, data_dir: str, limit: int | None, warmup: int) -> float:
    import itertools

    import torchvision
    from torchvision import transforms

    from proj.data import FashionMNISTDataModule

    FashionMNISTDataModule(data_dir=data_dir).prepare_data()
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
    dataset = torchvision.datasets.FashionMNIST(data_dir, train=True, transform=transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=MODELS[model]["batch"], shuffle=True)
    net = _net(model)
    return _train(net, _optimizer(model, net.parameters()), itertools.islice(loader, limit), warmup)


class StepWindow(Callback):
    """Times training steps `warmup` .. the end of the limited epoch, before validation."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.seconds_per_step = 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        if batch_idx == self.warmup:
            self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if batch_idx + 1 == trainer.num_training_batches:
            steps = batch_idx + 1 - self.warmup
            self.seconds_per_step = (time.perf_counter() - self._start) / steps


def time_proj(model: str, data_dir: str, limit: int | None, warmup: int) -> float:
    """The whole first epoch (validation and checkpointing included) or, with a limit, the
    steady state: steps `warmup` to `limit`, so one-time costs are not scaled up."""
    from proj.cli import ProjCLI, main

    spec = MODELS[model]
    with tempfile.TemporaryDirectory() as logs:
        args = [
            "fit", "--config", str(REPO / "configs" / "fashion_mnist" / f"{model}.yaml"),
            "--logs_dir", logs, "--experiment", "benchmark", "--test_after_fit", "false",
            "--trainer.max_epochs", "1", "--trainer.callbacks", "[]",
            "--trainer.limit_val_batches", "1", "--trainer.num_sanity_val_steps", "0",
            "--data.init_args.data_dir", data_dir, "--data.init_args.batch_size", str(spec["batch"]),
            "--data.init_args.augment", "false", "--model.init_args.lr_scheduler", "null",
            "--model.init_args.label_smoothing", "0.0",
            "--model.init_args.net", spec["net"],
            "--model.init_args.optimizer", spec["optimizer"],
        ]  # fmt: skip
        for key, value in spec["optimizer_args"].items():  # every one: a config's others stay
            args += [f"--model.init_args.optimizer.init_args.{key}", str(value)]
        if model == "mlp":
            args += ["--model.init_args.net.init_args.dropout", "0.0"]
        if limit:
            window = {"class_path": "__main__.StepWindow", "init_args": {"warmup": warmup}}
            args += ["--trainer.limit_train_batches", str(limit),
                     f"--trainer.callbacks+={json.dumps(window)}"]  # fmt: skip
        main(args)
        trainer = ProjCLI.current.trainer
        expected = _optimizer(model, [torch.zeros(1, requires_grad=True)]).defaults
        if trainer.optimizers[0].defaults != expected:  # the raw loop would do other work
            sys.exit(f"proj ran {trainer.optimizers[0].defaults}, the raw loop {expected}")
        if limit:
            timer = next(c for c in trainer.callbacks if isinstance(c, StepWindow))
            return timer.seconds_per_step
        metrics = json.loads(next(Path(logs).rglob("metrics.json")).read_text())
    return metrics["train_epoch_seconds"][0] / metrics["global_step"]


WAYS = {"raw": time_raw, "proj": time_proj, "per_sample": time_per_sample}


def worker(way: str, model: str, data_dir: str, limit: int | None) -> None:
    warmup = 20 if limit else 0
    seconds_per_step = WAYS[way](model, data_dir, limit, warmup)
    epoch_steps = -(-55_000 // MODELS[model]["batch"])  # 5,000 of the 60,000 are validation
    print(json.dumps({"seconds": seconds_per_step * epoch_steps}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="part of an epoch, 1 repeat (< 2 min)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument(
        "--worker", nargs=3, metavar=("WAY", "MODEL", "LIMIT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)

    if args.worker:
        way, model, limit = args.worker
        worker(way, model, args.data_dir, int(limit) or None)
        return 0

    repeats = 1 if args.quick else args.repeats
    limits = {"mlp": 300, "cnn": 60} if args.quick else {"mlp": 0, "cnn": 0}
    times: dict[str, list[float]] = {}
    for _ in range(repeats):
        for model in MODELS:
            for way in WAYS:
                if way == "per_sample" and model == "cnn":
                    continue  # the data path is compared on the MLP, where it matters most
                command = [sys.executable, __file__, "--data-dir", args.data_dir,
                           "--worker", way, model, str(limits[model])]  # fmt: skip
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    sys.exit(f"{way} {model} failed:\n{done.stderr[-3000:]}")
                seconds = json.loads(done.stdout.strip().splitlines()[-1])["seconds"]
                times.setdefault(f"{model}_{way}_seconds", []).append(seconds)
                print(f"  {model:4} {way:11} {seconds:7.2f} s/epoch", file=sys.stderr)

    result = {key: round(statistics.median(values), 3) for key, values in times.items()}
    result["mlp_overhead_ratio"] = round(result["mlp_proj_seconds"] / result["mlp_raw_seconds"], 3)
    result["cnn_overhead_ratio"] = round(result["cnn_proj_seconds"] / result["cnn_raw_seconds"], 3)
    result["inmemory_speedup"] = round(
        result["mlp_per_sample_seconds"] / result["mlp_proj_seconds"], 3
    )
    result.update(
        repeats=repeats, quick=args.quick, torch=torch.__version__, threads=torch.get_num_threads()
    )
    print("| model | raw loop | proj fit | per-sample loop | proj / raw |")
    print("|---|---|---|---|---|")
    for model in MODELS:
        per_sample = result.get(f"{model}_per_sample_seconds")
        print(
            f"| {model} | {result[f'{model}_raw_seconds']:.2f} s | {result[f'{model}_proj_seconds']:.2f} s | "
            f"{f'{per_sample:.2f} s' if per_sample else '-'} | {result[f'{model}_overhead_ratio']:.2f}x |"
        )
    print(f"in-memory speedup (per-sample / proj, MLP): {result['inmemory_speedup']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
