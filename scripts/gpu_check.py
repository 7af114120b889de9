"""The checks to run on a GPU machine, in one command sized for a 10-minute call.

    python scripts/gpu_check.py --json $OUT/gpu.json

1. Whole fits of `configs/fashion_mnist/fast.yaml`, `best.yaml` and `best_long.yaml`
   with `configs/trainer/gpu.yaml`: the precision the rule chose, fit seconds and test
   accuracy, read from each run's metrics.json.
2. What the non-finite-loss guard's host sync costs: the same training steps with no
   check, with `torch.isfinite(loss)` read as a bool every step (a device-to-host sync,
   as `proj.tasks.divergence.guard_loss` does), and with the flag kept on the device and
   read every `--every` steps.
3. The benchmark pairs on the device: `scripts/benchmark.py --quick --device cuda` for
   `--groups` (default: the MLP with each per-step variant, FashionCNN, ResNet-18 at
   32x32 on a CIFAR-10 stand-in, raw / bare Lightning / proj; and compile on and off),
   fresh processes, ratios with their spread.

The JSON is rewritten after each part and each benchmark group, so a run cut short keeps
what it finished (on a 2-core CPU one pair of every group with 4-step windows took 6 min,
mostly process start-up and compiling). Without a GPU it runs the same parts on the CPU
(`--device cpu`, which the tests use with a few steps), so the script is known to work
before a GPU is lent.
"""

import argparse
import functools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
FITS = ("fast", "best", "best_long")  # configs/fashion_mnist/<name>.yaml
GROUPS = ("mlp", "cnn", "cifar10_resnet18", "compile")  # scripts/benchmark.py's


def benchmark_pairs(args, group: str) -> dict:
    """One of scripts/benchmark.py's groups on the device, in pairs of fresh processes."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "b.json"
        command = [sys.executable, str(REPO / "scripts" / "benchmark.py"), "--quick",
                   "--groups", group, "--pairs", str(args.pairs), "--device", args.device,
                   "--data_dir", args.data_dir, "--json", str(out)]  # fmt: skip
        if args.steps:
            command += ["--quick_steps", str(args.steps), "--val_size", "64"]
        _run(command)
        return json.loads(out.read_text())


def fit(args, name: str) -> dict:
    """A shipped config's whole fit and test, on the GPU with configs/trainer/gpu.yaml."""
    configs = [f"configs/fashion_mnist/{name}.yaml"]
    if args.device == "cuda":
        configs.append("configs/trainer/gpu.yaml")
    with tempfile.TemporaryDirectory() as logs:
        command = [sys.executable, "-m", "proj", "fit"]
        for config in configs:  # first: the overrides below win over them
            command += ["--config", str(REPO / config)]
        command += ["--logs_dir", logs, "--data.init_args.data_dir", args.data_dir,
                    "--trainer.enable_progress_bar", "false"]  # fmt: skip
        if args.steps:  # a smoke test: one short epoch, validated
            command += ["--trainer.max_epochs", "1", "--trainer.check_val_every_n_epoch", "1",
                        "--trainer.limit_train_batches", str(args.steps),
                        "--trainer.limit_val_batches", "2", "--trainer.limit_test_batches", "2",
                        "--data.init_args.val_size", "64"]  # fmt: skip
        _run(command)
        metrics = json.loads(next(Path(logs).rglob("metrics.json")).read_text())
    epochs = metrics["train_epoch_seconds"]
    return {
        "precision": metrics["precision"],
        "fit_seconds": metrics["fit_seconds"],
        "epochs": len(epochs),
        "median_epoch_seconds": statistics.median(epochs),
        "test_acc": metrics["test"]["test/acc"],
    }


def guard_sync(args) -> dict:
    """Milliseconds per training step of FashionCNN at batch 256: no check, a host sync
    every step, a device-side flag read every `--every` steps."""
    from proj.models import FashionCNN

    device = torch.device(args.device)
    net = FashionCNN(width=32, hidden=128).to(device)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
    images = torch.randn(256, 1, 28, 28, device=device)
    labels = torch.randint(0, 10, (256,), device=device)
    loss_fn = nn.CrossEntropyLoss()
    steps = args.steps or 200

    def run(check: str) -> float:
        bad = torch.zeros((), dtype=torch.bool, device=device)
        _sync(device)
        start = time.perf_counter()
        for step in range(steps):
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(net(images), labels)
            if check == "every_step" and not torch.isfinite(loss):  # the sync
                raise RuntimeError("non-finite loss")
            if check == "every_n":
                bad |= ~torch.isfinite(loss)
                if (step + 1) % args.every == 0 and bool(bad):
                    raise RuntimeError("non-finite loss")
            loss.backward()
            optimizer.step()
        _sync(device)
        return (time.perf_counter() - start) / steps * 1000

    run("none")  # warm-up: kernels chosen, memory allocated
    result = {}
    for _ in range(3):  # interleaved, medians
        for check in ("none", "every_step", "every_n"):
            result.setdefault(check, []).append(run(check))
    ms = {check: sorted(values)[1] for check, values in result.items()}
    return {
        "ms_per_step_no_check": round(ms["none"], 3),
        "ms_per_step_sync_every_step": round(ms["every_step"], 3),
        f"ms_per_step_flag_every_{args.every}": round(ms["every_n"], 3),
        "sync_every_step_ratio": round(ms["every_step"] / ms["none"], 3),
    }


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr[-3000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = "cuda" if torch.cuda.is_available() else "cpu"
    parser.add_argument("--device", choices=["cuda", "cpu"], default=default)
    parser.add_argument("--json", type=Path, default=Path("gpu_check.json"))
    parser.add_argument("--data_dir", default="data", help="Fashion-MNIST's folder")
    parser.add_argument("--pairs", type=int, default=2, help="benchmark pairs")
    parser.add_argument("--groups", nargs="+", default=GROUPS, help="benchmark groups")
    parser.add_argument("--fits", nargs="*", choices=FITS, default=FITS, help="configs to fit")
    parser.add_argument("--every", type=int, default=50, help="steps between flag reads")
    parser.add_argument(
        "--steps", type=int, help="a smoke test: this many steps each, 64 held-out images"
    )
    args = parser.parse_args(argv)

    result: dict = {"device": args.device, "torch": torch.__version__}
    if args.device == "cuda":
        result.update(gpu=torch.cuda.get_device_name(), cuda=torch.version.cuda)
    parts = {
        "fits": lambda: {name: fit(args, name) for name in args.fits},
        "guard": lambda: guard_sync(args),
        **{group: functools.partial(benchmark_pairs, args, group) for group in args.groups},
    }
    for part, measure in parts.items():  # most wanted first
        start = time.perf_counter()
        measured = measure()
        if part in args.groups:  # its keys are named after the group: one dict for all
            result.setdefault("benchmark", {}).update(measured)
        else:
            result[part] = measured
        result[f"{part}_wall_seconds"] = round(time.perf_counter() - start, 1)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"{part}: {json.dumps(measured)}", file=sys.stderr, flush=True)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
