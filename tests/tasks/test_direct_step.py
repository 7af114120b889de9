"""The direct optimizer step gives the same weights and learning rates as Lightning's own."""

import pytest
import torch

from proj.cli import ProjCLI, main
from tests.conftest import QUIET, REPO, tiny_data_args


def _fit(config: str, data_dir, *extra: str) -> ProjCLI:
    main(["fit", "--config", str(REPO / "configs" / "fashion_mnist" / f"{config}.yaml"),
          *tiny_data_args(data_dir), *QUIET, "--test_after_fit", "false",
          "--trainer.deterministic", "true", *extra])  # fmt: skip
    return ProjCLI.current


@pytest.mark.slow
@pytest.mark.parametrize(
    ("config", "scheduler"),
    [("mlp", "ReduceLROnPlateau"), ("cnn", "OneCycleLR")],
)
def test_direct_step_matches_lightning_automatic_optimization(tiny_data_dir, config, scheduler):
    extra = ["--trainer.max_epochs", "3", "--data.init_args.batch_size", "64"]
    if config == "mlp":  # no epoch counts as better: the plateau scheduler lowers the rate
        extra += ["--model.init_args.lr_scheduler.init_args.patience", "0",
                  "--model.init_args.lr_scheduler.init_args.threshold", "10"]  # fmt: skip
    direct = _fit(config, tiny_data_dir, *extra)
    assert direct.model.automatic_optimization is False
    # clipping at a norm no gradient reaches changes nothing, but makes Lightning step
    automatic = _fit(config, tiny_data_dir, *extra, "--trainer.gradient_clip_val", "1e30")
    assert automatic.model.automatic_optimization is True

    assert direct.trainer.global_step == automatic.trainer.global_step > 0
    for (name, a), (_, b) in zip(
        direct.model.state_dict().items(), automatic.model.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    lr = [cli.trainer.optimizers[0].param_groups[0]["lr"] for cli in (direct, automatic)]
    assert type(direct.trainer.lr_scheduler_configs[0].scheduler).__name__ == scheduler
    assert lr[0] == lr[1]
    start = direct.model.optimizer.keywords.get("lr") if config == "mlp" else None
    if start is not None:
        assert lr[0] < start  # the plateau scheduler did step


def test_accumulating_gradients_uses_lightnings_automatic_path(tiny_data_dir):
    cli = _fit("mlp", tiny_data_dir, "--trainer.max_epochs", "1",
               "--trainer.accumulate_grad_batches", "2")  # fmt: skip
    assert cli.model.automatic_optimization is True
    assert cli.trainer.global_step == cli.trainer.num_training_batches // 2
