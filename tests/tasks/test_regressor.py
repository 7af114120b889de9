import functools
import json
import logging
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch

from proj.cli import main
from proj.course import LinearModel, LineDataModule
from proj.tasks import Regressor
from tests.conftest import REPO


def test_points_follow_the_lesson():
    dm = LineDataModule(num_points=30, seed=0)
    x, y = dm.train_points
    assert x.shape == y.shape == (30, 1)
    assert ((x >= -10) & (x < 10)).all() and torch.equal(x, x.round())
    assert set((y - 2 * x - 3).flatten().tolist()) <= {0.0, 1.0, 2.0}
    assert torch.equal(LineDataModule(seed=0).train_points[0], x)
    assert not torch.equal(LineDataModule(seed=1).train_points[0], x)
    assert not torch.equal(dm.test_points[0], x)


def test_reference_is_the_least_squares_line():
    dm = LineDataModule(seed=3)
    x, y = (t.flatten().numpy() for t in dm.train_points)
    slope, intercept = np.polyfit(x, y, 1)
    reference = dm.reference_parameters()
    assert reference["weight"] == pytest.approx(slope, abs=1e-6)
    assert reference["bias"] == pytest.approx(intercept, abs=1e-6)


def test_bad_arguments_name_the_key():
    with pytest.raises(ValueError, match=r"data\.num_points"):
        LineDataModule(num_points=1)
    with pytest.raises(ValueError, match=r"data\.low"):
        LineDataModule(low=5, high=5)


@pytest.mark.slow
def test_sgd_recovers_the_line_and_the_closed_form(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    L.seed_everything(0)
    dm = LineDataModule(seed=0)
    task = Regressor(
        LinearModel(), optimizer=functools.partial(torch.optim.SGD, lr=0.01, momentum=0.9)
    )
    trainer = L.Trainer(
        max_epochs=400,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(task, datamodule=dm)
    learned, reference = task.scalar_parameters(), dm.reference_parameters()
    assert learned["weight"] == pytest.approx(2.0, abs=0.1)
    assert learned["weight"] == pytest.approx(reference["weight"], abs=0.1)
    assert learned["bias"] == pytest.approx(reference["bias"], abs=0.1)
    assert reference["bias"] == pytest.approx(3 + 1, abs=0.6)  # noise averages 1
    assert "least squares" in caplog.text and f"{learned['weight']:.4f}" in caplog.text


@pytest.mark.slow
def test_course_recipe_from_its_config_writes_weight_and_bias(capsys):
    config = str(REPO / "configs" / "line" / "linear.yaml")
    main(["fit", "--config", config, "--trainer.enable_model_summary", "false"])
    run = Path("logs/line/linear/version_0")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["parameters"]["weight"] == pytest.approx(2.0, abs=0.1)
    assert metrics["parameters"]["bias"] == pytest.approx(3.0, abs=0.5)
    assert set(metrics["reference_parameters"]) == {"weight", "bias"}
    assert metrics["test"]["test/mse"] < 3.0
    assert metrics["global_step"] == 1000


@pytest.mark.slow
def test_predict_writes_its_outputs_stacked_one_value_per_point():
    config = str(REPO / "configs" / "line" / "linear.yaml")
    main(["fit", "--config", config, "--trainer.max_epochs", "5", "--test_after_fit", "false"])
    main(["predict", "--config", config, "--ckpt_path", "last"])
    predictions = torch.load("logs/line/linear/version_1/predictions.pt", weights_only=True)
    assert predictions.shape == (30, 1)  # predict_step's (B, 1) batches, concatenated
    assert not Path("logs/line/linear/version_1/predictions.csv").exists()
