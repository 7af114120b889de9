"""Finetuning: head surgery, partial loading, freeze/unfreeze strategies, per-layer rates."""

import functools
import logging

import lightning as L
import pytest
import torch
import torchvision
from lightning.pytorch.callbacks import Callback
from torch.optim.lr_scheduler import OneCycleLR

from proj.cli import main
from proj.data import FashionMNISTDataModule
from proj.errors import CheckpointError
from proj.finetune import Finetuning
from proj.models import FashionCNN, TorchvisionNet
from proj.tasks import ImageClassifier
from proj.weights import load_matching
from tests.conftest import REPO, tiny_cifar_args, write_cifar10

ARCHS = [
    "alexnet", "resnet18", "resnet34", "resnet50", "vgg11", "mobilenet_v3_small",
    "efficientnet_b0", "convnext_tiny", "vit_b_16", "squeezenet1_0",
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHS)
def test_head_surgery_gives_num_classes_outputs(arch):
    net = TorchvisionNet(arch, num_classes=7).eval()
    size = 224 if arch.startswith("vit") else 64
    with torch.no_grad():
        assert net(torch.randn(1, 3, size, size)).shape == (1, 7)
    assert isinstance(net.head, torch.nn.Linear) and net.head.out_features == 7
    assert not any(m is net.head for m in net.backbone.modules())


def test_unknown_arch_is_named():
    with pytest.raises(ValueError, match="unknown torchvision arch 'alexnett'"):
        TorchvisionNet("alexnett", 10)


def test_local_weights_file_is_loaded_before_the_head_is_replaced(tmp_path):
    original = torchvision.models.resnet18()
    torch.save(original.state_dict(), tmp_path / "resnet18.pth")
    net = TorchvisionNet("resnet18", 3, weights=str(tmp_path / "resnet18.pth"))
    assert torch.equal(net.backbone.conv1.weight, original.conv1.weight)
    assert torch.equal(net.backbone.layer4[1].bn2.running_var, original.layer4[1].bn2.running_var)


def test_load_matching_reports_what_it_did(tmp_path):
    source = FashionCNN(num_classes=5)
    state = {f"net.{k}": v for k, v in source.state_dict().items()}  # as in a Lightning checkpoint
    state["net.extra.weight"] = torch.zeros(3)
    torch.save({"state_dict": state, "epoch": 3}, tmp_path / "model.ckpt")
    target = FashionCNN(num_classes=10)
    report = load_matching(target, tmp_path / "model.ckpt")
    assert sorted(report.shape_mismatched) == [
        "head.1.bias (5,) vs (10,)",
        "head.1.weight (5, 1152) vs (10, 1152)",
    ]
    assert report.unexpected == ["extra.weight"] and report.missing == []
    assert len(report.loaded) == len(source.state_dict()) - 2
    assert torch.equal(target.backbone[0][0].weight, source.backbone[0][0].weight)
    assert f"loaded {len(report.loaded)} tensors" in report.summary()


class _Payload:
    def __reduce__(self):
        return (print, ("this ran",))


def test_a_weights_file_with_a_pickled_object_is_refused_by_name(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"weight": torch.zeros(2), "payload": _Payload()}, path)
    with pytest.raises(CheckpointError, match=r"evil\.pth cannot be loaded as weights"):
        load_matching(FashionCNN(), path)


# --- strategies -----------------------------------------------------------------------------


class Recorder(Callback):
    """Backbone/head weights and param-group learning rates at each epoch's start and end."""

    def __init__(self):
        self.starts, self.ends = [], []

    def _snapshot(self, module):
        return {
            "backbone": {k: v.clone() for k, v in module.net.backbone.state_dict().items()},
            "head": {k: v.clone() for k, v in module.net.head.state_dict().items()},
            "lrs": [g["lr"] for g in module.trainer.optimizers[0].param_groups],
            "trainable": [p.requires_grad for p in module.net.backbone.parameters()],
        }

    def on_train_epoch_start(self, trainer, module):
        self.starts.append(self._snapshot(module))

    def on_train_epoch_end(self, trainer, module):
        self.ends.append(self._snapshot(module))


def _fit(tiny_data_dir, tmp_path, finetuning, epochs, **task):
    task.setdefault("optimizer", functools.partial(torch.optim.SGD, lr=0.1, momentum=0.9))
    module = ImageClassifier(FashionCNN(width=8), num_classes=10, **task)
    recorder = Recorder()
    trainer = L.Trainer(
        max_epochs=epochs, limit_train_batches=2, limit_val_batches=1, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[c for c in (finetuning, recorder) if c], default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(
        module, datamodule=FashionMNISTDataModule(str(tiny_data_dir), val_size=64, batch_size=32)
    )
    return recorder


def _same(a: dict, b: dict) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def test_freeze_trains_the_head_only_and_keeps_batchnorm_statistics(tiny_data_dir, tmp_path):
    record = _fit(tiny_data_dir, tmp_path, Finetuning("freeze"), epochs=1)
    before, after = record.starts[0], record.ends[0]
    assert _same(before["backbone"], after["backbone"]), "a frozen weight or BN buffer moved"
    assert not _same(before["head"], after["head"])
    assert not any(after["trainable"])


def test_freeze_unfreeze_starts_moving_the_backbone_at_epoch_k(tiny_data_dir, tmp_path):
    finetuning = Finetuning("freeze_unfreeze", unfreeze_at_epoch=1)
    record = _fit(tiny_data_dir, tmp_path, finetuning, epochs=2, lr_mults={"backbone.": 0.01})
    assert _same(record.starts[0]["backbone"], record.ends[0]["backbone"])
    assert not _same(record.starts[1]["backbone"], record.ends[1]["backbone"])
    assert record.starts[0]["lrs"] == [0.1]  # frozen parameters are not in the optimizer
    assert record.starts[1]["lrs"] == pytest.approx([0.1, 0.001])  # joined at head lr x mult


@pytest.mark.slow
def test_unfreeze_milestones_unfreeze_the_last_layers_first(tiny_data_dir, tmp_path):
    finetuning = Finetuning("unfreeze_milestones", milestones=(1, 2), last_layers=1)
    record = _fit(tiny_data_dir, tmp_path, finetuning, epochs=3)
    assert not any(record.starts[0]["trainable"])
    trainable = record.starts[1]["trainable"]  # the last conv block: 3 of its tensors
    assert not any(trainable[:-3]) and all(trainable[-3:])
    assert all(record.starts[2]["trainable"])
    assert len(record.starts[2]["lrs"]) == 3


@pytest.mark.slow
def test_discriminative_learning_rates_without_freezing(tiny_data_dir, tmp_path):
    record = _fit(
        tiny_data_dir,
        tmp_path,
        None,
        epochs=1,
        lr_mults={"backbone.": 0.1, "backbone.0.": 0.01},
    )
    lrs = sorted(record.starts[0]["lrs"], reverse=True)
    assert lrs == pytest.approx([0.1, 0.01, 0.001])  # head, backbone, its first block


def test_unfrozen_parameters_follow_a_one_cycle_schedule_scaled(tiny_data_dir, tmp_path):
    finetuning = Finetuning("freeze_unfreeze", unfreeze_at_epoch=1, unfrozen_lr_mult=0.5)
    record = _fit(
        tiny_data_dir, tmp_path, finetuning, epochs=3,
        lr_scheduler=functools.partial(OneCycleLR, max_lr=0.2, total_steps=None),
    )  # fmt: skip
    head, backbone = record.ends[2]["lrs"]
    assert backbone == pytest.approx(head * 0.5)
    assert record.ends[1]["lrs"][1] == pytest.approx(record.ends[1]["lrs"][0] * 0.5)


def test_finetuning_needs_a_backbone(tiny_data_dir, tmp_path):
    module = ImageClassifier(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)), 10)
    trainer = L.Trainer(
        max_epochs=1, callbacks=[Finetuning("freeze")], logger=False, enable_progress_bar=False
    )
    with pytest.raises(ValueError, match="finetuning needs a net with `backbone` and `head`"):
        trainer.fit(module, datamodule=FashionMNISTDataModule(str(tiny_data_dir), val_size=64))


# --- the AlexNet configs with a local weights file -----------------------------------------


@pytest.fixture(scope="module")
def alexnet_weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "alexnet-owt-4df8aa71.pth"
    torch.save(torchvision.models.alexnet().state_dict(), path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("config", ["alexnet_finetune", "alexnet_frozen"])
def test_alexnet_configs_run_with_a_local_weights_file(config, alexnet_weights, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    data = tiny_cifar_args(write_cifar10(tmp_path / "data"))
    main([
        "fit", "--config", str(REPO / "configs" / "cifar10" / f"{config}.yaml"), *data,
        "--model.init_args.net.init_args.weights", str(alexnet_weights),
        "--data.init_args.batch_size", "4", "--trainer.fast_dev_run", "1",
        "--trainer.enable_progress_bar", "false",
    ])  # fmt: skip
    assert f"{alexnet_weights}: loaded 16 tensors" in caplog.text


@pytest.mark.slow
def test_a_checkpoint_of_a_finetuned_torchvision_net_seeds_a_new_one(tmp_path):
    trained = ImageClassifier(TorchvisionNet("resnet18", 3), num_classes=3)
    torch.save({"state_dict": trained.state_dict(), "epoch": 1}, tmp_path / "run.ckpt")
    fresh = TorchvisionNet("resnet18", 5, weights=str(tmp_path / "run.ckpt"))
    assert torch.equal(fresh.backbone.conv1.weight, trained.net.backbone.conv1.weight)
    assert fresh.head.out_features == 5
