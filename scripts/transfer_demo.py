"""Transfer learning that runs offline: pretrain on Fashion-MNIST classes 0-4, finetune on 5-9.

No ImageNet weights or CIFAR files can be downloaded here, so the lesson-8 comparison is
made with this project's own FashionCNN: trained on T-shirt/Trouser/Pullover/Dress/Coat,
then moved to Sandal/Shirt/Sneaker/Bag/Ankle boot with few labels per class, four ways:
from scratch, frozen backbone (head only), full finetune, and freeze-then-unfreeze.
Every run is an ordinary `python -m proj fit` run with its own folder under logs/transfer/.

    python scripts/transfer_demo.py                     # writes logs/transfer/results.md
    python scripts/transfer_demo.py --labels 20 100 --epochs 15
"""

import argparse
import json
import sys
from pathlib import Path

from proj.cli import main as proj
from proj.runs import run_dirs

CONFIG = "configs/fashion_mnist/cnn.yaml"
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
FINETUNE = "proj.finetune.Finetuning"
INITIAL_WEIGHTS = "proj.callbacks.InitialWeights"
METHODS = {
    "scratch": [],
    "frozen": [f'--trainer.callbacks+={{"class_path": "{FINETUNE}", "init_args": {{"strategy": "freeze"}}}}'],
    "full": [],
    "freeze_unfreeze": [
        f'--trainer.callbacks+={{"class_path": "{FINETUNE}", "init_args": '
        '{"strategy": "freeze_unfreeze", "unfreeze_at_epoch": 3}}',
        "--model.init_args.lr_mults", '{"backbone.": 0.1}',
    ],
}  # fmt: skip


def newest_metrics(experiment: str) -> dict:
    return json.loads((run_dirs("logs", experiment)[0] / "metrics.json").read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, nargs="+", default=[20, 100], help="per class")
    parser.add_argument("--epochs", type=int, default=15, help="finetuning epochs")
    parser.add_argument("--pretrain_epochs", type=int, default=3)
    args = parser.parse_args(argv)

    proj(["fit", "--config", CONFIG, *QUIET, "--experiment", "transfer/pretrain",
          "--data.init_args.classes", "[0, 1, 2, 3, 4]",
          "--trainer.max_epochs", str(args.pretrain_epochs)])  # fmt: skip
    pretrained = newest_metrics("transfer/pretrain")
    source = pretrained["best_checkpoint"]
    load = json.dumps({"class_path": INITIAL_WEIGHTS, "init_args": {"pretrained": source}})

    rows = []
    for labels in args.labels:
        for method, extra in METHODS.items():
            weights = [] if method == "scratch" else [f"--trainer.callbacks+={load}"]
            experiment = f"transfer/{method}_{labels}"
            proj(["fit", "--config", CONFIG, *QUIET, "--experiment", experiment,
                  "--data.init_args.classes", "[5, 6, 7, 8, 9]",
                  "--data.init_args.train_per_class", str(labels),
                  "--data.init_args.val_size", "1000", "--data.init_args.batch_size", "32",
                  "--trainer.max_epochs", str(args.epochs), *weights, *extra])  # fmt: skip
            result = newest_metrics(experiment)
            rows.append((labels, method, result["test"]["test/acc"], result["fit_seconds"]))

    lines = [
        f"Pretrained on classes 0-4 ({args.pretrain_epochs} epochs, test accuracy "
        f"{pretrained['test']['test/acc']:.4f} on those classes); finetuned on classes 5-9 "
        f"for up to {args.epochs} epochs; test accuracy on the 5,000 test images of classes 5-9.",
        "",
        "| labels per class | method | test acc | fit time |",
        "|---|---|---|---|",
        *(f"| {n} | {m} | {acc:.4f} | {t:.0f} s |" for n, m, acc, t in rows),
    ]
    report = "\n".join(lines)
    Path("logs/transfer").mkdir(parents=True, exist_ok=True)
    Path("logs/transfer/results.md").write_text(report + "\n")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
