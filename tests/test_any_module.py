"""Any LightningModule and DataModule through the CLI: num_classes only where taken, the
monitor the task declares (or val/loss, or none), one-line errors."""

import importlib.util
import json
import traceback
from pathlib import Path

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from proj.cli import ProjCLI, main
from tests.conftest import QUIET, REPO, tiny_data_args

SHORT = ["--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2",
         "--trainer.limit_val_batches", "1", "--trainer.limit_test_batches", "1", *QUIET]  # fmt: skip
FASHION = ["--data", "proj.data.FashionMNISTDataModule"]


class Denoiser(L.LightningModule):
    """Another task: no net, no num_classes; logs val/loss."""

    def __init__(self, hidden: int = 8, log_val_loss: bool = True) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.Linear(hidden, 784))
        self.log_val_loss = log_val_loss

    def _loss(self, batch):
        images = batch[0]
        return nn.functional.mse_loss(self.layers(images).view_as(images), images)

    def training_step(self, batch, batch_idx):
        return self._loss(batch)

    def validation_step(self, batch, batch_idx):
        if self.log_val_loss:
            self.log("val/loss", self._loss(batch))
        else:
            self.log("val/error", self._loss(batch))

    def test_step(self, batch, batch_idx):
        self.log("test/loss", self._loss(batch))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


class ThreeBars(L.LightningDataModule):
    """A user's DataModule with no num_classes attribute: 3 classes of 1x28x28 images."""

    def __init__(self, batch_size: int = 16) -> None:
        super().__init__()
        self.batch_size = batch_size

    def _loader(self, seed: int) -> DataLoader:
        generator = torch.Generator().manual_seed(seed)
        labels = torch.arange(3).repeat(16)
        images = torch.rand(len(labels), 1, 28, 28, generator=generator) * 0.1
        for i, label in enumerate(labels.tolist()):
            images[i, 0, 9 * label : 9 * label + 9] = 1.0
        return DataLoader(TensorDataset(images, labels), batch_size=self.batch_size)

    def train_dataloader(self):
        return self._loader(0)

    def val_dataloader(self):
        return self._loader(1)

    def test_dataloader(self):
        return self._loader(2)


def _run_dir() -> Path:
    return next(Path("logs").rglob("version_0"))


def test_another_task_fits_and_is_monitored_on_val_loss(tiny_data_dir, capsys):
    main(["fit", "--model", f"{__name__}.Denoiser", *FASHION, *tiny_data_args(tiny_data_dir),
          *SHORT])  # fmt: skip
    metrics = json.loads((_run_dir() / "metrics.json").read_text())
    assert metrics["monitor"] == "val/loss" and metrics["best_checkpoint"]
    assert "test/loss" in metrics["test"]
    assert ProjCLI.current.trainer.checkpoint_callback.mode == "min"


@pytest.mark.slow
def test_a_module_that_logs_no_monitor_keeps_last_only_and_says_so(tiny_data_dir, caplog):
    main(["fit", "--model", f"{__name__}.Denoiser", "--model.log_val_loss", "false", *FASHION,
          *tiny_data_args(tiny_data_dir), *SHORT, "--trainer.max_epochs", "2"])  # fmt: skip
    said = [r.getMessage() for r in caplog.records if "keeping last.ckpt only" in r.getMessage()]
    assert len(said) == 1 and "Denoiser declares no monitor" in said[0]
    assert sorted(p.name for p in (_run_dir() / "checkpoints").iterdir()) == ["last.ckpt"]


@pytest.mark.slow
def test_a_monitor_that_is_never_logged_is_one_line(tiny_data_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--model", f"{__name__}.Denoiser", *FASHION, *tiny_data_args(tiny_data_dir),
              *SHORT, "--checkpoint.monitor", "val/acc"])  # fmt: skip
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "error: checkpoint.monitor: 'val/acc' is not logged by Denoiser" in err
    assert "Traceback" not in err and "'val/loss'" in err


@pytest.mark.slow
def test_model_num_classes_reaches_the_net_when_the_data_has_none(capsys):
    main(["fit", "--model", "proj.tasks.ImageClassifier", "--model.net", "proj.models.FashionCNN",
          "--model.net.width", "4", "--model.num_classes", "3", "--data", f"{__name__}.ThreeBars",
          *SHORT])  # fmt: skip
    model = ProjCLI.current.model
    assert model.num_classes == 3 and model.net.head[-1].out_features == 3


def test_no_num_classes_anywhere_is_one_line_naming_both(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--model", "proj.tasks.ImageClassifier", "--model.net",
              "proj.models.FashionCNN", "--data", f"{__name__}.ThreeBars", *SHORT])  # fmt: skip
    err = capsys.readouterr().err
    assert (
        f"error: model.num_classes: not given, and data {__name__}.ThreeBars has no num_classes "
        "attribute" in err
    )
    assert "Traceback" not in err and not Path("logs").exists()


def test_num_classes_that_contradicts_the_data_is_named(tiny_data_dir, capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--model", "proj.tasks.ImageClassifier", "--model.net",
              "proj.models.FashionCNN", "--model.num_classes", "3", *FASHION,
              *tiny_data_args(tiny_data_dir), *SHORT])  # fmt: skip
    err = capsys.readouterr().err
    assert "model.num_classes: 3, but data proj.data.fashion_mnist.FashionMNISTDataModule" in err


@pytest.mark.slow
def test_checkpoint_hyperparameters_carry_the_filled_num_classes(tiny_data_dir):
    """Canary of the two private Lightning hooks the CLI relies on (_InstantiatorFn for the
    data, config_dump for the model): a checkpoint rebuilds what was trained."""
    main(["fit", "--model", "proj.tasks.ImageClassifier", "--model.net", "proj.models.FashionCNN",
          "--model.net.width", "4", *FASHION, *tiny_data_args(tiny_data_dir),
          "--data.classes", "[0, 1, 2]", "--data.val_size", "16", *SHORT])  # fmt: skip
    checkpoint = torch.load(_run_dir() / "checkpoints" / "last.ckpt", weights_only=True)
    hparams = checkpoint["hyper_parameters"]
    assert hparams["num_classes"] == 3 and hparams["net"]["init_args"]["num_classes"] == 3
    assert checkpoint["datamodule_hyper_parameters"]["_class_path"] == (
        "proj.data.FashionMNISTDataModule"
    )
    rebuilt = L.LightningModule.load_from_checkpoint(_run_dir() / "checkpoints" / "last.ckpt")
    assert rebuilt.net.head[-1].out_features == 3


class NeedsClasses(nn.Module):
    """A user's net whose num_classes has no default."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(784, num_classes))

    def forward(self, images):
        return self.head(images)


@pytest.mark.slow
def test_a_net_that_requires_num_classes_gets_the_datas(tiny_data_dir):
    main(["fit", "--model", "proj.tasks.ImageClassifier", "--model.net", f"{__name__}.NeedsClasses",
          *FASHION, *tiny_data_args(tiny_data_dir), "--data.classes", "[3, 4]", "--data.val_size", "16",
          *SHORT])  # fmt: skip
    assert ProjCLI.current.model.net.head[-1].out_features == 2


class BuggyNet(nn.Module):
    """A user's net with a bug in its constructor."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.head = nn.Linear(784, num_classes, bias="yes", nonsense=1)  # the bug: a TypeError


def test_a_bug_in_the_users_own_net_keeps_its_traceback(tiny_data_dir):
    with pytest.raises(TypeError) as raised:
        main(["fit", "--model", "proj.tasks.ImageClassifier", "--model.net", f"{__name__}.BuggyNet",
              *FASHION, *tiny_data_args(tiny_data_dir), *SHORT])  # fmt: skip
    frames = traceback.extract_tb(raised.value.__traceback__)  # the user's error itself
    assert frames[-1].filename == __file__ and "nonsense=1" in frames[-1].line
    assert raised.value.__context__ is None  # not wrapped in jsonargparse's union report


def test_a_library_rejecting_a_config_value_is_one_line(tiny_data_dir, capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--model", "proj.tasks.ImageClassifier", "--model.net", "torch.nn.Dropout",
              "--model.net.p", "2", "--model.num_classes", "10", *FASHION,
              *tiny_data_args(tiny_data_dir), *SHORT])  # fmt: skip
    err = capsys.readouterr().err
    assert "error: dropout probability has to be between 0 and 1, but got 2" in err


@pytest.mark.slow
def test_export_and_serve_say_in_one_line_that_they_take_a_classifier(tiny_data_dir, capsys):
    main(["fit", "--model", f"{__name__}.Denoiser", *FASHION, *tiny_data_args(tiny_data_dir),
          *SHORT, "--test_after_fit", "false"])  # fmt: skip
    checkpoint = str(_run_dir() / "checkpoints" / "last.ckpt")
    spec = importlib.util.spec_from_file_location("export_script", REPO / "scripts" / "export.py")
    export = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(export)
    assert export.main(["--ckpt_path", checkpoint]) == 1
    err = capsys.readouterr().err
    assert (
        f"error: {checkpoint}: made by a LightningModule that records no class path; export and serve take a proj.tasks"
        in err
    )

    from proj.serve.main import parse

    with pytest.raises(SystemExit):
        parse(["--ckpt_path", checkpoint])
    err = capsys.readouterr().err
    assert (
        "made by a LightningModule that records no class path; export and serve take a proj.tasks.ImageClassifier"
        in err
    )
