import pytest
import torch

from proj.data import CSVImageDataModule, FashionMNISTDataModule
from proj.data.folds import stratified_fold
from tests.conftest import write_image_folder


def test_folds_are_disjoint_cover_everything_and_keep_class_proportions():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
    vals = [stratified_fold(labels, 5, k, seed=3)[0] for k in range(5)]
    everything = torch.cat(vals).sort().values
    assert torch.equal(everything, torch.arange(100))  # each index in exactly one fold
    for val in vals:
        assert torch.bincount(labels[val]).tolist() == [10, 6, 4]
    val, train = stratified_fold(labels, 5, 2, seed=3)
    assert not set(val.tolist()) & set(train.tolist()) and len(val) + len(train) == 100
    assert torch.equal(val, stratified_fold(labels, 5, 2, seed=3)[0])
    assert not torch.equal(val, stratified_fold(labels, 5, 2, seed=4)[0])


def test_bad_fold_settings_name_the_key():
    labels = torch.zeros(10, dtype=torch.int64)
    with pytest.raises(ValueError, match="data.num_folds: must be >= 2"):
        stratified_fold(labels, 1, 0, 0)
    with pytest.raises(ValueError, match=r"data.fold: must be in 0..2, got 3"):
        stratified_fold(labels, 3, 3, 0)


def test_image_datamodule_folds_replace_the_random_validation_split(tiny_data_dir):
    seen = []
    for fold in range(4):
        dm = FashionMNISTDataModule(str(tiny_data_dir), num_folds=4, fold=fold)
        dm.prepare_data()
        dm.setup("fit")
        dm.setup("test")
        assert len(dm.splits["val"][1]) == 80 and len(dm.splits["train"][1]) == 240
        assert torch.bincount(dm.splits["val"][1]).tolist() == [8] * 10
        assert len(dm.splits["test"][1]) == 120  # never touched
        seen.append(dm.splits["val"][0].flatten(1))
    assert len(torch.unique(torch.cat(seen), dim=0)) == 320


def test_csv_datamodule_folds_after_the_test_split(tmp_path):
    folder = write_image_folder(tmp_path / "catdog")
    files = []
    for fold in range(3):
        dm = CSVImageDataModule(
            str(folder / "labels.csv"), str(folder / "images"), image_size=8,
            test_fraction=0.25, num_folds=3, fold=fold,
        )  # fmt: skip
        dm.setup("fit")
        assert len(dm.splits["test"]) == 6 and len(dm.splits["val"]) == 6
        files.append({r.file for r in dm.splits["val"].rows})
    assert len(set.union(*files)) == 18  # the 18 non-test rows, each validated once
    with pytest.raises(ValueError, match="num_folds, data.val_csv: they exclude each other"):
        CSVImageDataModule("x.csv", str(folder), num_folds=3, val_csv="v.csv")
