"""What the server runs: a checkpoint (PyTorch) or an export folder (ONNX Runtime).

Both take float32 images in [0, 1], (B, C, H, W) at the trained size, with the
DataModule's normalisation folded in, and return class probabilities (B, K).
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# One thread for the model: the event loop (HTTP, decoding) needs a core of its own. On 2
# cores, 1 model thread served 451-646 requests/s against 319-551 with 2 (same CNN, same
# load, batching off-on; scripts/serve_benchmark.py's client).
MODEL_THREADS = 1


@dataclass
class Predictor:
    """The model and what a client needs to know about it."""

    run: Any  # (B, C, H, W) float32 in [0, 1] -> (B, K) logits, as a NumPy array
    class_names: list[str]
    input_shape: tuple[int, int, int]  # (C, H, W)
    normalization: dict[str, list[float]]
    metadata: dict[str, Any] = field(default_factory=dict)  # path, sha256, test accuracy

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        logits = np.asarray(self.run(images), dtype=np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)


def from_export(folder: str | Path) -> Predictor:
    """`model.onnx` + `model.json` as scripts/export.py writes them, on ONNX Runtime."""
    import onnxruntime

    folder = Path(folder)
    card = json.loads((folder / "model.json").read_text())
    path = folder / "model.onnx"
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = MODEL_THREADS
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(images: np.ndarray) -> np.ndarray:
        return session.run(None, {name: images.astype(np.float32, copy=False)})[0]

    checkpoint = Path(card.get("checkpoint", ""))
    return Predictor(
        run=run,
        class_names=list(card["class_names"]),
        input_shape=tuple(card["input"]["shape"][1:]),
        normalization=card["normalization_folded_in"],
        metadata=_described(path, checkpoint.parent.parent if checkpoint.name else None),
    )


def from_checkpoint(checkpoint: str | Path, config_files: Sequence[str] = ()) -> Predictor:
    """A Lightning checkpoint: module and DataModule as its run folder's config.yaml (else
    `config_files`) builds them, evaluated as `predict`."""
    import torch

    from proj.export import load_deployable, normalization

    torch.set_num_threads(MODEL_THREADS)
    checkpoint = Path(checkpoint)
    _, datamodule, net = load_deployable(checkpoint, config_files)
    example, _ = next(iter(datamodule.test_dataloader()))
    images = datamodule.on_after_batch_transfer(example[:1], 0)  # (1, C, H, W) as the net sees
    mean, std = normalization(datamodule)

    @torch.inference_mode()
    def run(images: np.ndarray) -> np.ndarray:
        return net(torch.from_numpy(images)).float().numpy()

    return Predictor(
        run=run,
        class_names=list(datamodule.class_names),
        input_shape=tuple(images.shape[1:]),
        normalization={"mean": list(mean), "std": list(std)},
        metadata=_described(checkpoint, checkpoint.parent.parent),
    )


def _described(path: Path, run: Path | None) -> dict[str, Any]:
    """The file's sha256, and the run's test accuracy from its metrics.json when known."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    described: dict[str, Any] = {"path": str(path), "sha256": digest.hexdigest()}
    metrics = run / "metrics.json" if run else None
    if metrics and metrics.is_file():
        test = json.loads(metrics.read_text()).get("test") or {}
        if "test/acc" in test:
            described["test_acc"] = test["test/acc"]
    return described
