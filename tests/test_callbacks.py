"""The callbacks a config adds for how a net starts and how its tensors are laid out."""

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import EMAWeightAveraging
from torch import nn

from proj.callbacks import EMA, ChannelsLast, InitialWeights
from proj.data import FashionMNISTDataModule
from proj.errors import ConfigError
from proj.models import FashionCNN
from proj.tasks import ImageClassifier


def _trainer(tmp_path, callbacks, **kwargs) -> L.Trainer:
    return L.Trainer(
        logger=False, enable_progress_bar=False, enable_model_summary=False,
        default_root_dir=tmp_path, callbacks=callbacks, limit_val_batches=1, **kwargs,
    )  # fmt: skip


def _conv(net: nn.Module) -> nn.Conv2d:
    return next(m for m in net.modules() if isinstance(m, nn.Conv2d))


def _data(tiny_data_dir) -> FashionMNISTDataModule:
    return FashionMNISTDataModule(str(tiny_data_dir), val_size=64, batch_size=32)


def test_a_scheme_is_applied_when_a_fit_sets_up_only():
    task = ImageClassifier(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), num_classes=10)
    callback = InitialWeights(init="constant", init_options={"val": 0.1})
    before = task.net[1].weight.clone()
    callback.setup(None, task, "test")
    assert torch.equal(task.net[1].weight, before)
    callback.setup(None, task, "fit")
    assert (task.net[1].weight == 0.1).all() and (task.net[1].bias == 0).all()


def test_an_unknown_scheme_is_refused_by_name():
    with pytest.raises(ConfigError, match="InitialWeights.init: unknown scheme 'he'"):
        InitialWeights(init="he")


@pytest.mark.slow
def test_pretrained_weights_start_a_fit_and_a_resume_keeps_its_checkpoint(tiny_data_dir, tmp_path):
    torch.manual_seed(0)
    source = FashionCNN(width=8)
    weights = tmp_path / "source.pth"
    torch.save(source.state_dict(), weights)

    class FirstStep(L.Callback):
        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            if trainer.global_step == 0:
                self.conv1 = _conv(module.net).weight.detach().clone()

    first = FirstStep()
    task = ImageClassifier(FashionCNN(width=8), num_classes=10)
    trainer = _trainer(tmp_path, [InitialWeights(pretrained=str(weights)), first], max_steps=3)
    trainer.fit(task, datamodule=_data(tiny_data_dir))
    assert torch.equal(first.conv1, _conv(source).weight)  # trained from the file's weights
    checkpoint = tmp_path / "trained.ckpt"
    trainer.save_checkpoint(checkpoint)
    trained = _conv(task.net).weight.detach().clone()
    assert not torch.equal(trained, _conv(source).weight)

    resumed = ImageClassifier(FashionCNN(width=8), num_classes=10)
    trainer = _trainer(tmp_path, [InitialWeights(pretrained=str(weights))], max_steps=3)
    trainer.fit(resumed, datamodule=_data(tiny_data_dir), ckpt_path=checkpoint)
    assert torch.equal(_conv(resumed.net).weight, trained)  # the checkpoint's, not the file's


@pytest.mark.slow
def test_channels_last_makes_weights_and_activations_nhwc(tiny_data_dir, tmp_path):
    outputs = []
    task = ImageClassifier(FashionCNN(width=8), num_classes=10)
    _conv(task.net).register_forward_hook(lambda module, args, out: outputs.append(out))
    trainer = _trainer(tmp_path, [ChannelsLast()], max_steps=1, limit_train_batches=1)
    trainer.fit(task, datamodule=_data(tiny_data_dir))
    assert _conv(task.net).weight.is_contiguous(memory_format=torch.channels_last)
    assert outputs and all(
        out.is_contiguous(memory_format=torch.channels_last) and not out.is_contiguous()
        for out in outputs
    )


@pytest.mark.slow
@pytest.mark.parametrize("callback", [EMA, EMAWeightAveraging])
def test_the_best_checkpoint_tested_after_fit_scores_the_averaged_weights(
    callback, tiny_data_dir, tmp_path
):
    """Lightning's own callback puts the raw weights back when fit ran in the process."""
    torch.manual_seed(0)
    task = ImageClassifier(FashionCNN(width=8), num_classes=10)
    ema = callback(decay=0.5, update_starting_at_step=1)
    trainer = _trainer(tmp_path, [ema], max_steps=4, limit_train_batches=2)
    trainer.fit(task, datamodule=_data(tiny_data_dir))
    tested = {}

    class Weights(L.Callback):
        def on_test_start(self, trainer, module):
            tested.update({k: v.clone() for k, v in module.state_dict().items()})

    trainer.callbacks.append(Weights())
    trainer.test(task, datamodule=_data(tiny_data_dir), ckpt_path="best")
    checkpoint = torch.load(trainer.checkpoint_callback.best_model_path, weights_only=False)
    averaged, raw = checkpoint["state_dict"], checkpoint["current_model_state"]
    key = "net.backbone.0.0.weight"
    assert not torch.equal(averaged[key], raw[key])
    expected = averaged if callback is EMA else raw
    assert all(torch.equal(tested[k], expected[k]) for k in expected)
