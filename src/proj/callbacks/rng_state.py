"""Random number generator states in checkpoints, so a resumed run draws what the original would."""

import random
from typing import Any

import numpy as np
import torch
from lightning.pytorch.callbacks import Callback


class RNGState(Callback):
    """Stores torch (CPU and CUDA), numpy and Python RNG states; restores them on resume.

    Lightning restores weights, optimizer, schedulers and loops but not these, so dropout
    masks and batch augmentation after a resume would differ from an uninterrupted run.
    Everything is stored as tensors and plain Python values, loadable with
    `weights_only=True`. Under DDP the checkpoint holds rank 0's states.
    """

    def state_dict(self) -> dict[str, Any]:
        kind, keys, pos, has_gauss, cached = np.random.get_state()
        version, python_state, gauss = random.getstate()
        return {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached),
            "python": (version, list(python_state), gauss),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        torch.set_rng_state(state_dict["torch"])
        if state_dict["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state_dict["cuda"])
        kind, keys, pos, has_gauss, cached = state_dict["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
        version, python_state, gauss = state_dict["python"]
        random.setstate((version, tuple(python_state), gauss))
