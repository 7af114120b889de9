"""What proj's training and data paths cost next to hand-written PyTorch, as ratios that survive noise.

Every way runs in a fresh process. A run is `--pairs` rounds; in each round every group's
ways run back to back (in reverse order every other round), and each ratio is taken within
the round, so a slow minute of the machine slows both sides of it. Reported: the median of
the per-round ratios and their (min, max) as `<name>_spread`.

Groups and their ways:
  mlp, cnn, cifar2_net   the course MLP (batch 64, SGD) and FashionCNN (batch 128, AdamW) on
      the real Fashion-MNIST training split, the course's CIFAR-2 `Net` (batch 64, SGD);
  cifar10_resnet18       torchvision's ResNet-18 at 32x32 (batch 256, SGD) on CIFAR-10, a
      GPU-sized group, not in the default set:
      raw        a plain loop over pre-made in-memory uint8 batches (the limit)
      lightning  the same loop as a bare LightningModule in a bare Trainer (no logger,
                 checkpoints, progress or callbacks): what Lightning's loop itself costs
                 (MLP, FashionCNN, ResNet-18)
      proj       `python -m proj fit` with the shipped defaults: TensorBoard logger and
                 views, checkpointing, progress, training metrics
      proj_<variant>  proj with one per-step feature changed (MLP; VARIANTS below)
      per_sample a plain loop over torchvision's FashionMNIST + ToTensor + Normalize +
                 DataLoader (MLP, full runs only)
  folder  one epoch over `--photos` JPEGs of photo content (500x375, quality 90) that the
      benchmark writes from photos installed packages ship:
      decode     decoding each file only (the limit of a per-sample pipeline)
      baseline   ImageFolder + RandomResizedCrop(224) + flip + ToTensor + Normalize
      proj       CSVImageDataModule from nothing: setup (which decodes, checks and caches
                 every file) plus its first epoch; and a later epoch, from its cache

    python scripts/benchmark.py --quick --json b.json     # about 9 minutes on 2 cores
    python scripts/benchmark.py --json b.json             # whole epochs

Ratios: <group>_overhead_ratio = proj / raw, <group>_lightning_ratio = lightning / raw,
<group>_proj_over_lightning = proj / lightning; mlp_<variant>_ratio = the variant / proj
(above 1: proj's default is faster by that factor; below 1: the feature costs that share);
folder_speedup = baseline / proj's first epoch, folder_later_speedup = baseline / a later
one. `--quick` times the steady state of the first batches (from step 60 to the model's
`quick_steps`, the same window for every way) and scales it to an epoch. CIFAR-10 is read
from `--cifar_dir`; where it is missing (it cannot be downloaded everywhere), a stand-in of
the real size and on-disk format with random pixels is timed: a step's time does not depend
on what the pixels show. The JSON says which (`cifar_data`) and names the CPU.
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

from proj.precision import cpu_description

REPO = Path(__file__).resolve().parents[1]
DEVICE = "cpu"  # --device; a worker process sets it before timing
QUICK_WARMUP = 60  # steps before a --quick window opens
MODELS = {
    "mlp": {
        "config": "fashion_mnist/mlp.yaml",
        "batch": 64,
        "net": "proj.course.NeuralNetwork",
        "net_args": {"dropout": 0.0},
        "optimizer": "torch.optim.SGD",
        "optimizer_args": {"lr": 0.01, "weight_decay": 0.0},
        "val_size": 5000,
        "quick_steps": 340,
    },
    "cnn": {
        "config": "fashion_mnist/cnn.yaml",
        "batch": 128,
        "net": "proj.models.FashionCNN",
        "net_args": {"width": 32, "dropout": 0.25},
        "optimizer": "torch.optim.AdamW",
        "optimizer_args": {"lr": 0.003, "weight_decay": 0.0005},
        "val_size": 5000,
        "quick_steps": 100,
    },
    "cifar2_net": {
        "config": "cifar2/net.yaml",
        "batch": 64,
        "net": "proj.course.Net",
        "net_args": {},
        "optimizer": "torch.optim.SGD",
        "optimizer_args": {"lr": 0.01, "weight_decay": 0.0},
        "val_size": 1000,
        "quick_steps": 141,  # the whole epoch: 9,000 images
    },
    "cifar10_resnet18": {
        "config": "cifar10/resnet34.yaml",  # its SGD recipe; the net is replaced
        "batch": 256,
        "net": "proj.models.TorchvisionNet",
        "net_args": {"arch": "resnet18", "num_classes": 10},
        "optimizer": "torch.optim.SGD",
        "optimizer_args": {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.0005},
        "val_size": 1000,
        "quick_steps": 120,
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
    from proj.data import CIFAR2DataModule, CIFAR10DataModule, FashionMNISTDataModule

    kinds = {"cifar2": CIFAR2DataModule, "cifar10": CIFAR10DataModule}
    kind = kinds.get(model.split("_")[0], FashionMNISTDataModule)
    spec = MODELS[model]
    dm = kind(data_dir=data_dir, batch_size=spec["batch"], val_size=spec["val_size"])
    dm.prepare_data()
    dm.setup("fit")
    return dm


def _accelerator() -> str:
    return "gpu" if DEVICE == "cuda" else "cpu"


def _now() -> float:
    """The time, once the device has finished what was queued."""
    if DEVICE == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter()


def _train(net: nn.Module, optimizer: torch.optim.Optimizer, batches, warmup: int) -> float:
    """Seconds per step, timed after the first `warmup` steps."""
    loss_fn = nn.CrossEntropyLoss()
    net.to(DEVICE)
    steps, start = 0, _now()
    for images, labels in batches:
        if steps == warmup:
            steps, start = 0, _now()
        images, labels = images.to(DEVICE, non_blocking=True), labels.to(DEVICE)
        optimizer.zero_grad(set_to_none=True)
        loss_fn(net(images), labels).backward()
        optimizer.step()
        steps += 1
    return (_now() - start) / steps


class NormalizedBatches:
    """Pre-made uint8 batches of the epoch, normalised as each is taken, as a loop would."""

    def __init__(self, model: str, data_dir: str, limit: int | None) -> None:
        dm = _datamodule(model, data_dir)
        self.batches = list(dm.train_dataloader())[:limit]
        self.mean, self.std = (torch.tensor(v).view(1, -1, 1, 1) for v in dm.normalization)

    def __iter__(self):
        mean, std = self.mean.to(DEVICE), self.std.to(DEVICE)
        for images, labels in self.batches:
            images = images.to(DEVICE, non_blocking=True)
            yield (images.float().div_(255) - mean) / std, labels.to(DEVICE)

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

        def training_step(self, batch, batch_idx: int) -> torch.Tensor:
            return self.loss_fn(self.net(batch[0]), batch[1])

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return _optimizer(model, self.parameters())

    timer = StepWindow(warmup)
    trainer = L.Trainer(
        accelerator=_accelerator(), max_epochs=1, logger=False, enable_checkpointing=False,
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

    def on_train_start(self, trainer, pl_module) -> None:
        self.warmup = min(self.warmup, trainer.num_training_batches - 1)  # small data

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        if batch_idx == self.warmup:
            self._start = _now()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if batch_idx + 1 == trainer.num_training_batches:
            steps = batch_idx + 1 - self.warmup
            self.seconds_per_step = (_now() - self._start) / steps


def time_proj(
    model: str, data_dir: str, limit: int | None, warmup: int, extra: tuple[str, ...] = ()
) -> float:
    """The whole first epoch (validation and checkpointing included) or, with a limit, the
    steady state: steps `warmup` to `limit`, so one-time costs are not scaled up. `extra`:
    more command-line arguments, after the others."""
    from proj.cli import run

    spec = MODELS[model]
    with tempfile.TemporaryDirectory() as logs:
        args = [
            "fit", "--config", str(REPO / "configs" / spec["config"]),
            "--logs_dir", logs, "--experiment", "benchmark", "--test_after_fit", "false",
            "--trainer.max_epochs", "1", "--trainer.callbacks", "[]", "--trainer.accelerator", _accelerator(),
            "--trainer.limit_val_batches", "1", "--trainer.num_sanity_val_steps", "0",
            "--data.init_args.data_dir", data_dir, "--data.init_args.batch_size", str(spec["batch"]),
            "--data.init_args.val_size", str(spec["val_size"]),
            "--data.init_args.augment", "false", "--model.init_args.lr_scheduler", "null",
            "--model.init_args.loss", "torch.nn.CrossEntropyLoss",
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
        trainer = run([*args, *extra]).trainer
        expected = _optimizer(model, [torch.zeros(1, requires_grad=True)]).defaults
        if trainer.optimizers[0].defaults != expected:  # the raw loop would do other work
            sys.exit(f"proj ran {trainer.optimizers[0].defaults}, the raw loop {expected}")
        if limit:
            timer = next(c for c in trainer.callbacks if isinstance(c, StepWindow))
            return timer.seconds_per_step
        metrics = json.loads(next(Path(logs).rglob("metrics.json")).read_text())
    return metrics["train_epoch_seconds"][0] / metrics["global_step"]


PHOTO_SIZE = (500, 375)  # a typical cats-vs-dogs photo
FOLDER_BATCH = 32


def _source_photos() -> list:
    """Photos that installed packages ship: matplotlib's always, scikit-image's and
    scikit-learn's where installed."""
    import matplotlib
    from PIL import Image

    photos = [Image.open(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")]
    try:
        from skimage import data

        photos += [Image.fromarray(f()) for f in (data.astronaut, data.chelsea, data.coffee)]
    except ImportError:
        pass
    try:
        from sklearn.datasets import load_sample_images

        photos += [Image.fromarray(array) for array in load_sample_images().images]
    except ImportError:
        pass
    return [photo.convert("RGB") for photo in photos]


def write_photo_folder(root: Path, count: int) -> None:
    """`count` JPEGs (500x375 or 375x500, quality 90) in `root/images/<class>/` as
    ImageFolder reads them, and `root/labels.csv` listing them: random crops, scales and
    flips of `_source_photos`, with faint noise so they compress like camera photos."""
    from PIL import Image

    rng = np.random.default_rng(0)
    sources = _source_photos()
    noise = [rng.normal(0, 3, (500, 500, 3)) for _ in range(8)]
    lines = []
    for i in range(count):
        source = sources[i % len(sources)]
        width, height = PHOTO_SIZE if rng.random() < 0.75 else PHOTO_SIZE[::-1]
        scale = rng.uniform(0.6, 1.0) * min(source.width / width, source.height / height)
        box_w, box_h = int(width * scale), int(height * scale)
        left = int(rng.integers(0, source.width - box_w + 1))
        top = int(rng.integers(0, source.height - box_h + 1))
        photo = source.resize(
            (width, height), Image.BICUBIC, (left, top, left + box_w, top + box_h)
        )
        pixels = np.asarray(photo, dtype=np.float64) + noise[i % 8][:height, :width]
        if rng.random() < 0.5:
            pixels = pixels[:, ::-1]
        name = ("cat", "dog")[i % 2]
        (root / "images" / name).mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(
            root / "images" / name / f"{i}.jpg", quality=90
        )
        lines.append(f"{name}/{i}.jpg,{name}")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")


def _folder_workers() -> int:
    from proj.data.sampler import default_workers

    return default_workers()  # what proj's DataModule picks here; the baseline gets the same


def time_folder_decode(root: Path) -> dict[str, float]:
    """Only decoding each file, one after another: what no per-sample pipeline beats."""
    from PIL import Image

    files = sorted((root / "images").rglob("*.jpg"))
    start = time.perf_counter()
    for file in files:
        with Image.open(file) as image:
            image.convert("RGB")
    return {"seconds": time.perf_counter() - start}


def time_folder_baseline(root: Path) -> dict[str, float]:
    """The course's loop: ImageFolder, RandomResizedCrop(224), flip, ToTensor, Normalize."""
    from torchvision import datasets, transforms

    from proj.data.csv_images import IMAGENET_MEAN_STD

    transform = transforms.Compose([
        transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(),
        transforms.ToTensor(), transforms.Normalize(*IMAGENET_MEAN_STD),
    ])  # fmt: skip
    dataset = datasets.ImageFolder(str(root / "images"), transform=transform)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=FOLDER_BATCH, shuffle=True, num_workers=_folder_workers()
    )
    start = time.perf_counter()
    for _ in loader:
        pass
    return {"seconds": time.perf_counter() - start}


def time_folder_proj(root: Path) -> dict[str, float]:
    """CSVImageDataModule with its disk cache built from nothing: setup (which decodes and
    checks every file) plus the first epoch; then a later epoch, from the cache."""
    import shutil

    from proj.data import CSVImageDataModule

    for old in root.glob("labels.decoded-*"):
        shutil.rmtree(old)  # a first run: no cache yet
    dm = CSVImageDataModule(
        str(root / "labels.csv"), str(root / "images"), image_size=224, augment=True,
        val_fraction=0.0, batch_size=FOLDER_BATCH, cache="disk",
    )  # fmt: skip

    def epoch() -> None:
        for batch in dm.train_dataloader():
            dm.on_after_batch_transfer(batch, 0)  # float, normalised: what the model gets

    start = time.perf_counter()
    dm.setup("fit")
    epoch()
    first = time.perf_counter() - start
    start = time.perf_counter()
    epoch()
    return {"seconds": first, "later_seconds": time.perf_counter() - start}


FOLDER_WAYS = {
    "decode": time_folder_decode,
    "baseline": time_folder_baseline,
    "proj": time_folder_proj,
}


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
    ImageClassifier.on_train_epoch_end = lambda self: None


def _no_loss_guard() -> None:
    """No non-finite-loss check: the guard's `torch.isfinite(loss)` is a host sync per step."""
    import proj.tasks.classifier

    proj.tasks.classifier.guard_loss = lambda loss, module, batch_idx, policy: loss


def _terminal() -> None:
    """As if at a terminal: proj shows its Rich bar (a redraw every 10 batches), not a line
    per epoch as it does here, where the worker's output is a pipe."""
    sys.stdout.isatty = lambda: True


# proj with one per-step feature changed (`proj_<name>` ways, MLP only): a function run in
# the worker before timing, and command-line arguments
VARIANTS = {
    "no_summed_metrics": (_torchmetrics_training_metrics, ()),
    "no_loss_guard": (_no_loss_guard, ()),
    "log_every_step": (None, ("--trainer.log_every_n_steps", "1")),
    "terminal_bar": (_terminal, ()),
    "no_progress_bar": (None, ("--trainer.enable_progress_bar", "false")),
}
WAYS = {
    "raw": time_raw,
    "lightning": time_lightning,
    "proj": time_proj,
    "per_sample": time_per_sample,
    **{
        f"proj_{name}": functools.partial(time_proj, extra=extra)
        for name, (_, extra) in VARIANTS.items()
    },
}


def worker(way: str, model: str, data_dir: str, limit: int | None) -> None:
    if model == "folder":
        print(json.dumps(FOLDER_WAYS[way](Path(data_dir))))
        return
    if model in COMPILE_NETS:
        print(json.dumps(compile_step(model, compiled=way == "compiled", steps=limit or 20)))
        return
    if way.startswith("proj_") and (change := VARIANTS[way.removeprefix("proj_")][0]):
        change()
    # After step 50, the first that logs: Lightning's first `self.log` pays a one-time ~0.25 s
    # (torch._dynamo's set-up), which a window of a few hundred steps would spread over them.
    warmup = min(QUICK_WARMUP, limit // 2) if limit else 0
    seconds_per_step = WAYS[way](model, data_dir, limit, warmup)
    epoch_steps = len(_datamodule(model, data_dir).train_dataloader())
    # on a line of its own: a Rich bar (terminal_bar) leaves a cursor code unterminated
    print("\n" + json.dumps({"seconds": seconds_per_step * epoch_steps}))


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


# torch.compile's steady-state training step against eager (proj.callbacks.CompileNet
# compiles the net in place, as here): (net, its arguments, batch shape)
COMPILE_NETS = {
    "compile_cnn": ("proj.models.FashionCNN", {"width": 32}, (256, 1, 28, 28)),
    "compile_resnet18": ("proj.models.TorchvisionNet", {"arch": "resnet18"}, (256, 3, 32, 32)),
}


def compile_step(model: str, compiled: bool, steps: int) -> dict[str, float]:
    """Median seconds of a training step (forward, backward, AdamW) on a fixed random
    batch after warm-up; compiled: also the first step's seconds, the compilation."""
    from jsonargparse import ArgumentParser

    class_path, init_args, shape = COMPILE_NETS[model]
    parser = ArgumentParser()
    parser.add_argument("--net", type=torch.nn.Module)
    net_config = {"class_path": class_path, "init_args": {**init_args, "num_classes": 10}}
    net = parser.instantiate_classes(parser.parse_object({"net": net_config})).net
    net = net.to(DEVICE).train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
    images = torch.randn(shape, device=DEVICE)
    labels = torch.randint(0, 10, (shape[0],), device=DEVICE)

    def step() -> float:
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(net(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if DEVICE == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    first = 0.0
    if compiled:
        net.compile()
        first = step()
    for _ in range(3):
        step()
    result = {"seconds": statistics.median(step() for _ in range(steps))}
    return {**result, "first_step_seconds": first} if compiled else result


GPU_SIZED = {"cifar10_resnet18", *COMPILE_NETS}  # minutes on a CPU: asked for by name
GROUPS = {  # the ways timed in each pair, per model
    "mlp": ["raw", "lightning", "proj", *(f"proj_{name}" for name in VARIANTS)],
    "cnn": ["raw", "lightning", "proj"],
    "cifar2_net": ["raw", "proj"],
    "cifar10_resnet18": ["raw", "lightning", "proj"],
    "folder": list(FOLDER_WAYS),
    **{name: ["eager", "compiled"] for name in COMPILE_NETS},
}
RATIOS = {  # name: (numerator, denominator), each a `<group>_<way>` time of the same pair
    **{
        name: (f"{group}_{top}", f"{group}_{bottom}")
        for group in ("mlp", "cnn", "cifar2_net", "cifar10_resnet18")
        for name, top, bottom in (
            (f"{group}_overhead_ratio", "proj", "raw"),
            (f"{group}_lightning_ratio", "lightning", "raw"),
            (f"{group}_proj_over_lightning", "proj", "lightning"),
        )
    },
    "inmemory_speedup": ("mlp_per_sample", "mlp_proj"),
    "folder_speedup": ("folder_baseline", "folder_proj"),
    "folder_later_speedup": ("folder_baseline", "folder_proj_later"),
    # above 1: the compiled step is faster by that factor
    "compile_cnn_speedup": ("compile_cnn_eager", "compile_cnn_compiled"),
    "compile_resnet18_speedup": ("compile_resnet18_eager", "compile_resnet18_compiled"),
    # above 1: proj's default is faster by that factor; below 1: the feature costs that share
    **{f"mlp_{name}_ratio": (f"mlp_proj_{name}", "mlp_proj") for name in VARIANTS},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="steady-state windows (< 10 min)")
    parser.add_argument("--pairs", type=int, default=5, help="rounds of fresh processes")
    parser.add_argument(
        "--groups",
        nargs="+",
        choices=[*GROUPS, "compile"],
        default=[g for g in GROUPS if g not in GPU_SIZED],
        help="compile: both compile_* groups; these and cifar10_resnet18 are not in the "
        "default set (minutes each on a CPU)",
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--data_dir", default="data", help="Fashion-MNIST's folder")
    parser.add_argument("--cifar_dir", default="data", help=f"the folder holding {CIFAR_FOLDER}/")
    parser.add_argument("--photos", type=int, default=2000, help="JPEGs in the image folder")
    parser.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default="cpu",
        help="where the models train (the image folder is always the CPU's)",
    )
    parser.add_argument(
        "--quick_steps", type=int, help="end of every --quick window (a smoke test)"
    )
    parser.add_argument("--val_size", type=int, help="held-out images of every model (small data)")
    parser.add_argument(
        "--worker", nargs=3, metavar=("WAY", "MODEL", "LIMIT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if "compile" in args.groups:
        args.groups = [g for g in args.groups if g != "compile"] + list(COMPILE_NETS)

    global DEVICE
    DEVICE = args.device
    for spec in MODELS.values():
        spec["quick_steps"] = args.quick_steps or spec["quick_steps"]
        spec["val_size"] = args.val_size or spec["val_size"]
    if args.worker:
        way, model, limit = args.worker
        data_dir = args.cifar_dir if model.startswith("cifar") else args.data_dir
        worker(way, model, data_dir, int(limit) or None)
        return 0

    with tempfile.TemporaryDirectory() as scratch:
        cifar_data = "real"
        cifar = any(group.startswith("cifar") for group in args.groups)
        if cifar and not (Path(args.cifar_dir) / CIFAR_FOLDER).is_dir():
            print(f"no {CIFAR_FOLDER}/ in {args.cifar_dir}: timing CIFAR on a stand-in",
                  file=sys.stderr)  # fmt: skip
            write_standin_cifar10(Path(scratch))
            args.cifar_dir, cifar_data = scratch, "stand-in (random pixels, real sizes)"
        args.folder_dir = Path(scratch) / "photos"
        if "folder" in args.groups:
            write_photo_folder(args.folder_dir, args.photos)
        times = measure(args)
        photo_kb = _mean_file_kb(args.folder_dir)
    report(times, args, cifar_data, photo_kb)
    return 0


def _mean_file_kb(folder: Path) -> float | None:
    sizes = [f.stat().st_size for f in folder.rglob("*.jpg")]
    return round(statistics.mean(sizes) / 1024, 1) if sizes else None


def measure(args: argparse.Namespace) -> dict[str, list[float]]:
    """Seconds of each `<group>_<way>`, one per pair. Within a pair each group's ways run
    back to back, each in a fresh process, in reverse order every other pair."""
    times: dict[str, list[float]] = {}
    for pair in range(args.pairs):
        for group in args.groups:
            ways = GROUPS[group] + (["per_sample"] if group == "mlp" and not args.quick else [])
            for way in ways if pair % 2 == 0 else ways[::-1]:
                for key, seconds in run_worker(args, way, group).items():
                    times.setdefault(key, []).append(seconds)
            print(f"pair {pair + 1}/{args.pairs} {group}: " + ", ".join(
                f"{way} {times[f'{group}_{way}'][-1]:.2f} s" for way in ways
            ), file=sys.stderr)  # fmt: skip
    return times


def run_worker(args: argparse.Namespace, way: str, group: str) -> dict[str, float]:
    """`{<group>_<way>: seconds, ...}` from one fresh process."""
    limit = MODELS[group]["quick_steps"] if args.quick and group in MODELS else 0
    data_dir = str(args.folder_dir) if group == "folder" else args.data_dir
    command = [sys.executable, __file__, "--data_dir", data_dir, "--cifar_dir", args.cifar_dir,
               "--device", args.device, "--worker", way, group, str(limit)]  # fmt: skip
    if args.val_size:
        command += ["--val_size", str(args.val_size)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{way} {group} failed:\n{done.stderr[-3000:]}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    suffixes = {"seconds": "", "later_seconds": "_later", "first_step_seconds": "_first_step"}
    return {f"{group}_{way}{suffixes[key]}": value for key, value in measured.items()}


def report(
    times: dict[str, list[float]], args: argparse.Namespace, cifar_data: str, photo_kb
) -> None:
    """Medians of the times; each ratio the median of its per-pair ratios, with their
    (min, max) as `<name>_spread`."""
    result: dict = {"pairs": args.pairs, "quick": args.quick, "device": args.device}
    for name, (top, bottom) in RATIOS.items():
        if top in times and bottom in times:
            ratios = [a / b for a, b in zip(times[top], times[bottom], strict=True)]
            result[name] = round(statistics.median(ratios), 3)
            result[f"{name}_spread"] = [round(min(ratios), 3), round(max(ratios), 3)]
    result.update({f"{key}_seconds": round(statistics.median(v), 3) for key, v in times.items()})
    for way in ("decode", "baseline", "proj", "proj_later"):
        if f"folder_{way}" in times:
            seconds = statistics.median(times[f"folder_{way}"])
            result[f"folder_{way}_images_per_second"] = round(args.photos / seconds, 1)
    result.update(
        cifar_data=cifar_data,
        photos=args.photos if "folder" in args.groups else None,
        photo_mean_kb=photo_kb,
        folder_workers=_folder_workers(),
        cpu=cpu_description(),
        torch=torch.__version__,
        threads=torch.get_num_threads(),
    )
    print(render(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


def render(result: dict) -> str:
    """The ratios as a Markdown table: median and (min-max) over the pairs."""
    lines = [f"{result['pairs']} pairs of fresh processes; CPU: {result['cpu']}", "",
             "| ratio | median | min - max |", "|---|---|---|"]  # fmt: skip
    for name in RATIOS:
        if name in result:
            low, high = result[f"{name}_spread"]
            lines.append(f"| {name} | {result[name]:.3f} | {low:.3f} - {high:.3f} |")
    for way in ("decode", "baseline", "proj", "proj_later"):
        key = f"folder_{way}_images_per_second"
        if key in result:
            lines.append(f"folder {way}: {result[key]:.0f} images/s")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
