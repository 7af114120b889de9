"""Loading pretrained weights safely and partially: what matches is loaded, the rest reported."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from proj.errors import CheckpointError, brief

log = logging.getLogger(__name__)

# Prefixes a saved state_dict may carry around the same module: Lightning checkpoints of
# this project (`net.`, and `net.backbone.` for a TorchvisionNet's torchvision part),
# other LightningModules (`model.`), DataParallel/DDP (`module.`).
_PREFIXES = ("", "net.", "net.backbone.", "backbone.", "model.", "module.")


@dataclass
class MatchReport:
    """Which tensors of a weights file went into the model, and why the others did not."""

    source: str
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # in the model, not in the file
    unexpected: list[str] = field(default_factory=list)  # in the file, not in the model
    shape_mismatched: list[str] = field(default_factory=list)  # same name, other shape

    def summary(self) -> str:
        lines = [f"{self.source}: loaded {len(self.loaded)} tensors"]
        for name in ("missing", "unexpected", "shape_mismatched"):
            names = getattr(self, name)
            if names:
                shown = ", ".join(names[:8]) + (
                    f", ... ({len(names)} in all)" if len(names) > 8 else ""
                )
                lines.append(f"  {name.replace('_', ' ')}: {shown}")
        return "\n".join(lines)


def read_state_dict(source: str | Path) -> dict[str, torch.Tensor]:
    """A state_dict from a weights file or a Lightning checkpoint, loaded weights_only."""
    try:
        loaded = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"{source} cannot be loaded as weights ({brief(err)}). Weights are read with "
            "weights_only=True, so a file holding pickled Python objects (which could run "
            "code) is refused, as is a truncated or non-PyTorch file. Save weights with "
            "torch.save(model.state_dict(), path)."
        ) from err
    state = loaded.get("state_dict", loaded) if isinstance(loaded, Mapping) else None
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise CheckpointError(f"{source} holds no state_dict (a mapping of names to tensors)")
    return dict(state)


def load_matching(model: nn.Module, source: str | Path | Mapping[str, torch.Tensor]) -> MatchReport:
    """Copy into `model` every tensor of `source` whose name and shape match; report the rest.

    The course's partial loading (lesson 8), with the prefix of a wrapping module stripped
    when that makes more names match.
    """
    state = read_state_dict(source) if isinstance(source, str | Path) else dict(source)
    target = model.state_dict()
    prefix = max(
        _PREFIXES, key=lambda p: sum(k[len(p) :] in target for k in state if k.startswith(p))
    )
    state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    report = MatchReport(str(source) if isinstance(source, str | Path) else "state_dict")
    for name, tensor in state.items():
        if name not in target:
            report.unexpected.append(name)
        elif tensor.shape != target[name].shape:
            report.shape_mismatched.append(
                f"{name} {tuple(tensor.shape)} vs {tuple(target[name].shape)}"
            )
        else:
            report.loaded.append(name)
    report.missing = [name for name in target if name not in state]
    model.load_state_dict({name: state[name] for name in report.loaded}, strict=False)
    log.info(report.summary())
    return report
