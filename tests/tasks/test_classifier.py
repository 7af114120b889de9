import functools

import lightning as L
import pytest
import torch
from torch.optim.lr_scheduler import OneCycleLR, ReduceLROnPlateau, StepLR

from proj.course import NeuralNetwork
from proj.data import FashionMNISTDataModule
from proj.models import FashionCNN
from proj.tasks import ImageClassifier
from proj.tasks.tta import SHIFTS, shifted


def _batch(n=8):
    return torch.randn(n, 1, 28, 28), torch.randint(0, 10, (n,))


class _Trainer:
    estimated_stepping_batches = 123


def _configured(task):
    """The scheduler's config (Lightning's dict)."""
    task.trainer = _Trainer()  # only estimated_stepping_batches is read
    return task.configure_optimizers()["lr_scheduler"]


def test_penalties_raise_the_training_loss():
    torch.manual_seed(0)
    batch = _batch()
    losses = {}
    for name, kwargs in {
        "plain": {},
        "l1": {"penalties": {"l1": 1e-3}},
        "l2": {"penalties": {"l2": 1e-3}},
    }.items():
        torch.manual_seed(0)
        task = ImageClassifier(NeuralNetwork(), num_classes=10, **kwargs)
        losses[name] = float(task.training_step(batch, 0))
    assert losses["l1"] > losses["plain"] and losses["l2"] > losses["plain"]
    torch.manual_seed(0)
    weights = NeuralNetwork()  # the same initial weights the tasks had
    l1 = sum(p.abs().sum() for p in weights.parameters())
    assert losses["l1"] - losses["plain"] == pytest.approx(1e-3 * float(l1), rel=1e-4)


def test_default_optimizer_is_adamw_with_torch_defaults():
    task = ImageClassifier(NeuralNetwork(), num_classes=10)
    task.trainer = _Trainer()
    optimizer = task.configure_optimizers()  # no scheduler: the optimizer itself
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.defaults["lr"] == 1e-3


def test_one_cycle_gets_its_step_count_from_the_trainer():
    task = ImageClassifier(
        NeuralNetwork(),
        num_classes=10,
        lr_scheduler=functools.partial(OneCycleLR, max_lr=0.1, total_steps=None),
    )
    config = _configured(task)
    assert isinstance(config["scheduler"], OneCycleLR)
    assert config["scheduler"].total_steps == 123 and config["interval"] == "step"


def test_plateau_watches_val_loss_and_others_step_per_epoch():
    plateau = ImageClassifier(NeuralNetwork(), 10, lr_scheduler=ReduceLROnPlateau)
    config = _configured(plateau)
    assert config["monitor"] == "val/loss" and isinstance(config["scheduler"], ReduceLROnPlateau)
    step = ImageClassifier(NeuralNetwork(), 10, lr_scheduler=functools.partial(StepLR, step_size=2))
    assert _configured(step)["interval"] == "epoch"


def test_logits_of_the_wrong_width_are_a_clear_error():
    task = ImageClassifier(NeuralNetwork(num_classes=5), num_classes=10)
    with pytest.raises(ValueError, match=r"shape \(8, 5\), expected \(batch, 10\)"):
        task.training_step(_batch(), 0)


@pytest.mark.slow
def test_checkpoint_of_a_python_built_task_loads_weights_only(tiny_data_dir, tmp_path):
    task = ImageClassifier(NeuralNetwork(), num_classes=10)
    assert "net" not in task.hparams
    data = FashionMNISTDataModule(data_dir=str(tiny_data_dir), val_size=64, batch_size=64)
    trainer = L.Trainer(
        max_epochs=1, logger=False, enable_progress_bar=False, default_root_dir=tmp_path
    )
    trainer.fit(task, datamodule=data)
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    checkpoint = torch.load(path, weights_only=True)
    assert checkpoint["hyper_parameters"]["num_classes"] == 10
    restored = ImageClassifier(NeuralNetwork(), num_classes=10)
    restored.load_state_dict(checkpoint["state_dict"])
    x, _ = _batch()
    task.eval(), restored.eval()
    torch.testing.assert_close(task(x), restored(x))


@pytest.mark.slow
def test_flip_tta_averages_the_mirror_outside_training_only():
    torch.manual_seed(0)
    net = FashionCNN(width=8)
    task = ImageClassifier(net, num_classes=10, tta=["flip"])
    images = torch.randn(4, 1, 28, 28)
    task.train()  # training: the plain logits (same dropout draws for both calls)
    torch.manual_seed(1)
    trained = task(images)
    torch.manual_seed(1)
    assert torch.equal(trained, net(images))
    task.eval()
    with torch.no_grad():
        expected = (net(images) + net(images.flip(-1))) / 2
        assert torch.allclose(task(images), expected)
        assert not torch.allclose(task(images), net(images))


@pytest.mark.slow
def test_shift_tta_averages_one_pixel_moves_and_combines_with_flip():
    torch.manual_seed(0)
    net = FashionCNN(width=8).eval()
    images = torch.randn(4, 1, 28, 28)
    padded = torch.nn.functional.pad(images, (1, 1, 1, 1))
    moves = [padded[..., 1 - r : 29 - r, 1 - c : 29 - c] for r, c in SHIFTS]
    assert torch.equal(moves[2][..., 1:, :], images[..., :-1, :])  # (1, 0): one row down
    assert (moves[2][..., 0, :] == 0).all()
    with torch.no_grad():
        shift = ImageClassifier(net, num_classes=10, tta=["shift"]).eval()(images)
        expected = sum(net(m) for m in moves) / 5
        torch.testing.assert_close(shift, expected)
        both = ImageClassifier(net, num_classes=10, tta=["flip", "shift"]).eval()(images)
        mirrored = sum(net(shifted(images.flip(-1), r, c)) for r, c in SHIFTS) / 5
        torch.testing.assert_close(both, (expected + mirrored) / 2)
