import pickle

import numpy as np
import pytest
import torch
import torchvision

from proj.data import CIFAR2DataModule, CIFAR10DataModule
from proj.data.cifar import CIFARFormatError, read_cifar_batch
from tests.conftest import tiny_cifar_args, write_cifar10

# the config tests' tiny data for these DataModules (tests/conftest.py: tiny_data_for)
TINY_DATA = dict.fromkeys(
    ("proj.data.CIFAR10DataModule", "proj.data.CIFAR2DataModule"),
    lambda folder: tiny_cifar_args(write_cifar10(folder / "data")),
)


@pytest.fixture
def cifar_dir(tmp_path):
    return write_cifar10(tmp_path / "data")


def _ready(cls, data_dir, **kwargs):
    dm = cls(data_dir=str(data_dir), val_size=10, batch_size=16, **kwargs)
    dm.prepare_data()
    return dm


def test_batches_decode_rows_into_channels(cifar_dir):
    images, labels = read_cifar_batch(cifar_dir / "cifar-10-batches-py" / "data_batch_1")
    assert images.shape == (20, 3, 32, 32) and images.dtype == torch.uint8
    assert labels.tolist() == [i % 10 for i in range(20)]
    for channel in range(3):  # channel c of an image of label k is filled with 10k + c
        plane = images[:, channel, :31]  # the last row holds the image's serial number
        assert (plane == (10 * labels + channel).view(-1, 1, 1)).all()


def test_cifar10_reads_all_five_training_batches_and_the_test_batch(cifar_dir):
    dm = _ready(CIFAR10DataModule, cifar_dir)
    dm.setup("fit")
    dm.setup("test")
    assert len(dm.splits["train"][1]) + len(dm.splits["val"][1]) == 100
    assert len(dm.splits["test"][1]) == 30
    assert dm.num_classes == 10 and dm.class_names[2] == "bird"


def test_cifar10_normalises_with_the_course_statistics(cifar_dir):
    dm = _ready(CIFAR10DataModule, cifar_dir)
    images = torch.full((2, 3, 32, 32), 128, dtype=torch.uint8)
    out, _ = dm.on_after_batch_transfer((images, torch.zeros(2, dtype=torch.int64)), 0)
    for channel, (mean, std) in enumerate(zip(dm.mean, dm.std, strict=True)):
        torch.testing.assert_close(
            out[:, channel], torch.full((2, 32, 32), (128 / 255 - mean) / std)
        )


def test_cifar2_keeps_airplanes_and_birds_relabelled(cifar_dir):
    dm = _ready(CIFAR2DataModule, cifar_dir)
    images, labels = dm._read_split(train=True)
    assert len(labels) == 20 and torch.bincount(labels).tolist() == [10, 10]
    # airplanes (CIFAR 0) have pixel value 0 in channel 0, birds (CIFAR 2) 20
    assert (images[labels == 0][:, 0, 0] == 0).all() and (images[labels == 1][:, 0, 0] == 20).all()
    _, test_labels = dm._read_split(train=False)
    assert torch.bincount(test_labels).tolist() == [3, 3]
    assert dm.class_names == ("airplane", "bird") and dm.num_classes == 2


def test_cifar2_default_validation_fits_its_10000_images():
    assert CIFAR2DataModule().val_size == 1000
    assert CIFAR10DataModule().val_size == 5000


def test_split_is_reproducible_from_the_data_seed(cifar_dir):
    def val_images(seed):
        dm = _ready(CIFAR10DataModule, cifar_dir, seed=seed)
        dm.setup("fit")
        return dm.splits["val"][0]

    assert torch.equal(val_images(3), val_images(3))
    assert not torch.equal(val_images(3), val_images(4))


def test_in_memory_and_per_sample_paths_agree(cifar_dir):
    batches = []
    for in_memory in (True, False):
        dm = _ready(CIFAR2DataModule, cifar_dir, in_memory=in_memory)
        dm.setup("fit")
        batches.append(list(dm.train_dataloader()))
    for (xa, ya), (xb, yb) in zip(*batches, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


@pytest.mark.parametrize("in_memory", [True, False])
def test_image_size_resizes_on_either_path(cifar_dir, in_memory):
    dm = _ready(CIFAR10DataModule, cifar_dir, in_memory=in_memory, image_size=64)
    dm.setup("test")
    images, labels = next(iter(dm.test_dataloader()))
    out, _ = dm.on_after_batch_transfer((images, labels), 0)
    assert out.shape == (16, 3, 64, 64)


def test_truncated_batch_is_named(cifar_dir):
    path = cifar_dir / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(path.read_bytes()[:500])
    dm = _ready(CIFAR10DataModule, cifar_dir)
    with pytest.raises(CIFARFormatError, match="data_batch_3: not a CIFAR-10 python batch file"):
        dm.setup("fit")


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (print, ("this ran",))

    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": Exploit()}))
    with pytest.raises(CIFARFormatError, match="refusing to load builtins.print"):
        read_cifar_batch(path)


def test_wrong_shape_and_labels_are_reported(tmp_path):
    path = tmp_path / "test_batch"
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(CIFARFormatError, match=r"expected \(N, 3072\) images"):
        read_cifar_batch(path)
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 11]}))
    with pytest.raises(CIFARFormatError, match="label 11 at row 1 is outside 0..9"):
        read_cifar_batch(path)


def test_offline_error_says_what_to_put_where(tmp_path, monkeypatch):
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "url", "http://127.0.0.1:9/cifar.tar.gz")
    dm = CIFAR10DataModule(data_dir=str(tmp_path / "d"))
    with pytest.raises(FileNotFoundError) as err:
        dm.prepare_data()
    message = str(err.value)
    assert "cifar-10-python.tar.gz" in message and "cifar-10-batches-py/" in message
    assert "data_batch_1" in message and "test_batch" in message
    assert str((tmp_path / "d").resolve()) in message
