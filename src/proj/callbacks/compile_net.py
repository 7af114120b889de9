"""torch.compile for the net, opt-in (`--config configs/trainer/compile.yaml`), timed.

Measured on this project's CPUs, a compiled FashionCNN step was slower than eager and the
first compile took ~40 s (docs/performance.md), so it is off by default; on a GPU it may
pay. The net is compiled in place (`nn.Module.compile`): its parameter names stay plain,
so checkpoints, resume, EMA, export and serve see the net as if it had never been compiled.
"""

import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn


@dataclass
class CompileOptions:
    """What torch.compile is given: `compile.mode`, `compile.dynamic`, ..."""

    mode: Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"] = (
        "default"
    )
    dynamic: bool | None = None
    fullgraph: bool = False
    backend: str = "inductor"


class CompileNet(Callback):
    """Compiles `pl_module.net` when the first loop starts (after fit's start, where the
    graph view traces the plain net); the first training step, where the compilation
    happens, is timed once as `compile_seconds` (printed, and in metrics.json)."""

    def __init__(self, options: CompileOptions) -> None:
        self.options = options
        self.compile_seconds: float | None = None
        self._started: float | None = None
        self._done = False

    def _compile(self, pl_module: L.LightningModule) -> None:
        if self._done:
            return
        self._done = True
        net = getattr(pl_module, "net", None)
        if not isinstance(net, torch.nn.Module):
            rank_zero_warn("compile: the model has no `net` module; nothing is compiled")
            return
        net.compile(**asdict(self.options))

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._compile(pl_module)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._compile(pl_module)

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._compile(pl_module)

    def on_predict_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._compile(pl_module)

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self._started is None:
            self._started = time.perf_counter()

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if self.compile_seconds is not None or self._started is None:
            return
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize(pl_module.device)
        self.compile_seconds = time.perf_counter() - self._started
        rank_zero_info(
            f"compile: the first training step, compiling the net ({self.options.mode}, "
            f"{self.options.backend}), took {self.compile_seconds:.1f} s"
        )

    def summary_extras(self) -> dict[str, Any]:
        return {} if self.compile_seconds is None else {"compile_seconds": self.compile_seconds}
