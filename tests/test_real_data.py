"""Checks on the real Fashion-MNIST files, where Debian's package has installed them."""

from pathlib import Path

import pytest
import torch

from proj.data import FashionMNISTDataModule, fashion_mnist

DEBIAN = fashion_mnist.DEBIAN_DIR
pytestmark = pytest.mark.skipif(
    not all((DEBIAN / f"{name}.gz").is_file() for name in fashion_mnist.FILES),
    reason=f"real Fashion-MNIST not installed in {DEBIAN} (apt-get install dataset-fashion-mnist)",
)


def test_real_files_decode_to_the_known_dataset(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", (DEBIAN,))
    dm = FashionMNISTDataModule(data_dir=str(tmp_path / "data"))
    dm.prepare_data()
    images, labels = dm._read_split(train=True)
    assert images.shape == (60_000, 1, 28, 28) and labels.shape == (60_000,)
    assert torch.bincount(labels).tolist() == [6000] * 10
    pixels = images.float() / 255
    assert pixels.mean().item() == pytest.approx(dm.mean[0], abs=1e-4)
    assert pixels.std().item() == pytest.approx(dm.std[0], abs=1e-4)
    test_images, test_labels = dm._read_split(train=False)
    assert test_images.shape == (10_000, 1, 28, 28)
    assert torch.bincount(test_labels).tolist() == [1000] * 10
