"""A checkpoint never chooses code: its hyperparameters, edited to name a canary module
whose import leaves a mark, make no consumer import it; each refuses in one line."""

import importlib.util
import shutil
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from proj.cli import main
from proj.errors import CheckpointError, DataNotFoundError
from proj.trusted_checkpoint import check_classes, recorded_classes
from tests.conftest import MLP, QUIET, REPO, tiny_data_args, write_fashion_mnist

CANARY = "proj_canary_module"
# Every place a checkpoint's hyperparameters carry a class path (Lightning's CLI records
# the model's and the DataModule's `_class_path` and `_instantiator`).
EDITS = {
    "model": ("hyper_parameters", "_class_path"),
    "instantiator": ("hyper_parameters", "_instantiator"),
    "net": ("hyper_parameters", "net", "class_path"),
    "optimizer": ("hyper_parameters", "optimizer", "class_path"),
    "scheduler": ("hyper_parameters", "lr_scheduler", "class_path"),
    "data": ("datamodule_hyper_parameters", "_class_path"),
}


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A run folder of the MLP on tiny data: config.yaml and checkpoints/last.ckpt."""
    root = tmp_path_factory.mktemp("trusted")
    data = write_fashion_mnist(root / "data")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        main(["fit", "--config", MLP, *tiny_data_args(data), *QUIET, "--trainer.max_epochs", "1",
              "--trainer.limit_train_batches", "2", "--test_after_fit", "false"])  # fmt: skip
    return next((root / "logs").glob("fashion_mnist/mlp/version_*"))


@pytest.fixture
def canary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A module on sys.path whose import writes a mark: the file that must never appear."""
    folder = tmp_path / "site"
    folder.mkdir()
    mark = tmp_path / "imported.mark"
    (folder / f"{CANARY}.py").write_text(
        f"import pathlib\npathlib.Path({str(mark)!r}).write_text('ran')\nclass Evil:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, CANARY, raising=False)
    return mark


def _edited(run: Path, edit: tuple[str, ...], name: str) -> Path:
    """A copy of the run's last.ckpt, in its checkpoints folder, with one class path
    pointing at the canary; its tensors untouched (it loads with weights_only=True)."""
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    *parents, key = edit
    entry = checkpoint
    for parent in parents:
        entry = entry[parent]
    entry[key] = f"{CANARY}.Evil"
    path = run / "checkpoints" / f"edited_{name}.ckpt"
    torch.save(checkpoint, path)
    return path


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cli(subcommand: str, with_config: bool) -> Callable[[Path, Path], None]:
    def consume(checkpoint: Path, run: Path) -> None:
        config = ["--config", MLP, "--data.init_args.data_dir", str(run.parents[3] / "data")]
        with pytest.raises(SystemExit) as exited:
            main([subcommand, *(config if with_config else []), "--ckpt_path", str(checkpoint)])
        assert exited.value.code == 2

    return consume


def _export(checkpoint: Path, run: Path) -> None:
    assert _script("export").main(["--ckpt_path", str(checkpoint), "--out", "export"]) == 1


def _serve(checkpoint: Path, run: Path) -> None:
    from proj.serve.main import parse

    with pytest.raises(SystemExit):
        parse(["--ckpt_path", str(checkpoint)])


CONSUMERS = {
    "fit": _cli("fit", with_config=True),
    "validate": _cli("validate", with_config=True),
    "test": _cli("test", with_config=True),
    "predict": _cli("predict", with_config=True),
    "test_without_config": _cli("test", with_config=False),
    "serve": _serve,
    "export": _export,
}


@pytest.mark.slow
@pytest.mark.parametrize("edit", EDITS)
@pytest.mark.parametrize("consumer", CONSUMERS)
def test_a_class_path_in_a_checkpoint_is_never_imported(
    trained_run, canary, capsys, consumer, edit
):
    checkpoint = _edited(trained_run, EDITS[edit], f"{consumer}_{edit}")
    try:
        CONSUMERS[consumer](checkpoint, trained_run)
    finally:
        checkpoint.unlink()
    assert not canary.exists() and CANARY not in sys.modules
    err = capsys.readouterr().err
    assert "Traceback" not in err
    [line] = [line for line in err.splitlines() if "error:" in line]
    assert str(checkpoint) in line and f"'{CANARY}.Evil'" in line
    assert line.endswith("nothing imported")


def test_the_message_names_what_the_config_builds_instead(trained_run, canary, capsys):
    checkpoint = _edited(trained_run, EDITS["net"], "message")
    _cli("test", with_config=True)(checkpoint, trained_run)
    assert capsys.readouterr().err.startswith(
        f"error: {checkpoint}: it was made by '{CANARY}.Evil' (model.net), the config builds "
        "'proj.course.NeuralNetwork'; nothing imported"
    )


@pytest.mark.slow
def test_a_checkpoint_alone_is_built_from_its_run_folders_config(trained_run, capsys):
    main(["test", "--ckpt_path", str(trained_run / "checkpoints" / "last.ckpt"), *QUIET,
          "--trainer.limit_test_batches", "1"])  # fmt: skip
    err = capsys.readouterr().err
    assert f"the model and data as {trained_run / 'config.yaml'} builds them" in err


def test_a_checkpoint_outside_a_run_folder_needs_a_config(trained_run, canary, tmp_path, capsys):
    stray = tmp_path / "downloaded.ckpt"
    shutil.copy(trained_run / "checkpoints" / "last.ckpt", stray)
    with pytest.raises(SystemExit):
        main(["test", "--ckpt_path", str(stray)])
    err = capsys.readouterr().err
    assert f"error: {stray}: no run folder config.yaml beside it" in err
    assert "--config" in err and "Traceback" not in err


def test_a_class_named_by_another_import_path_is_the_same_class():
    checkpoint = {"hyper_parameters": {"_class_path": "proj.tasks.classifier.ImageClassifier",
                                       "net": {"class_path": "proj.models.fashion_cnn.FashionCNN"}}}  # fmt: skip
    config = {"model": {"class_path": "proj.tasks.ImageClassifier",
                        "init_args": {"net": {"class_path": "proj.models.FashionCNN"}}}}  # fmt: skip
    check_classes("a.ckpt", checkpoint, config)  # no error
    config["model"]["init_args"]["net"]["class_path"] = "proj.models.ResNet"
    with pytest.raises(CheckpointError, match=r"\(model.net\), the config builds 'proj.models"):
        check_classes("a.ckpt", checkpoint, config)


def test_recorded_classes_are_found_at_any_depth():
    hparams = {"_class_path": "a.Task", "_instantiator": "lightning.pytorch.cli.instantiate_module",
               "net": {"class_path": "a.Net", "init_args": {"blocks": [{"class_path": "a.Block"}]}}}  # fmt: skip
    assert recorded_classes({"hyper_parameters": hparams}) == {
        "model": "a.Task", "model.net": "a.Net", "model.net.blocks.0": "a.Block"
    }  # fmt: skip


class TypoWhenAsked(nn.Module):
    """A user's net whose constructor has a bug behind a flag."""

    def __init__(self, num_classes: int = 10, broken: bool = False) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(784, num_classes))
        if broken:
            nn.Linear(784, num_classes, nonsense=1)  # the bug: a TypeError in their file

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(images)


@pytest.mark.slow
def test_a_bug_in_the_users_net_under_ckpt_path_keeps_its_traceback(tiny_data_dir):
    net = ["--model.init_args.net", f"{__name__}.TypoWhenAsked"]
    main(["fit", "--config", MLP, *net, *tiny_data_args(tiny_data_dir), *QUIET,
          "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2",
          "--test_after_fit", "false"])  # fmt: skip
    last = next(Path("logs").glob("fashion_mnist/mlp/version_0/checkpoints/last.ckpt"))
    with pytest.raises(TypeError) as raised:
        main(["test", "--config", MLP, *net, "--model.init_args.net.init_args.broken", "true",
              *tiny_data_args(tiny_data_dir), "--ckpt_path", str(last)])  # fmt: skip
    frames = traceback.extract_tb(raised.value.__traceback__)
    assert frames[-1].filename == __file__ and "nonsense=1" in frames[-1].line


@pytest.mark.slow
def test_proj_debug_shows_the_whole_chain_of_an_input_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PROJ_DEBUG", "1")
    with pytest.raises(DataNotFoundError):
        main(["fit", "--config", MLP, "--data.init_args.data_dir", str(tmp_path / "nowhere")])
