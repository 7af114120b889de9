"""Decompressed IDX files through torchvision's reader: shapes, and errors naming the file."""

import numpy as np
import pytest
import torch

from proj.data.idx import IDXFormatError, read_idx, read_images_and_labels
from tests.conftest import write_idx


def test_a_file_reads_back_in_its_stored_shape(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "x-idx3-ubyte", array)
    assert read_idx(tmp_path / "x-idx3-ubyte").equal(torch.from_numpy(array))


def test_wrong_magic_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"\x12\x34\x56\x78" + bytes(100))
    with pytest.raises(IDXFormatError, match="train-images-idx3-ubyte: not a valid IDX file"):
        read_idx(path)


def test_truncated_file_names_the_file_and_its_size(tmp_path):
    path = tmp_path / "images"
    write_idx(path, np.zeros((5, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(IDXFormatError, match=r"images: not a valid IDX file, or truncated \(3926"):
        read_idx(path)


def test_pair_checks_count_shape_and_label_range(tmp_path):
    images, labels = tmp_path / "i", tmp_path / "l"
    write_idx(images, np.zeros((4, 28, 28), dtype=np.uint8))
    write_idx(labels, np.array([0, 1, 2], dtype=np.uint8))
    with pytest.raises(IDXFormatError, match="4 images but .* 3 labels"):
        read_images_and_labels(images, labels, (28, 28), 10)
    write_idx(labels, np.array([0, 1, 12, 3], dtype=np.uint8))
    with pytest.raises(IDXFormatError, match="label 12 at row 2 is outside 0..9"):
        read_images_and_labels(images, labels, (28, 28), 10)
    with pytest.raises(IDXFormatError, match=r"expected uint8 images of shape \(N, 32, 32\)"):
        read_images_and_labels(images, labels, (32, 32), 10)
