"""What a run shows in TensorBoard besides scalars: images, graph, histograms, confusion, hparams."""

from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_info
from torchmetrics.classification import MulticlassConfusionMatrix
from torchvision.utils import make_grid

from proj.data.batch_transforms import denormalize
from proj.errors import ConfigError
from proj.plots import confusion_matrix_figure
from proj.tasks import ImageClassifier
from proj.tasks.class_metrics import class_names


class TensorBoardViews(Callback):
    """Each view can be switched off (`--views.images false`, ...); all are on by default.

    - `images`: a grid of the first training batch, de-normalised with the DataModule's
      mean/std so it looks like the data (augmentation included).
    - `graph`: the model graph, traced once on `example_input_array`.
    - `histograms_every_n_epochs`: weight and bias histograms of every parameter (0: off).
    - `confusion_matrix`: an ImageClassifier's, at test time, as a figure, from the logits
      `test_step` returns (its per-class recall, precision and F1 are the classifier's
      own metrics, `test/recall/<name>`, ...).
    - `hparams`: the run's hyperparameters with its best validation and test metrics in
      TensorBoard's HPARAMS tab, to compare runs side by side.

    Only a TensorBoard logger is drawn on (the first among trainer.logger); without one,
    a fit says that the views are off and this does nothing.
    """

    def __init__(
        self,
        images: bool = True,
        max_images: int = 64,
        graph: bool = True,
        histograms_every_n_epochs: int = 1,
        confusion_matrix: bool = True,
        hparams: bool = True,
    ) -> None:
        if histograms_every_n_epochs < 0:
            raise ConfigError(
                f"views.histograms_every_n_epochs: must be >= 0, got {histograms_every_n_epochs}"
            )
        self.images = images
        self.max_images = max_images
        self.graph = graph
        self.histograms_every_n_epochs = histograms_every_n_epochs
        self.confusion_matrix = confusion_matrix
        self.hparams = hparams
        self._confusion: MulticlassConfusionMatrix | None = None
        self._best_val: dict[str, float] = {}
        self._best_score: float | None = None

    @staticmethod
    def _logger(trainer: L.Trainer) -> TensorBoardLogger | None:
        tensorboard = [lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]
        return tensorboard[0] if tensorboard and trainer.is_global_zero else None

    def _writer(self, trainer: L.Trainer) -> Any:
        logger = self._logger(trainer)
        return None if logger is None else logger.experiment

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        example = pl_module.example_input_array
        writer = self._writer(trainer)
        if writer is None and not trainer.fast_dev_run:
            rank_zero_info(
                "TensorBoard views (images, graph, histograms, confusion matrix, hparams) "
                "are off: no TensorBoardLogger in trainer.logger"
            )
        if self.graph and writer is not None and isinstance(example, torch.Tensor):
            # the net alone: tracing the LightningModule would touch its trainer properties
            net = getattr(pl_module, "net", pl_module)
            example = example.to(pl_module.device)
            if trainer.datamodule is not None:  # the example is raw: transform it as a batch
                example = trainer.datamodule.on_after_batch_transfer(example, 0)
            if example.ndim == 5:  # multi-crop evaluation: the net sees the crops as a batch
                example = example.flatten(0, 1)
            device = pl_module.device
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                writer.add_graph(net, example)  # a traced forward: dropout draws numbers

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if not self.images or trainer.global_step != 0 or batch_idx != 0:
            return  # checked first: this hook runs on every training step
        writer = self._writer(trainer)
        if writer is None:
            return
        images = batch[0] if isinstance(batch, list | tuple) else batch
        if not isinstance(images, torch.Tensor) or images.ndim != 4:
            return  # not an image batch
        images = images[: self.max_images].detach().float()
        normalization = getattr(trainer.datamodule, "normalization", None)
        if normalization is not None:
            images = denormalize(images, *normalization)
        grid = make_grid(images.clamp(0, 1).cpu(), nrow=8, padding=2)
        writer.add_image("images/train_batch", grid, trainer.global_step)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writer = self._writer(trainer)
        every = self.histograms_every_n_epochs
        if writer is None or not every or (trainer.current_epoch + 1) % every:
            return
        net = getattr(pl_module, "net", pl_module)
        for name, param in net.named_parameters():
            # 64 even bins: TensorBoard's default binning costs ~25 ms per 400 K weights
            writer.add_histogram(
                f"weights/{name}", param.detach().float().cpu(), trainer.current_epoch, bins=64
            )

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Keeps the validation metrics of the epoch the checkpoint callback ranks best."""
        checkpoint = trainer.checkpoint_callback
        monitor = getattr(checkpoint, "monitor", None)
        if trainer.sanity_checking or monitor not in trainer.callback_metrics:
            return
        current = float(trainer.callback_metrics[monitor])
        best = self._best_score
        if best is None or (current > best if checkpoint.mode == "max" else current < best):
            self._best_score = current
            self._best_val = _prefixed(trainer, "val/", "best_")

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        num_classes = pl_module.num_classes if isinstance(pl_module, ImageClassifier) else None
        self._confusion = None
        if self.confusion_matrix and num_classes:
            self._confusion = MulticlassConfusionMatrix(num_classes, validate_args=False).to(
                pl_module.device
            )

    def on_test_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if self._confusion is not None and isinstance(outputs, torch.Tensor) and outputs.ndim == 2:
            self._confusion.update(outputs, batch[1])

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._confusion is None or self._confusion.update_count == 0:
            return
        matrix = self._confusion.compute()  # (C, C), summed over ranks
        names = class_names(trainer.datamodule, matrix.shape[0])
        writer = self._writer(trainer)
        if writer is not None:
            figure = confusion_matrix_figure(matrix, names)
            writer.add_figure("test/confusion_matrix", figure, trainer.global_step, close=True)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log_hparams(trainer, {})

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        test = _prefixed(trainer, "test/", "")
        self._log_hparams(trainer, test)

    def _log_hparams(self, trainer: L.Trainer, extra: dict[str, float]) -> None:
        """Rewritten after fit and after each test: TensorBoard shows the latest."""
        if not self.hparams or self._writer(trainer) is None or trainer.fast_dev_run:
            return
        metrics = {**self._best_val, **extra}
        if metrics:
            logger = self._logger(trainer)
            logger.log_hyperparams(logger.hparams, metrics)


def _prefixed(trainer: L.Trainer, prefix: str, name_prefix: str) -> dict[str, float]:
    """`val/acc` -> `hparams/best_val_acc`: metric tags of their own for the HPARAMS tab,
    which compares runs by their headline metrics (not each class's: `val/recall/cat`)."""
    return {
        f"hparams/{name_prefix}{key.replace('/', '_')}": float(value)
        for key, value in trainer.callback_metrics.items()
        if key.startswith(prefix) and key.count("/") == 1
    }
