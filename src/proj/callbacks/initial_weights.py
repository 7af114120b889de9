"""Where a fit starts from: an initialisation scheme and/or a weights file, for any net."""

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from proj.errors import ConfigError
from proj.models.init import SCHEMES, initialize
from proj.weights import load_matching


class InitialWeights(Callback):
    """Re-initialises the task's `net`, then loads a weights file into it, when a fit sets up.

    A callback rather than task arguments: it runs in `setup`, before Lightning restores a
    checkpoint, so a resumed fit continues from its checkpoint, and testing or serving a
    checkpoint never needs the weights file again.

    Args:
        init: A scheme of proj.models.init: 'course' (lesson 7's recipe), kaiming_normal,
            xavier_uniform, ...; None keeps the net's own initialisation.
        init_options: Options of that scheme, e.g. {nonlinearity: relu}.
        pretrained: A weights file or checkpoint loaded into the net (matching tensors only,
            with a report of the rest).
    """

    def __init__(
        self,
        init: str | None = None,
        init_options: dict[str, Any] | None = None,
        pretrained: str | None = None,
    ) -> None:
        if init is not None and init != "course" and init not in SCHEMES:
            raise ConfigError(
                f"InitialWeights.init: unknown scheme {init!r}; expected 'course' or one of "
                f"{sorted(SCHEMES)}"
            )
        self.init = init
        self.init_options = dict(init_options or {})
        self.pretrained = pretrained

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        net = getattr(pl_module, "net", pl_module)
        if self.init is not None:
            initialize(net, self.init, **self.init_options)
        if self.pretrained is not None:
            load_matching(net, self.pretrained)
