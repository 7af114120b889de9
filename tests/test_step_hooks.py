"""Per-batch hooks a callback does not implement are skipped; the ones it does still run."""

import json

from lightning.pytorch.callbacks import Callback

from proj.callbacks import RunSummary
from proj.cli import ProjCLI, main
from tests.conftest import MLP, tiny_data_args


class CountBatches(Callback):
    def __init__(self) -> None:
        self.train_batches = 0
        self.val_batches = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.train_batches += 1

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, *_) -> None:
        self.val_batches += 1


def test_only_implemented_batch_hooks_are_dispatched(tiny_data_dir):
    counter = json.dumps({"class_path": "tests.test_step_hooks.CountBatches"})
    main(["fit", "--config", MLP, *tiny_data_args(tiny_data_dir), "--trainer.max_epochs", "2",
          "--trainer.enable_progress_bar", "false", "--test_after_fit", "false",
          "--trainer.num_sanity_val_steps", "0",
          f"--trainer.callbacks+={counter}"])  # fmt: skip
    trainer = ProjCLI.current.trainer
    count = next(c for c in trainer.callbacks if isinstance(c, CountBatches))
    assert count.train_batches == trainer.global_step == 2 * trainer.num_training_batches
    assert count.val_batches == 2 * sum(trainer.num_val_batches)
    assert count.on_before_backward is None and callable(count.on_train_batch_end)
    summary = next(c for c in trainer.callbacks if isinstance(c, RunSummary))
    assert summary.on_train_batch_end is None
    assert callable(RunSummary.on_train_batch_end), "the class itself is left alone"
