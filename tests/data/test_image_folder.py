"""ImageFolderDataModule: a folder per class, on the CSV DataModule's base."""

import importlib.util
import json
import logging
from pathlib import Path

import pytest
import torch

from proj.cli import main
from proj.data import ImageFolderDataModule
from proj.errors import ConfigError, DataFormatError, DataNotFoundError
from tests.conftest import QUIET, REPO, write_class_folders


def _tiny_folder_args(folder: Path) -> list[str]:
    root = write_class_folders(folder / "pets")
    return ["--data.init_args.root", str(root), "--data.init_args.test_fraction", "0.2"]


TINY_DATA = {"proj.data.ImageFolderDataModule": _tiny_folder_args}


def _dm(root: Path, **kwargs) -> ImageFolderDataModule:
    options = {"image_size": 16, "batch_size": 4, "val_fraction": 0.25, "test_fraction": 0.25}
    return ImageFolderDataModule(str(root), **{**options, **kwargs})


def test_classes_are_the_sorted_folder_names_and_splits_keep_each_class(tmp_path, caplog):
    root = write_class_folders(tmp_path / "pets", {"dog": 12, "cat": 8})
    (root / ".ipynb_checkpoints").mkdir()  # hidden: not a class
    dm = _dm(root)
    assert dm.class_names == ("cat", "dog") and dm.num_classes == 2  # before setup
    with caplog.at_level(logging.WARNING):
        dm.setup("fit")
    counts = {
        split: torch.bincount(torch.tensor([r.label for r in data.rows]), minlength=2).tolist()
        for split, data in dm.splits.items()
    }
    assert counts == {"test": [2, 3], "val": [2, 3], "train": [4, 6]}  # 25% of each class
    assert "skipped 2 hidden or non-image file(s) (dog/.DS_Store, dog/notes.txt)" in caplog.text
    images, _ = next(iter(dm.train_dataloader()))
    assert images.shape == (4, 3, 16, 16) and images.dtype == torch.uint8

    again = _dm(root)
    again.setup("fit")
    assert [r.file for r in again.splits["val"].rows] == [r.file for r in dm.splits["val"].rows]


def test_train_val_test_folders_are_the_splits(tmp_path):
    root = write_class_folders(tmp_path / "pets", {"cat": 6, "dog": 4}, splits=("train", "val"))
    dm = _dm(root)
    dm.setup("fit")
    assert {k: len(v) for k, v in dm.splits.items()} == {"val": 10, "test": 2 + 1, "train": 7}
    assert all(r.file.startswith("val/") for r in dm.splits["val"].rows)


@pytest.mark.parametrize("problem", ["empty_class", "class_missing_from_val", "extra_in_val"])
def test_a_folder_that_does_not_fit_is_one_error_naming_it(tmp_path, problem):
    root = write_class_folders(tmp_path / "pets", {"cat": 4, "dog": 4}, splits=("train", "val"))
    if problem == "empty_class":
        for image in (root / "train" / "dog").iterdir():
            image.unlink()
        expected = f"{root / 'train' / 'dog'}: a class folder with no images"
    elif problem == "class_missing_from_val":
        for image in (root / "val" / "dog").iterdir():
            image.unlink()
        (root / "val" / "dog").rmdir()
        expected = f"{root / 'val'}: no folder for class(es) ['dog']"
    else:
        (root / "val" / "bird").mkdir()
        expected = f"{root / 'val'}: class folder(s) ['bird'] that"
    with pytest.raises(DataFormatError) as raised:
        _dm(root).setup("fit")
    assert str(raised.value).startswith(expected)


def test_a_missing_root_or_one_class_is_named(tmp_path):
    with pytest.raises(DataNotFoundError, match="nowhere: folder not found"):
        assert _dm(tmp_path / "nowhere").num_classes
    (tmp_path / "one" / "cat").mkdir(parents=True)
    with pytest.raises(ConfigError, match="needs a folder per class, at least 2"):
        assert _dm(tmp_path / "one").num_classes


@pytest.mark.slow
def test_the_folder_trains_from_the_command_line_with_any_net(tmp_path):
    root = write_class_folders(tmp_path / "pets")
    main(["fit", "--model", "proj.tasks.ImageClassifier", "--model.net", "proj.models.FashionCNN",
          "--model.net.in_channels", "3", "--data", "proj.data.ImageFolderDataModule",
          "--data.root", str(root), "--data.image_size", "28", "--data.test_fraction", "0.2",
          "--data.batch_size", "4", "--trainer.max_epochs", "1", *QUIET])  # fmt: skip
    metrics = json.loads(next(Path("logs").rglob("metrics.json")).read_text())
    assert 0 <= metrics["test"]["test/acc"] <= 1


@pytest.mark.slow
def test_the_demo_config_trains_on_the_demo_writers_folder(tiny_data_dir, tmp_path):
    spec = importlib.util.spec_from_file_location(
        "writer", REPO / "scripts" / "make_fashion_csv.py"
    )
    writer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(writer)
    out = tmp_path / "fashion_folder"
    assert writer.main(["--layout", "folder", "--out", str(out), "--data_dir", str(tiny_data_dir),
                        "--train_per_class", "12", "--test_per_class", "4"]) == 0  # fmt: skip
    assert sorted(p.name for p in (out / "train").iterdir()) == ["ankle_boot", "sneaker"]
    main(["fit", "--config", str(REPO / "configs" / "catdog" / "folder.yaml"),
          "--data.init_args.root", str(out), "--data.init_args.batch_size", "8",
          "--trainer.max_epochs", "1", *QUIET])  # fmt: skip
    metrics = json.loads(Path("logs/catdog/folder/version_0/metrics.json").read_text())
    assert 0 <= metrics["test"]["test/acc"] <= 1


def test_a_weighted_sampler_serves_the_classes_about_equally(tmp_path):
    root = write_class_folders(tmp_path / "pets", {"cat": 30, "dog": 6})
    dm = _dm(root, sampler="weighted", val_fraction=0.0, test_fraction=0.0)
    dm.setup("fit")
    assert dm.class_counts == [30, 6]
    seen = torch.zeros(2)
    for epoch in range(10):
        loader = dm.train_dataloader()
        loader.sampler.set_epoch(epoch)
        for _, labels in loader:
            seen += torch.bincount(labels, minlength=2)
    assert seen.sum() == 10 * 36 and 0.4 < seen[1] / seen.sum() < 0.6  # 6 of 36 otherwise
