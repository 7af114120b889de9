"""A Triton Inference Server model folder for the ONNX Runtime backend, so the export that
`proj serve` runs can move to Triton (or KServe with Triton) unchanged for its clients.

    <repository>/<name>/config.pbtxt   inputs, outputs, batching, the label file
    <repository>/<name>/labels.txt     one class name a line: the classification extension
    <repository>/<name>/1/model.onnx   "input" FP32 [-1, C, H, W] in [0, 1] -> "probabilities"

The names, datatypes and shapes are those of `proj serve`'s FP32 input under /v2, so a
tritonclient program written against one runs against the other. (The BYTES `image`
input is proj's own preprocessing; Triton would need a Python backend for it.)
"""

import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from proj.export import NormalizedNet, export_onnx


class ProbabilitiesNet(nn.Module):
    """Softmax over the deployable net's logits: what the server's `probabilities` are."""

    def __init__(self, net: NormalizedNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images).softmax(dim=1)


def config_pbtxt(
    name: str,
    input_shape: tuple[int, ...],
    num_classes: int,
    max_batch_size: int,
    batch_delay_us: int,
) -> str:
    """Triton's model configuration (protobuf text format); dims leave out the batch."""
    dims = ", ".join(str(d) for d in input_shape)
    return f"""name: "{name}"
backend: "onnxruntime"
max_batch_size: {max_batch_size}
input [
  {{
    name: "input"
    data_type: TYPE_FP32
    dims: [ {dims} ]
  }}
]
output [
  {{
    name: "probabilities"
    data_type: TYPE_FP32
    dims: [ {num_classes} ]
    label_filename: "labels.txt"
  }}
]
dynamic_batching {{
  max_queue_delay_microseconds: {batch_delay_us}
}}
"""


def write_triton_model(
    repository: Path,
    name: str,
    model: NormalizedNet,
    example: torch.Tensor,
    class_names: list[str],
    max_batch_size: int = 32,
    batch_delay_us: int = 5000,
) -> tuple[Path, Any]:
    """Writes `<repository>/<name>/`; returns its folder and an onnxruntime session on its
    model.onnx (to check it against PyTorch)."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or not class_names:
        raise ValueError(f"a Triton model needs class names and a name of [A-Za-z0-9_.-]: {name!r}")
    folder = repository / name
    (folder / "1").mkdir(parents=True, exist_ok=True)
    session = export_onnx(
        ProbabilitiesNet(model).eval(),
        example,
        folder / "1" / "model.onnx",
        names=("input", "probabilities"),
    )
    (folder / "labels.txt").write_text("".join(f"{label}\n" for label in class_names))
    config = config_pbtxt(
        name, tuple(example.shape[1:]), len(class_names), max_batch_size, batch_delay_us
    )
    (folder / "config.pbtxt").write_text(config)
    return folder, session
