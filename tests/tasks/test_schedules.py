import functools
import itertools
import math

import lightning as L
import pytest
import torch

from proj.data import FashionMNISTDataModule
from proj.errors import ConfigError
from proj.models import FashionCNN
from proj.tasks import ImageClassifier, WarmupCosineLR


def _lrs(steps: int, **kwargs) -> list[float]:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = WarmupCosineLR(optimizer, **kwargs)
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


def test_warmup_rises_linearly_then_the_cosine_falls_to_eta_min():
    lrs = _lrs(12, warmup_steps=4, total_steps=12, start_factor=0.01, eta_min=0.0)
    assert lrs[:5] == pytest.approx([0.01, 0.2575, 0.505, 0.7525, 1.0])
    assert all(a > b for a, b in itertools.pairwise(lrs[4:]))  # cosine: falling
    assert lrs[-1] == pytest.approx(0.5 * (1 + math.cos(7 / 8 * math.pi)))


def test_bad_warmup_is_named_and_a_short_run_warms_up_less():
    with pytest.raises(ConfigError, match="WarmupCosineLR.warmup_steps: must be >= 1"):
        _lrs(1, warmup_steps=0, total_steps=12)
    with pytest.warns(UserWarning, match="4 steps in all, not more than warmup_steps=200"):
        lrs = _lrs(4, warmup_steps=200, total_steps=4, start_factor=0.5)
    assert lrs[:4] == pytest.approx([0.5, 2 / 3, 5 / 6, 1.0])


@pytest.mark.slow
def test_the_classifier_steps_it_per_batch_over_the_trainers_steps(tiny_data_dir, tmp_path):
    schedule = functools.partial(WarmupCosineLR, warmup_steps=2, total_steps=None, eta_min=0.0)
    task = ImageClassifier(FashionCNN(width=8), num_classes=10, lr_scheduler=schedule)
    trainer = L.Trainer(
        max_epochs=2, limit_train_batches=3, limit_val_batches=1, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(task, datamodule=FashionMNISTDataModule(str(tiny_data_dir), val_size=64))
    (config,) = trainer.lr_scheduler_configs
    assert config.interval == "step" and config.scheduler.total_steps == 6
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
