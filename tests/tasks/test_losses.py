"""Any torch.nn loss trains the classifier (each fed what it takes), and the Regressor's."""

import json
import logging
from pathlib import Path

import lightning as L
import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from proj.cli import main
from proj.errors import ConfigError
from proj.tasks import ImageClassifier, Regressor
from proj.tasks.losses import balanced_weights, classification_loss
from tests.conftest import MLP, QUIET, tiny_data_args, write_class_folders

CATALOGUE = {
    "CrossEntropyLoss": nn.CrossEntropyLoss(),
    "NLLLoss": nn.NLLLoss(),
    "MultiMarginLoss": nn.MultiMarginLoss(),
    "BCEWithLogitsLoss": nn.BCEWithLogitsLoss(),
    "MultiLabelSoftMarginLoss": nn.MultiLabelSoftMarginLoss(),
    "KLDivLoss": nn.KLDivLoss(reduction="batchmean"),
}


class FocalLoss(nn.Module):
    """A user's own loss: cross-entropy that weighs the hard examples up."""

    def __init__(self, gamma: float = 2.0) -> None:
        super().__init__()
        self.gamma = gamma

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        log_p = logits.log_softmax(dim=1).gather(1, labels[:, None]).squeeze(1)
        return (-((1 - log_p.exp()) ** self.gamma) * log_p).mean()


def _blobs(n: int = 96) -> DataLoader:
    """4x4 'images' of three classes, each with its own bright row, in noise."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 3
    images = torch.randn(n, 1, 4, 4, generator=generator) * 0.3
    images[torch.arange(n), 0, labels] += 1.0
    return DataLoader(TensorDataset(images, labels), batch_size=16)


@pytest.mark.slow
@pytest.mark.parametrize("name", CATALOGUE)
def test_each_classifying_loss_of_the_catalogue_trains(name):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    model = ImageClassifier(net, num_classes=3, loss=CATALOGUE[name],
                            optimizer=lambda p: torch.optim.SGD(p, lr=0.5))  # fmt: skip
    trainer = L.Trainer(max_epochs=10, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    data = _blobs()
    images, labels = data.dataset.tensors
    before = float((model(images).argmax(dim=1) == labels).float().mean())
    trainer.fit(model, data)
    after = float((model(images).argmax(dim=1) == labels).float().mean())
    assert after >= 0.95 > before, f"{name}: accuracy {before:.2f} -> {after:.2f}"


def test_each_loss_gets_its_inputs_in_the_form_it_takes():
    logits, labels = torch.randn(5, 3), torch.tensor([0, 2, 1, 1, 0])
    one_hot = F.one_hot(labels, 3).float()
    log_p = logits.log_softmax(dim=1)
    expected = {
        "NLLLoss": F.nll_loss(log_p, labels),
        "BCEWithLogitsLoss": F.binary_cross_entropy_with_logits(logits, one_hot),
        "KLDivLoss": F.kl_div(log_p, one_hot, reduction="batchmean"),
        "MultiMarginLoss": F.multi_margin_loss(logits, labels),
    }
    for name, value in expected.items():
        assert torch.allclose(classification_loss(CATALOGUE[name], logits, labels), value), name
    mixed = one_hot * 0.8 + 0.1  # MixUp's class probabilities reach a BCE loss as they are
    bce = classification_loss(CATALOGUE["BCEWithLogitsLoss"], logits, mixed)
    assert torch.allclose(bce, F.binary_cross_entropy_with_logits(logits, mixed))


@pytest.mark.slow
def test_a_users_loss_and_a_catalogue_loss_by_class_path(tiny_data_dir):
    short = [*tiny_data_args(tiny_data_dir), *QUIET, "--trainer.max_epochs", "1"]
    main(["fit", "--config", MLP, "--model.init_args.loss", f"{__name__}.FocalLoss",
          "--model.init_args.loss.gamma", "1.5", *short])  # fmt: skip
    main(["fit", "--config", MLP, "--model.init_args.loss", "torch.nn.MultiMarginLoss", *short])
    for version in (0, 1):
        run = Path(f"logs/fashion_mnist/mlp/version_{version}")
        assert 0 <= json.loads((run / "metrics.json").read_text())["test"]["test/acc"] <= 1
    saved = (Path("logs/fashion_mnist/mlp/version_0") / "config.yaml").read_text()
    assert f"class_path: {__name__}.FocalLoss" in saved and "gamma: 1.5" in saved


@pytest.mark.slow
def test_balanced_class_weights_come_from_the_training_split(tmp_path, caplog):
    root = write_class_folders(tmp_path / "pets", {"cat": 16, "dog": 4})
    with caplog.at_level(logging.INFO):
        main(["fit", "--model", "proj.tasks.ImageClassifier", "--model.net", "proj.models.FashionCNN",
              "--model.net.in_channels", "3", "--model.class_weights", "balanced",
              "--data", "proj.data.ImageFolderDataModule", "--data.root", str(root),
              "--data.image_size", "28", "--data.batch_size", "4", "--data.test_fraction", "0.25",
              "--trainer.max_epochs", "1", *QUIET])  # fmt: skip
    # 9 of the 16 cats and 2 of the 4 dogs train (a quarter tests, a fifth validates):
    # n / (k * n_c) = 11 / (2 * 9) and 11 / (2 * 2)
    assert "class weights (balanced): cat 0.611, dog 2.75" in caplog.text
    checkpoint = next(Path("logs").rglob("last.ckpt"))
    weight = torch.load(checkpoint, weights_only=True)["state_dict"]["loss_fn.weight"]
    assert torch.allclose(weight, torch.tensor([11 / 18, 11 / 4]))
    metrics = json.loads(next(Path("logs").rglob("metrics.json")).read_text())["test"]
    assert {"test/balanced_acc", "test/macro_f1", "test/recall/cat", "test/f1/dog"} <= set(metrics)


def test_balanced_weights_are_n_over_k_times_each_count():
    assert balanced_weights(torch.tensor([30, 10])).tolist() == pytest.approx([40 / 60, 40 / 20])


def test_weights_that_do_not_fit_are_one_line():
    net = nn.Linear(4, 3)
    with pytest.raises(ConfigError, match="model.class_weights: 2 weights for 3 classes"):
        ImageClassifier(net, num_classes=3, class_weights=[1.0, 2.0])
    with pytest.raises(ConfigError, match="KLDivLoss has no class `weight`"):
        ImageClassifier(net, num_classes=3, loss=nn.KLDivLoss(), class_weights="balanced")


@pytest.mark.slow
def test_mixup_with_a_loss_that_takes_class_indices_is_one_line_at_start(tiny_data_dir, capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--config", MLP, *tiny_data_args(tiny_data_dir), *QUIET,
              "--model.init_args.loss", "torch.nn.NLLLoss", "--data.init_args.mixup", "0.5"])  # fmt: skip
    err = capsys.readouterr().err
    assert "error: model.loss: NLLLoss takes class indices, but data.mixup make" in err
    assert "Traceback" not in err


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["L1Loss", "SmoothL1Loss", "HuberLoss"])
def test_the_regressor_takes_any_loss(loss):
    model = Regressor(nn.Linear(1, 1), loss=getattr(nn, loss)(),
                      optimizer=lambda p: torch.optim.SGD(p, lr=0.1))  # fmt: skip
    x = torch.linspace(-1, 1, 32)[:, None]
    data = DataLoader(TensorDataset(x, 3 * x + 1), batch_size=8)
    trainer = L.Trainer(max_epochs=30, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    trainer.fit(model, data, data)
    assert float(trainer.callback_metrics["val/mse"]) < 1.0
    assert "val/loss" in trainer.callback_metrics
