"""A trained classifier as a self-contained network for deployment: torch.export's `.pt2`,
ONNX through the dynamo exporter built on it, and TorchScript (deprecated by torch) on request.

The exported network takes float images in [0, 1], (B, C, H, W) at the size the net was
trained on, and returns logits (B, num_classes): the DataModule's normalisation is folded
in, so a deployment needs no mean/std of its own. A `model.json` beside the files names
the classes and the input shape.
"""

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from jsonargparse import Namespace
from torch import nn

from proj.data.batch_transforms import denormalize
from proj.data.transform_lists import check_foldable
from proj.errors import ConfigError
from proj.runs import experiment_name
from proj.tasks import ImageClassifier
from proj.tasks.tta import TTA, tta_averaged
from proj.trusted_checkpoint import build_checked, checked_config, run_config


class NormalizedNet(nn.Module):
    """`net((images - mean) / std)`: the normalisation the DataModule did, inside the model;
    with `tta`, averaged over the transformed images' logits as the classifier evaluates."""

    def __init__(
        self,
        net: nn.Module,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        tta: Sequence[TTA] = (),
    ) -> None:
        super().__init__()
        self.net = net
        self.tta = tuple(tta)
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        normalized = (images - self.mean) / self.std
        return tta_averaged(self.net, normalized, self.tta) if self.tta else self.net(normalized)


def normalization(datamodule: L.LightningDataModule) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The (mean, std) the set-up DataModule normalises with; (0, 1) when it does not."""
    return getattr(datamodule, "normalization", None) or ((0.0,), (1.0,))


def load_deployable(
    checkpoint: str | Path, config_files: Sequence[str | Path] = ()
) -> tuple[L.LightningModule, L.LightningDataModule, NormalizedNet]:
    """(module, set-up DataModule, deployable net) of an image classifier's checkpoint, as
    its run folder's config.yaml (else `config_files`) builds them: what scripts/export.py
    and `proj serve --ckpt_path` both start from."""
    config, state = checked_servable(checkpoint, config_files)
    module, datamodule = build_checked(checkpoint, config, state)
    if datamodule is None:
        raise ConfigError("the config has no data entry: export and serve need the DataModule")
    check_foldable(getattr(datamodule, "eval_transforms", None))
    datamodule.setup("test")  # CSV datasets learn their normalisation here
    return module, datamodule, deployable(module, datamodule)


SERVABLE = ("proj.tasks.ImageClassifier", "proj.tasks.classifier.ImageClassifier")


def checked_servable(
    checkpoint: str | Path, config_files: Sequence[str | Path] = ()
) -> tuple[Namespace, dict[str, Any]]:
    """checked_config's (config, checkpoint), refused also when it is not an ImageClassifier's:
    export and serve take one. Judged from the class paths recorded, before anything is
    imported or built (a stranger's class path first, as trusted_checkpoint says it)."""
    config, state = checked_config(checkpoint, config_files)
    made_by = state.get("hyper_parameters", {}).get("_class_path")
    if made_by not in SERVABLE:
        what = repr(made_by) if made_by else "a LightningModule that records no class path"
        raise ConfigError(
            f"{checkpoint}: made by {what}; export and serve take a proj.tasks.ImageClassifier (a net from "
            "images to class logits)"
        )
    return config, state


def deployable(module: L.LightningModule, datamodule: L.LightningDataModule) -> NormalizedNet:
    """The module's net with its evaluation as the DataModule (set up: CSV datasets learn
    their normalisation in setup) feeds it."""
    if not isinstance(module, ImageClassifier):
        cls = type(module)
        raise ConfigError(
            f"{cls.__module__}.{cls.__qualname__} is not a proj.tasks.ImageClassifier: export "
            "and serve take an image classifier (a net from images to class logits)"
        )
    mean, std = normalization(datamodule)
    return NormalizedNet(module.net, mean, std, tta=getattr(module, "tta", ())).eval()


def real_inputs(
    datamodule: L.LightningDataModule, batches: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(normalised batch the module sees, [0, 1] batch the export sees) from the test split
    of the set-up DataModule."""
    mean, std = normalization(datamodule)
    pairs = []
    for i, batch in enumerate(datamodule.test_dataloader()):
        if i == batches:
            break
        images, _ = datamodule.on_after_batch_transfer(batch, 0)
        pairs.append((images, denormalize(images, mean, std)))
    return pairs


def exported_program(model: nn.Module, example: torch.Tensor) -> torch.export.ExportedProgram:
    """The network as a graph with a dynamic batch dimension (any batch size from 1)."""
    batch = torch.export.Dim("batch", min=1)
    return torch.export.export(model, (example,), dynamic_shapes={"images": {0: batch}})


def export_pt2(model: nn.Module, example: torch.Tensor, path: Path) -> Any:
    """`torch.export.save`; returns the module `torch.export.load` gives back from the file."""
    torch.export.save(exported_program(model, example), str(path))
    return torch.export.load(str(path)).module()


def export_onnx(
    model: nn.Module,
    example: torch.Tensor,
    path: Path,
    names: tuple[str, str] = ("images", "logits"),
) -> Any:
    """The exported program through the dynamo ONNX exporter, its input and output named
    `names`; returns an onnxruntime session on the written file."""
    try:
        import onnxruntime
    except ImportError as err:
        raise ImportError("ONNX export needs the extra: pip install -e '.[export]'") from err
    torch.onnx.export(
        exported_program(model, example),
        f=str(path),
        input_names=[names[0]],
        output_names=[names[1]],
        external_data=False,
        verbose=False,
    )
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def export_torchscript(model: nn.Module, example: torch.Tensor, path: Path) -> Any:
    """Traced; torch deprecates TorchScript, but C++ and mobile deployments still load it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="torch.jit")
        traced = torch.jit.trace(model, example)
        torch.jit.save(traced, str(path))
        return torch.jit.load(str(path))


def recorded_experiment(checkpoint: str | Path) -> str | None:
    """The experiment of the run folder the checkpoint lies in, from its config.yaml."""
    recorded = run_config(checkpoint)
    return experiment_name([recorded]) if recorded else None


def write_model_card(
    path: Path,
    model: NormalizedNet,
    datamodule: L.LightningDataModule,
    example: torch.Tensor,
    checkpoint: Path,
) -> None:
    card = {
        "checkpoint": str(checkpoint),
        # what `proj serve --export` names the model under /v2/models/ ('/' as '_')
        "experiment": recorded_experiment(checkpoint),
        "input": {"shape": ["batch", *example.shape[1:]], "dtype": "float32", "range": [0, 1]},
        "output": "logits (batch, num_classes); softmax gives class probabilities",
        "normalization_folded_in": dict(
            zip(("mean", "std"), normalization(datamodule), strict=True)
        ),
        "class_names": list(getattr(datamodule, "class_names", ())),
        "tta": list(getattr(model, "tta", ())),
    }
    path.write_text(json.dumps(card, indent=2) + "\n")
