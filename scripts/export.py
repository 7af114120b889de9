"""Export a trained classifier with torch.export and to ONNX, and check them against PyTorch.

    python scripts/export.py --config configs/fashion_mnist/mlp.yaml --ckpt_path best

`--ckpt_path` is a checkpoint file or `best`/`last` of the config's experiment (as in
`python -m proj test --ckpt_path best`). The files go to `<run>/export/` (or `--out`):
`model.pt2` (`torch.export.load(path).module()` runs it), `model.onnx` (through the dynamo
exporter) and `model.json`; `--formats ... torchscript` adds `model.torchscript.pt`
(TorchScript is deprecated by torch; left out by default); `--triton` adds a Triton
model folder, `<out>/triton/<name>/` (config.pbtxt, labels.txt, 1/model.onnx, which
returns probabilities). The exported network takes float images in [0, 1], any batch
size, and returns logits; the normalisation is folded in. Each export is run on real
test batches and its largest absolute difference to PyTorch's logits printed; above
`--tolerance` the script fails. ONNX needs the `export` extra.
"""

import argparse
import sys
from pathlib import Path

import torch

import proj.data
import proj.tasks  # noqa: F401
from proj.errors import ProjError
from proj.export import (
    export_onnx,
    export_pt2,
    export_torchscript,
    load_deployable,
    real_inputs,
    recorded_experiment,
    write_model_card,
)
from proj.script_args import add_run_arguments, resolved_checkpoint
from proj.serve.open_inference import model_name
from proj.triton_model import write_triton_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt_path", required=True, help="checkpoint file, or best / last")
    add_run_arguments(parser)
    parser.add_argument("--out", type=Path, help="default: <run folder>/export")
    parser.add_argument(
        "--formats", nargs="+", choices=["pt2", "onnx", "torchscript"], default=["pt2", "onnx"]
    )
    parser.add_argument("--batches", type=int, default=4, help="real test batches to compare on")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument(
        "--triton",
        action="store_true",
        help="also a Triton model folder, <out>/triton/<name>/ (ONNX Runtime backend)",
    )
    parser.add_argument("--model_name", help="its name there (default: the experiment, '/' as '_')")
    args = parser.parse_args(argv)

    checkpoint = resolved_checkpoint(parser, args)
    print(f"checkpoint: {checkpoint}")

    try:
        module, datamodule, model = load_deployable(checkpoint, args.config)
    except ProjError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    pairs = real_inputs(datamodule, args.batches)
    out = args.out or checkpoint.parent.parent / "export"
    out.mkdir(parents=True, exist_ok=True)
    example = pairs[0][1][:2]  # a batch of 2: torch.export specialises a size of 1

    exporters = {
        "pt2": (out / "model.pt2", export_pt2),
        "onnx": (out / "model.onnx", export_onnx),
        "torchscript": (out / "model.torchscript.pt", export_torchscript),
    }
    worst = 0.0
    for name in args.formats:
        path, export = exporters[name]
        exported = export(model, example, path)
        run = _onnx_runner(exported, "images") if name == "onnx" else exported
        diff = _largest_difference(pairs, module, run)
        worst = max(worst, diff)
        count = sum(len(raw) for _, raw in pairs)
        print(f"{name:11} {path}  max |exported - pytorch| = {diff:.2e} on {count} test images")
    write_model_card(out / "model.json", model, datamodule, example, checkpoint)
    if args.triton:
        names = list(getattr(datamodule, "class_names", ()))
        worst = max(worst, _triton(args, out, checkpoint, names, module, model, pairs))
    if worst > args.tolerance:
        print(f"error: exported outputs differ by {worst:.2e} > --tolerance {args.tolerance}")
        return 1
    return 0


def _triton(args, out, checkpoint, class_names, module, model, pairs) -> float:
    """Writes the Triton model folder; the largest difference of its probabilities to
    PyTorch's softmax over the same test images."""
    name = args.model_name or model_name(recorded_experiment(checkpoint))
    example = pairs[0][1][:2]
    folder, session = write_triton_model(out / "triton", name, model, example, class_names)
    diff = _largest_difference(
        pairs, lambda normalized: module(normalized).softmax(dim=1), _onnx_runner(session, "input")
    )
    print(f"{'triton':11} {folder}/  max |probabilities - pytorch| = {diff:.2e}")
    return diff


def _onnx_runner(session, input_name: str):
    return lambda raw: torch.from_numpy(session.run(None, {input_name: raw.numpy()})[0])


def _largest_difference(pairs, expected, got) -> float:
    """max |got(raw) - expected(normalized)| over the real test batches."""
    diff = 0.0
    with torch.no_grad():
        for normalized, raw in pairs:
            diff = max(diff, float((got(raw) - expected(normalized)).abs().max()))
    return diff


if __name__ == "__main__":
    sys.exit(main())
