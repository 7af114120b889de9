"""Every bad input a newcomer meets is one line naming the culprit: no traceback, no litter."""

import subprocess
import sys
from pathlib import Path

import pytest
import torchvision

from proj.cli import main
from tests.conftest import QUIET, REPO, tiny_data_args, write_image_folder

CONFIGS = REPO / "configs"
MLP = str(CONFIGS / "fashion_mnist" / "mlp.yaml")
CATDOG = str(CONFIGS / "catdog" / "cnn.yaml")
FROZEN = str(CONFIGS / "cifar10" / "alexnet_frozen.yaml")


def _bad_yaml(folder: Path) -> str:
    (folder / "broken.yaml").write_text("trainer:\n  max_epochs: 3\n bad: [\n")
    return "broken.yaml"


def _garbage_checkpoint(folder: Path) -> str:
    (folder / "garbage.ckpt").write_bytes(b"not a checkpoint at all")
    return "garbage.ckpt"


def _bad_csv(folder: Path) -> str:
    write_image_folder(folder / "pets")
    with open(folder / "pets" / "labels.csv", "a") as f:
        f.write("cat.0.png,horse\nghost.png,1\n")
    return str(folder / "pets")


def _csv_args(root: str) -> list[str]:
    return [
        "--data.csv_file", f"{root}/labels.csv", "--data.image_dir", f"{root}/images",
        "--data.test_csv", "null", "--data.class_names", "[cat, dog]",
    ]  # fmt: skip


# (id, arguments (a callable gets the test folder and returns them), exit code, culprit)
CASES = [
    ("unknown_key", lambda d: ["fit", "--config", MLP, "--trainer.max_epochz", "3"], 2,
     "--trainer.max_epochz"),
    ("wrong_type", lambda d: ["fit", "--config", MLP, "--trainer.max_epochs", "many"], 2,
     "max_epochs"),
    ("range", lambda d: ["fit", "--config", CATDOG, "--data.val_fraction", "1.5"], 1,
     "data.val_fraction: must be in [0, 1), got 1.5"),
    ("augment_needs_size",
     lambda d: ["fit", "--config", MLP, "--data.init_args.augment", "resized_crop"], 1,
     "data.augment: 'resized_crop' needs data.image_size"),
    ("batch_size", lambda d: ["fit", "--config", MLP, "--data.batch_size", "0"], 1,
     "data.batch_size: must be >= 1"),
    ("unknown_class", lambda d: ["fit", "--config", MLP, "--model.net", "NoSuchNet"], 2,
     "NoSuchNet"),
    ("literal", lambda d: ["fit", "--config", MLP, "--model.nonfinite_loss", "maybe"], 2,
     "nonfinite_loss"),
    ("init_scheme",
     lambda d: ["fit", "--config", MLP, "--trainer.callbacks+=proj.callbacks.InitialWeights",
                "--trainer.callbacks.init", "he"], 1,
     "InitialWeights.init: unknown scheme 'he'"),
    ("histograms", lambda d: ["fit", "--config", MLP, "--views.histograms_every_n_epochs", "-1"],
     1, "views.histograms_every_n_epochs"),
    ("finetune_strategy",
     lambda d: ["fit", "--config", FROZEN, "--trainer.callbacks.strategy", "melt"], 2,
     "melt"),
    ("missing_config", lambda d: ["fit", "--config", "nope.yaml"], 2, "nope.yaml"),
    ("yaml_syntax", lambda d: ["fit", "--config", MLP, "--config", _bad_yaml(d)], 2,
     "broken.yaml: line 3, column 2"),
    ("missing_checkpoint", lambda d: ["test", "--config", MLP, "--ckpt_path", "nope.ckpt"], 2,
     "--ckpt_path nope.ckpt: no such file"),
    ("no_run_for_best", lambda d: ["test", "--config", MLP, "--ckpt_path", "best"], 2,
     "no run of experiment 'fashion_mnist/mlp'"),
    ("garbage_checkpoint",
     lambda d: ["test", "--config", MLP, "--ckpt_path", _garbage_checkpoint(d)], 2,
     "garbage.ckpt is not a loadable checkpoint"),
    ("top_k", lambda d: ["predict", "--config", MLP, "--top_k", "0"], 1, "top_k: must be >= 1"),
    ("csv_rows", lambda d: ["fit", "--config", CATDOG, *_csv_args(_bad_csv(d))], 1,
     "line 25: label 'horse'"),
    ("catdog_no_data", lambda d: ["fit", "--config", CATDOG], 1,
     "python scripts/make_fashion_csv.py"),
    ("fashion_no_data",
     lambda d: ["fit", "--config", MLP, "--data.init_args.data_dir", str(d / "nowhere")], 1,
     "nowhere"),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "code", "culprit"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_one_line_naming_the_culprit(
    tmp_path, monkeypatch, capsys, args, code, culprit
):
    # no download may succeed: the machine running the tests may be online
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "mirrors", ["http://127.0.0.1:9/"])
    with pytest.raises(SystemExit) as exit_info:
        main([*args(tmp_path), *QUIET])
    assert exit_info.value.code == code
    err = capsys.readouterr().err
    assert "Traceback" not in err and "usage:" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and culprit in err, err
    if code == 2:  # a parse error: the error and a hint, no usage
        lines = err.strip().splitlines()
        assert len(lines) == 2 and lines[1].startswith("hint: python -m proj"), err
    assert not Path("logs").exists(), "a run that never started leaves no folder"


@pytest.mark.slow
def test_both_bad_rows_of_a_csv_are_named_in_one_message(tmp_path, capsys):
    root = _bad_csv(tmp_path)
    with pytest.raises(SystemExit):
        main(["fit", "--config", CATDOG, *_csv_args(root), *QUIET])
    err = capsys.readouterr().err
    assert "2 bad row(s)" in err
    assert "line 25: label 'horse'" in err and "line 26: ghost.png: image file not found" in err


@pytest.mark.slow
def test_a_constructor_error_prints_one_line_in_a_real_process(tiny_data_dir):
    result = subprocess.run(
        [sys.executable, "-m", "proj", "fit", "--config", MLP, *tiny_data_args(tiny_data_dir),
         "--data.init_args.augment", "resized_crop"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: data.augment: 'resized_crop' needs data.image_size (the crop's size, e.g. 224)"
    )
