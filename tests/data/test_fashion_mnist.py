import shutil

import lightning as L
import pytest
import torch
import torchvision

from proj.data import FashionMNISTDataModule, fashion_mnist
from proj.data.fashion_mnist import FILES
from proj.data.idx import IDXFormatError
from tests.conftest import tiny_data_args, write_fashion_mnist

# the config tests' tiny data for this DataModule (tests/conftest.py: tiny_data_for)
TINY_DATA = {
    "proj.data.FashionMNISTDataModule": lambda folder: tiny_data_args(
        write_fashion_mnist(folder / "data")
    )
}


def _prepared(data_dir, **kwargs) -> FashionMNISTDataModule:
    dm = FashionMNISTDataModule(data_dir=str(data_dir), val_size=64, batch_size=32, **kwargs)
    dm.prepare_data()
    return dm


def _batches(loader, epochs=(0,)):
    out = []
    for epoch in epochs:
        loader.sampler.set_epoch(epoch)  # what Lightning does before each epoch
        out.extend(loader)
    return out


def test_prepare_decompresses_into_torchvision_layout(tiny_data_dir):
    dm = _prepared(tiny_data_dir)
    assert sorted(p.name for p in dm.raw_dir.iterdir()) == sorted(FILES)
    dm.setup("fit")
    images, labels = dm.splits["train"]
    assert images.dtype == torch.uint8 and images.shape == (320 - 64, 1, 28, 28)
    assert labels.dtype == torch.int64 and len(dm.splits["val"][1]) == 64
    assert dm.num_classes == 10 and dm.class_names[9] == "Ankle boot"


def test_prepare_finds_a_system_copy(tmp_path, monkeypatch):
    system = write_fashion_mnist(tmp_path / "usr-share")
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", (system,))
    dm = _prepared(tmp_path / "empty")
    dm.setup("test")
    assert len(dm.splits["test"][1]) == 120


def test_offline_error_lists_files_and_places(tmp_path, monkeypatch):
    # The real torchvision download code, pointed at a closed local port: no network used.
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "mirrors", ["http://127.0.0.1:9/"])
    dm = FashionMNISTDataModule(data_dir=str(tmp_path / "nothing"))
    with pytest.raises(FileNotFoundError) as err:
        dm.prepare_data()
    message = str(err.value)
    for name in FILES:
        assert f"{name}.gz" in message
    assert str((tmp_path / "nothing").resolve()) in message
    assert "/usr/share/datasets/fashion-mnist" in message
    assert "download failed" in message


def test_corrupt_system_file_is_named(tmp_path, monkeypatch):
    system = write_fashion_mnist(tmp_path / "sys")
    (system / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", (system,))
    dm = FashionMNISTDataModule(data_dir=str(tmp_path / "d"))
    with pytest.raises(IDXFormatError, match="train-labels-idx1-ubyte.gz"):
        dm.prepare_data()
    assert not any((tmp_path / "d" / "FashionMNIST" / "raw").glob(".*")), "temp file left behind"


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_in_memory_and_per_sample_paths_give_equal_batches(tiny_data_dir, split):
    loaders = []
    for in_memory in (True, False):
        dm = _prepared(tiny_data_dir, in_memory=in_memory)
        dm.setup("fit" if split != "test" else "test")
        loaders.append(getattr(dm, f"{split}_dataloader")())
    fast, classic = (_batches(loader, epochs=(0, 1)) for loader in loaders)
    assert len(fast) == len(classic) == 2 * len(loaders[0])
    for (xa, ya), (xb, yb) in zip(fast, classic, strict=True):
        assert xa.dtype == xb.dtype == torch.uint8
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_split_is_seeded_and_ignores_the_training_seed(tiny_data_dir):
    def val_labels(split_seed, global_seed):
        L.seed_everything(global_seed)
        dm = _prepared(tiny_data_dir, seed=split_seed)
        dm.setup("fit")
        return dm.splits["val"][1]

    assert torch.equal(val_labels(1, 0), val_labels(1, 123))
    assert not torch.equal(val_labels(1, 0), val_labels(2, 0))


def test_train_and_val_are_disjoint_and_cover_the_train_file(tiny_data_dir):
    dm = _prepared(tiny_data_dir)
    dm.setup("fit")
    rows = torch.cat([dm.splits["train"][0], dm.splits["val"][0]]).flatten(1)
    assert len(torch.unique(rows, dim=0)) == 320


def test_batch_transform_normalises_and_augments_only_in_training(tiny_data_dir):
    dm = _prepared(tiny_data_dir, augment=True)
    images = torch.full((4, 1, 28, 28), 255, dtype=torch.uint8)
    images[:, :, :, :14] = 0
    labels = torch.zeros(4, dtype=torch.int64)
    out, _ = dm.on_after_batch_transfer((images, labels), 0)  # no trainer: evaluation
    expected = (images.float() / 255 - 0.2860) / 0.3530
    torch.testing.assert_close(out, expected)

    class Training:
        training = True
        precision = "32-true"

    dm.trainer = Training()
    torch.manual_seed(0)
    batch = images.repeat(16, 1, 1, 1)
    augmented, _ = dm.on_after_batch_transfer((batch, labels.repeat(16)), 0)
    assert augmented.shape == batch.shape
    assert not torch.equal(augmented, expected.repeat(16, 1, 1, 1))


def test_missing_files_after_prepare_are_reported(tiny_data_dir):
    dm = _prepared(tiny_data_dir)
    shutil.rmtree(dm.raw_dir)
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz"):
        dm.setup("fit")


def test_val_size_too_large_names_the_key(tiny_data_dir):
    dm = FashionMNISTDataModule(data_dir=str(tiny_data_dir), val_size=320)
    dm.prepare_data()
    with pytest.raises(ValueError, match="data.val_size: 320"):
        dm.setup("fit")


def test_class_subset_and_few_labels_per_class(tiny_data_dir):
    dm = FashionMNISTDataModule(str(tiny_data_dir), val_size=10, classes=[5, 7], train_per_class=3)
    dm.prepare_data()
    dm.setup("fit")
    dm.setup("test")
    assert dm.class_names == ("Sandal", "Sneaker") and dm.num_classes == 2
    assert torch.bincount(dm.splits["train"][1]).tolist() == [3, 3]
    assert set(dm.splits["val"][1].tolist()) <= {0, 1} and set(dm.splits["test"][1].tolist()) == {
        0,
        1,
    }
    assert len(dm.splits["test"][1]) == 24  # 12 of each class in the tiny test set
    with pytest.raises(ValueError, match="data.classes: \\[12\\] not in 0..9"):
        FashionMNISTDataModule(str(tiny_data_dir), classes=[1, 12])
    per_sample = _prepared(tiny_data_dir, classes=[5, 7], in_memory=False)
    with pytest.raises(ValueError, match="need data.in_memory: true"):
        per_sample.setup("fit")


def test_resized_crop_augmentation_and_custom_statistics(tiny_data_dir):
    dm = _prepared(tiny_data_dir, augment="resized_crop", image_size=40, mean_std=[[0.5], [0.25]])

    class Training:
        training = True
        precision = "32-true"

    dm.trainer = Training()
    images = torch.full((4, 1, 28, 28), 255, dtype=torch.uint8)
    out, _ = dm.on_after_batch_transfer((images, torch.zeros(4, dtype=torch.int64)), 0)
    assert out.shape == (4, 1, 40, 40)
    torch.testing.assert_close(out, torch.full_like(out, 2.0))  # (1 - 0.5) / 0.25 everywhere
    with pytest.raises(ValueError, match="needs data.image_size"):
        FashionMNISTDataModule(str(tiny_data_dir), augment="resized_crop")
    with pytest.raises(ValueError, match="data.augment: unknown 'mixup'"):
        FashionMNISTDataModule(str(tiny_data_dir), augment="mixup")


class _Training:
    """What on_after_batch_transfer reads of a trainer that is training."""

    training = True
    precision = "32-true"


def test_shift_moves_each_image_on_its_own_and_never_mirrors(tiny_data_dir):
    dm = _prepared(tiny_data_dir, augment="shift", normalize=False)
    dm.trainer = _Training()
    images = torch.zeros(64, 1, 28, 28, dtype=torch.uint8)
    images[:, :, 14, 3] = 255  # one bright pixel near the left edge: a mirror puts it at 24
    torch.manual_seed(0)
    out, _ = dm.on_after_batch_transfer((images, torch.zeros(64, dtype=torch.int64)), 0)
    positions = [divmod(int(image.flatten().argmax()), 28) for image in out]
    assert all(abs(row - 14) <= 2 and abs(col - 3) <= 2 for row, col in positions)
    assert len(set(positions)) > 10  # each image drew its own shift


def test_erasing_boxes_some_images_each_with_the_mean(tiny_data_dir):
    dm = _prepared(tiny_data_dir, erasing=0.5)
    dm.trainer = _Training()
    images = torch.full((200, 1, 28, 28), 255, dtype=torch.uint8)
    torch.manual_seed(0)
    out, _ = dm.on_after_batch_transfer((images, torch.zeros(200, dtype=torch.int64)), 0)
    erased = out == 0  # the mean, once normalised
    hit = [bool(mask.any()) for mask in erased]
    assert 70 < sum(hit) < 130  # about half the images
    for mask in erased[torch.tensor(hit)]:  # one box each: rows x columns
        rows, cols = mask[0].any(dim=1), mask[0].any(dim=0)
        assert torch.equal(mask[0], rows[:, None] & cols[None, :])
    assert len({int(mask.sum()) for mask in erased[torch.tensor(hit)]}) > 10  # own sizes
    untouched = out[~torch.tensor(hit)]
    torch.testing.assert_close(untouched, torch.full_like(untouched, (1 - 0.2860) / 0.3530))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["mixup", "cutmix"])
def test_mixed_batches_get_class_probabilities_that_train(tiny_data_dir, tmp_path, kind):
    dm = _prepared(tiny_data_dir, **{kind: 1.0})
    dm.trainer = _Training()
    images = torch.randint(0, 256, (32, 1, 28, 28), dtype=torch.uint8)
    labels = torch.arange(32) % 10
    torch.manual_seed(0)
    _, soft = dm.on_after_batch_transfer((images, labels), 0)
    assert soft.shape == (32, 10) and torch.allclose(soft.sum(dim=1), torch.ones(32))
    assert (soft.max(dim=1).values < 1).all()  # every image is a mixture of two
    dm.trainer = None  # evaluation: never mixed
    assert torch.equal(dm.on_after_batch_transfer((images, labels), 0)[1], labels)

    from proj.models import FashionCNN
    from proj.tasks import ImageClassifier

    task = ImageClassifier(
        FashionCNN(width=8), num_classes=10, loss=torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    )
    trainer = L.Trainer(max_steps=3, limit_val_batches=1, logger=False, log_every_n_steps=1,
                        enable_checkpointing=False, enable_progress_bar=False,
                        default_root_dir=tmp_path)  # fmt: skip
    trainer.fit(task, datamodule=_prepared(tiny_data_dir, **{kind: 1.0}))
    assert trainer.global_step == 3 and torch.isfinite(trainer.callback_metrics["train/loss_step"])
