"""What proj's training path costs next to a hand-written PyTorch loop, as ratios in one run.

For the course MLP (batch 64, SGD) and the Fashion-MNIST CNN (batch 128, AdamW) on the
real Fashion-MNIST training split, and the course's CIFAR-2 `Net` (batch 64, SGD), it
times one training epoch two or three ways, each in a fresh process, interleaved,
median of `--repeats`:
  raw        a plain loop over pre-made in-memory uint8 batches (the limit)
  lightning  the same loop as a bare LightningModule (manual optimization) in a bare
             Trainer: no logger, checkpoints, progress or callbacks -- what Lightning's
             loop itself costs
  proj       `python -m proj fit` with the shipped defaults: TensorBoard logger,
             checkpointing, progress bar, training metrics (training epoch only)
  per_sample a plain loop over torchvision's FashionMNIST + ToTensor + Normalize +
             DataLoader (MLP only)

    python scripts/benchmark.py --quick --json b.json     # under 2 minutes
    python scripts/benchmark.py --repeats 5 --json b.json

Everything runs on the CPU. Ratios: mlp_overhead_ratio = proj / raw (MLP),
cnn_overhead_ratio and cifar2_net_overhead_ratio likewise, mlp_lightning_ratio =
lightning / raw, inmemory_speedup = per_sample / proj (MLP). A full run
times whole epochs (proj's with its end-of-epoch validation batch and checkpoints).
`--quick` times the steady state of the first batches (from step 20 to the model's
`quick_steps`, the same window for every way) and scales it to an epoch, so one-time
costs are not multiplied. CIFAR-10 is read from `--cifar-dir`; where it is missing (it
cannot be downloaded everywhere), a stand-in of the real size and on-disk format with
random pixels is written to a temporary folder: the time of a step does not depend on
what the pixels show. The JSON says which (`cifar_data`).
"""

import argparse
import functools
import importlib
import json
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from torch import nn

from proj.script_args import ScriptParser

REPO = Path(__file__).resolve().parents[1]
MODELS = {
    "mlp": {
        "config": "fashion_mnist/mlp.yaml",
        "batch": 64,
        "net": "proj.models.NeuralNetwork",
        "net_args": {"dropout": 0.0},
        "optimizer": "torch.optim.SGD",
        "optimizer_args": {"lr": 0.01, "weight_decay": 0.0},
        "val_size": 5000,
        "quick_steps": 300,
    },
    "cnn": {
        "config": "fashion_mnist/cnn.yaml",
        "batch": 128,
        "net": "proj.models.FashionCNN",
        "net_args": {"width": 32, "dropout": 0.25},
        "optimizer": "torch.optim.AdamW",
        "optimizer_args": {"lr": 0.003, "weight_decay": 0.0005},
        "val_size": 5000,
        "quick_steps": 60,
    },
    "cifar2_net": {
        "config": "cifar2/net.yaml",
        "batch": 64,
        "net": "proj.models.Net",
        "net_args": {},
        "optimizer": "torch.optim.SGD",
        "optimizer_args": {"lr": 0.01, "weight_decay": 0.0},
        "val_size": 1000,
        "quick_steps": 141,  # the whole epoch: 9,000 images
    },
}
CIFAR_FOLDER = "cifar-10-batches-py"


def _class(path: str) -> type:
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def _net(model: str) -> nn.Module:
    spec = MODELS[model]
    return _class(spec["net"])(**spec["net_args"])


def _optimizer(model: str, params) -> torch.optim.Optimizer:
    spec = MODELS[model]
    return _class(spec["optimizer"])(params, **spec["optimizer_args"])


@functools.cache  # a worker reads its data once: for its batches and its epoch length
def _datamodule(model: str, data_dir: str):
    from proj.data import CIFAR2DataModule, FashionMNISTDataModule

    kind = CIFAR2DataModule if model.startswith("cifar") else FashionMNISTDataModule
    spec = MODELS[model]
    dm = kind(data_dir=data_dir, batch_size=spec["batch"], val_size=spec["val_size"])
    dm.prepare_data()
    dm.setup("fit")
    return dm


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


class NormalizedBatches:
    """Pre-made uint8 batches of the epoch, normalised as each is taken, as a loop would."""

    def __init__(self, model: str, data_dir: str, limit: int | None) -> None:
        dm = _datamodule(model, data_dir)
        self.batches = list(dm.train_dataloader())[:limit]
        self.mean, self.std = (torch.tensor(v).view(1, -1, 1, 1) for v in dm.normalization)

    def __iter__(self):
        for images, labels in self.batches:
            yield (images.float().div_(255) - self.mean) / self.std, labels

    def __len__(self) -> int:
        return len(self.batches)


def time_raw(model: str, data_dir: str, limit: int | None, warmup: int) -> float:
    net = _net(model)
    batches = NormalizedBatches(model, data_dir, limit)
    return _train(net, _optimizer(model, net.parameters()), batches, warmup)


def time_lightning(model: str, data_dir: str, limit: int | None, warmup: int) -> float:
    class Bare(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = _net(model)
            self.loss_fn = nn.CrossEntropyLoss()
            self.automatic_optimization = False

        def training_step(self, batch, batch_idx: int) -> None:
            optimizer = self.optimizers()
            optimizer.zero_grad(set_to_none=True)
            self.manual_backward(self.loss_fn(self.net(batch[0]), batch[1]))
            optimizer.step()

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return _optimizer(model, self.parameters())

    timer = StepWindow(warmup)
    trainer = L.Trainer(
        accelerator="cpu", max_epochs=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=[timer],
    )  # fmt: skip
    trainer.fit(Bare(), train_dataloaders=NormalizedBatches(model, data_dir, limit))
    return timer.seconds_per_step


def time_per_sample(model: str, data_dir: str, limit: int | None, warmup: int) -> float:
    import itertools

    import torchvision
    from torchvision import transforms

    mean, std = _datamodule(model, data_dir).normalization
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
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
            "fit", "--config", str(REPO / "configs" / spec["config"]),
            "--logs_dir", logs, "--experiment", "benchmark", "--test_after_fit", "false",
            "--trainer.max_epochs", "1", "--trainer.callbacks", "[]", "--trainer.accelerator", "cpu",
            "--trainer.limit_val_batches", "1", "--trainer.num_sanity_val_steps", "0",
            "--data.init_args.data_dir", data_dir, "--data.init_args.batch_size", str(spec["batch"]),
            "--data.init_args.val_size", str(spec["val_size"]),
            "--data.init_args.augment", "false", "--model.init_args.lr_scheduler", "null",
            "--model.init_args.label_smoothing", "0.0",
            "--model.init_args.net", spec["net"],
            "--model.init_args.optimizer", spec["optimizer"],
        ]  # fmt: skip
        for key, value in spec["net_args"].items():
            args += [f"--model.init_args.net.init_args.{key}", str(value)]
        for key, value in spec["optimizer_args"].items():  # every one: a config's others stay
            args += [f"--model.init_args.optimizer.init_args.{key}", str(value)]
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


def _automatic_optimization() -> None:
    """Lightning's automatic optimization (its per-step closure) instead of DirectStep's."""
    from proj.tasks.direct_step import DirectStep

    DirectStep.automatic_optimization = property(lambda self: True, lambda self, value: None)


def _dispatch_every_hook() -> None:
    """Every callback hook dispatched, as Lightning does by default."""
    import proj.cli

    proj.cli.skip_noop_batch_hooks = lambda callbacks: None


def _torchmetrics_training_metrics() -> None:
    """Training loss and accuracy through self.log and a torchmetrics metric every step."""
    from torchmetrics.classification import MulticlassAccuracy

    from proj.tasks import ImageClassifier

    def log_training(self, loss, logits, labels, batch_idx: int) -> None:
        if not hasattr(self, "train_acc"):
            self.train_acc = MulticlassAccuracy(self.num_classes, average="micro").to(self.device)
        self.train_acc(logits, labels)
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True)
        self.log("train/acc", self.train_acc, on_step=False, on_epoch=True, prog_bar=True)

    ImageClassifier._log_training = log_training
    ImageClassifier.on_train_epoch_end = lambda self: self.step_epoch_schedulers()


def _generic_transfer() -> None:
    """Lightning's generic batch transfer (a walk over the batch's collection)."""
    from proj.data.image_datamodule import ImageClassificationDataModule

    ImageClassificationDataModule.transfer_batch_to_device = (
        L.LightningDataModule.transfer_batch_to_device
    )


# Each of proj's per-step optimisations switched off in turn (`proj_<name>` ways, MLP only).
OPTIMISATIONS_OFF = {
    "no_direct_step": _automatic_optimization,
    "no_hook_skipping": _dispatch_every_hook,
    "no_summed_metrics": _torchmetrics_training_metrics,
    "no_direct_transfer": _generic_transfer,
}
WAYS = {
    "raw": time_raw,
    "lightning": time_lightning,
    "proj": time_proj,
    "per_sample": time_per_sample,
    **{f"proj_{name}": time_proj for name in OPTIMISATIONS_OFF},
}


def worker(way: str, model: str, data_dir: str, limit: int | None) -> None:
    if way.startswith("proj_"):
        OPTIMISATIONS_OFF[way.removeprefix("proj_")]()
    warmup = 20 if limit else 0
    seconds_per_step = WAYS[way](model, data_dir, limit, warmup)
    epoch_steps = len(_datamodule(model, data_dir).train_dataloader())
    print(json.dumps({"seconds": seconds_per_step * epoch_steps}))


def write_standin_cifar10(data_dir: Path, per_file: int = 10_000) -> None:
    """CIFAR-10's five training batches and test batch (real sizes by default) with random
    pixels and each class a tenth of every file, as in the real one."""
    folder = data_dir / CIFAR_FOLDER
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
        batch = {
            b"labels": rng.permutation(np.arange(per_file) % 10).tolist(),
            b"data": rng.integers(0, 256, (per_file, 3072), dtype=np.uint8),
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": []}, protocol=2))


def main(argv: list[str] | None = None) -> int:
    parser = ScriptParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="part of an epoch, 1 repeat (< 2 min)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--data_dir", default="data", help="Fashion-MNIST's folder")
    parser.add_argument("--cifar_dir", default="data", help=f"the folder holding {CIFAR_FOLDER}/")
    parser.add_argument(
        "--worker", nargs=3, metavar=("WAY", "MODEL", "LIMIT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)

    if args.worker:
        way, model, limit = args.worker
        data_dir = args.cifar_dir if model.startswith("cifar") else args.data_dir
        worker(way, model, data_dir, int(limit) or None)
        return 0

    with tempfile.TemporaryDirectory() as standin:
        cifar_data = "real"
        if not (Path(args.cifar_dir) / CIFAR_FOLDER).is_dir():
            print(f"no {CIFAR_FOLDER}/ in {args.cifar_dir}: timing CIFAR-2 on a stand-in",
                  file=sys.stderr)  # fmt: skip
            write_standin_cifar10(Path(standin))
            args.cifar_dir, cifar_data = standin, "stand-in (random pixels, real sizes)"
        times = measure(args)
    report(times, args, cifar_data)
    return 0


def measure(args: argparse.Namespace) -> dict[str, list[float]]:
    """Seconds per epoch of each model and way, a list of the repeats."""
    times: dict[str, list[float]] = {}
    for _ in range(1 if args.quick else args.repeats):
        for model, spec in MODELS.items():
            for way in WAYS:
                if way in ("per_sample", "lightning") and model != "mlp":
                    continue  # compared on the MLP, where the per-step costs matter most
                limit = spec["quick_steps"] if args.quick else 0
                command = [sys.executable, __file__, "--data_dir", args.data_dir,
                           "--cifar_dir", args.cifar_dir, "--worker", way, model, str(limit)]  # fmt: skip
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    sys.exit(f"{way} {model} failed:\n{done.stderr[-3000:]}")
                seconds = json.loads(done.stdout.strip().splitlines()[-1])["seconds"]
                times.setdefault(f"{model}_{way}_seconds", []).append(seconds)
                print(f"  {model:10} {way:11} {seconds:7.2f} s/epoch", file=sys.stderr)
    return times


def report(times: dict[str, list[float]], args: argparse.Namespace, cifar_data: str) -> None:
    result: dict = {key: round(statistics.median(values), 3) for key, values in times.items()}
    for model in MODELS:
        ratio = result[f"{model}_proj_seconds"] / result[f"{model}_raw_seconds"]
        result[f"{model}_overhead_ratio"] = round(ratio, 3)
    result["mlp_lightning_ratio"] = round(
        result["mlp_lightning_seconds"] / result["mlp_raw_seconds"], 3
    )
    result["inmemory_speedup"] = round(
        result["mlp_per_sample_seconds"] / result["mlp_proj_seconds"], 3
    )
    result.update(
        repeats=1 if args.quick else args.repeats,
        quick=args.quick,
        cifar_data=cifar_data,
        torch=torch.__version__,
        threads=torch.get_num_threads(),
    )

    def cell(key: str) -> str:
        return f"{result[key]:.2f} s" if key in result else "-"

    print("| model | raw loop | bare Lightning | proj fit | per-sample loop | proj / raw |")
    print("|---|---|---|---|---|---|")
    for model in MODELS:
        ways = " | ".join(cell(f"{model}_{way}_seconds") for way in WAYS)
        print(f"| {model} | {ways} | {result[f'{model}_overhead_ratio']:.2f}x |")
    print(f"bare Lightning / raw (MLP): {result['mlp_lightning_ratio']:.2f}x")
    print(f"in-memory speedup (per-sample / proj, MLP): {result['inmemory_speedup']:.2f}x")
    print(f"CIFAR-2 data: {cifar_data}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
