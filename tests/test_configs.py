"""Every shipped config parses and trains one fast_dev_run step on tiny data."""

import json
from pathlib import Path

import pytest
import yaml

from proj.cli import ProjCLI, main
from tests.conftest import CNN, MLP, REPO, tiny_data_for
from tests.helpers import tensorboard_tags

FRAGMENT_FOLDERS = ("trainer", "debug", "logger")  # stacked on a dataset config as more --configs
NOT_RUN_CONFIGS = ("sweeps",)  # search spaces for scripts/sweep.py
CONFIGS = sorted(
    p
    for p in (REPO / "configs").rglob("*.yaml")
    if p.parent.name not in FRAGMENT_FOLDERS + NOT_RUN_CONFIGS
)
FRAGMENTS = sorted((REPO / "configs" / "trainer").glob("*.yaml"))
FAST = REPO / "configs" / "fashion_mnist" / "fast.yaml"


def _data_args(config: str | Path, tmp_path: Path) -> list[str]:
    """Tiny data in the format the config's DataModule reads."""
    data_class = yaml.safe_load(Path(config).read_text())["data"]["class_path"]
    return tiny_data_for(data_class, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: str(p.relative_to(REPO / "configs")))
def test_config_runs_one_fast_dev_run_step(config, tmp_path, capsys):
    args = ["--config", str(config), *_data_args(config, tmp_path)]
    main(["fit", *args, "--trainer.fast_dev_run", "1", "--trainer.enable_progress_bar", "false"])
    assert "test/" in capsys.readouterr().out  # the after-fit test ran


@pytest.mark.parametrize("fragment", FRAGMENTS, ids=lambda p: p.stem)
def test_trainer_fragment_stacks_on_a_dataset_config(fragment, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(MLP), "--config", str(fragment), "--print_config"])
    assert exit_info.value.code == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    content = yaml.safe_load(fragment.read_text())
    for key, value in content.get("trainer", {}).items():
        assert printed["trainer"][key] == value, key
    for key, value in content.items():  # top-level switches such as prefer_bf16
        if key != "trainer":
            assert printed[key] == value, key
    assert printed["model"]["class_path"] == "proj.tasks.ImageClassifier"


@pytest.mark.slow
@pytest.mark.parametrize("config", [MLP, CNN], ids=["mlp", "cnn"])
@pytest.mark.parametrize("fragment", ["cpu", "bf16_mixed"])
def test_cpu_fragments_train_a_step(config, fragment, tmp_path, capsys):
    fragment_path = REPO / "configs" / "trainer" / f"{fragment}.yaml"
    args = ["--config", str(config), "--config", str(fragment_path), *_data_args(config, tmp_path)]
    main(["fit", *args, "--trainer.fast_dev_run", "1", "--trainer.enable_progress_bar", "false"])
    assert "test/acc" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["bf16-true", "64-true"])
def test_true_precisions_get_inputs_in_the_model_dtype(precision, tmp_path, capsys):
    args = ["--config", str(CNN), *_data_args(CNN, tmp_path), "--trainer.precision", precision]
    main(["fit", *args, "--trainer.fast_dev_run", "1", "--trainer.enable_progress_bar", "false"])
    assert "test/acc" in capsys.readouterr().out


@pytest.mark.slow
def test_fast_config_trains_a_step_in_channels_last(tmp_path, capsys):
    args = ["--config", str(FAST), *_data_args(FAST, tmp_path)]
    main(["fit", *args, "--trainer.fast_dev_run", "1", "--trainer.enable_progress_bar", "false"])
    assert "test/acc" in capsys.readouterr().out


DEBUG = REPO / "configs" / "debug"


def _debug_fit(tmp_path, fragment: str, *extra: str) -> Path:
    args = [
        "--config",
        str(MLP),
        "--config",
        str(DEBUG / f"{fragment}.yaml"),
        *_data_args(MLP, tmp_path),
    ]
    main(["fit", *args, "--trainer.enable_progress_bar", "false", *extra])
    runs = list(Path("logs/fashion_mnist/mlp").glob("version_*"))
    return runs[0] if runs else Path("nowhere")


@pytest.mark.slow
def test_debug_fast_dev_run_writes_nothing(tmp_path):
    assert not _debug_fit(tmp_path, "fast_dev_run").exists()


@pytest.mark.slow
def test_debug_overfit_learns_a_few_batches_by_heart(tmp_path):
    run = _debug_fit(
        tmp_path, "overfit", "--trainer.max_epochs", "25", "--data.init_args.batch_size", "16"
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["val_history"][-1]["val/acc"] == 1.0  # validation is the same 4 batches


@pytest.mark.slow
def test_debug_limit_runs_the_whole_loop(tmp_path):
    run = _debug_fit(tmp_path, "limit", "--data.init_args.batch_size", "16")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["global_step"] == 20 and "test" in metrics
    tags, graph = tensorboard_tags(run)
    assert not graph and not [t for t in tags if t.startswith(("images/", "weights/"))]


@pytest.mark.slow
def test_debug_profiler_writes_its_report_into_the_run_folder(tmp_path):
    run = _debug_fit(tmp_path, "profiler")
    report = (run / "fit-profile.txt").read_text()
    assert "run_training_batch" in report


FINETUNE = REPO / "configs" / "cifar10" / "alexnet_frozen.yaml"


@pytest.mark.slow
@pytest.mark.parametrize("fragment", sorted(DEBUG.glob("*.yaml")), ids=lambda p: p.stem)
def test_debug_fragments_keep_a_finetune_configs_callbacks(fragment, tmp_path):
    """Stacked on a config with a Finetuning callback, the check trains what the config
    trains: the callback stays (overfit.yaml used to set `callbacks: []`)."""
    main(["fit", "--config", str(FINETUNE), "--config", str(fragment),
          *_data_args(FINETUNE, tmp_path), "--trainer.enable_progress_bar", "false",
          "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "1",
          "--trainer.limit_val_batches", "1", "--trainer.limit_test_batches", "1",
          "--data.init_args.batch_size", "4", "--test_after_fit", "false"])  # fmt: skip
    names = [type(c).__name__ for c in ProjCLI.current.trainer.callbacks]
    assert "Finetuning" in names
    frozen = [p for p in ProjCLI.current.model.net.backbone.parameters() if not p.requires_grad]
    assert frozen, "the backbone stays frozen as the config says"


@pytest.mark.slow
def test_overfit_leaves_out_only_early_stopping(tmp_path):
    _debug_fit(tmp_path, "overfit", "--trainer.max_epochs", "1")
    names = [type(c).__name__ for c in ProjCLI.current.trainer.callbacks]
    assert "EarlyStopping" not in names and "RunSummary" in names
