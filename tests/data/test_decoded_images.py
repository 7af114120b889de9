import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from proj.data import CSVImageDataModule, decoded_images
from proj.data.decoded_images import DecodedImages
from tests.conftest import write_image_folder


def _photo(path: Path, width: int, height: int, seed: int = 0, kind: str = "JPEG") -> Path:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8)
    Image.fromarray(small).resize((width, height), Image.BILINEAR).save(path, kind, quality=90)
    return path


@pytest.fixture
def photos(tmp_path) -> list[Path]:
    folder = tmp_path / "photos"
    folder.mkdir()
    return [_photo(folder / f"{i}.jpg", 120, 90, seed=i) for i in range(6)]


def _count_decodes(monkeypatch) -> list[Path]:
    decoded: list[Path] = []
    real = decoded_images.decode_reduced

    def counting(path, min_side):
        decoded.append(path)
        return real(path, min_side)

    monkeypatch.setattr(decoded_images, "decode_reduced", counting)
    return decoded


def test_a_disk_cache_is_reused_and_only_changed_files_decoded_again(tmp_path, photos, monkeypatch):
    decoded = _count_decodes(monkeypatch)
    first = DecodedImages("disk", tmp_path / "cache", min_side=64)
    assert first.decode_all(photos) == {}
    assert len(decoded) == 6
    before = {p: first[p].clone() for p in photos}
    assert before[photos[0]].shape == (3, 90, 120) and before[photos[0]].dtype == torch.uint8

    again = DecodedImages("disk", tmp_path / "cache", min_side=64)
    assert again.decode_all(photos) == {}
    assert len(decoded) == 6  # nothing decoded: all read from the cache
    assert all(torch.equal(again[p], before[p]) for p in photos)

    _photo(photos[2], 120, 90, seed=99)  # the file changes: new pixels, size or mtime
    os.utime(photos[2], ns=(1, 1))
    changed = DecodedImages("disk", tmp_path / "cache", min_side=64)
    assert changed.decode_all(photos) == {}
    assert decoded[6:] == [photos[2]]  # only the changed file decoded
    assert not torch.equal(changed[photos[2]], before[photos[2]])
    assert torch.equal(changed[photos[3]], before[photos[3]])
    assert len(list((tmp_path / "cache").glob("images-*"))) == 1  # the old build removed
    assert torch.equal(first[photos[3]], before[photos[3]])  # an open reader keeps its map


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P"])
def test_every_cache_mode_gives_the_same_pixels(tmp_path, kind, mode):
    """Large images (reduced-scale JPEG decoding, resizing) and small ones alike."""
    files = []
    for i, (width, height) in enumerate([(600, 450), (130, 900), (50, 40)]):
        photo = Image.open(_photo(tmp_path / f"{i}.png", width, height, seed=i, kind="PNG"))
        if kind == "JPEG" and mode in ("RGBA", "P"):
            photo = photo.convert("RGB")  # JPEG holds neither alpha nor a palette
        else:
            photo = photo.convert(mode)
        files.append(tmp_path / f"{i}.{kind.lower()}")
        photo.save(files[-1], kind)
    caches = {
        "none": DecodedImages("none", None, min_side=64),
        "memory": DecodedImages("memory", None, min_side=64),
        "disk": DecodedImages("disk", tmp_path / "cache", min_side=64),
    }
    for images in caches.values():
        assert images.decode_all(files) == {}
    for path in files:
        pixels = {name: images[path] for name, images in caches.items()}
        assert torch.equal(pixels["none"], pixels["memory"]), path
        assert torch.equal(pixels["none"], pixels["disk"]), path
    assert min(pixels["none"].shape[1:]) == 40  # the small one: never enlarged
    assert min(caches["none"][files[0]].shape[1:]) < 450  # the large one: reduced


def test_large_images_are_kept_at_the_smallest_size_that_covers_min_side(tmp_path):
    jpeg = _photo(tmp_path / "big.jpg", 1000, 800)
    png = _photo(tmp_path / "big.png", 1000, 800, kind="PNG")
    small = _photo(tmp_path / "small.jpg", 100, 60)
    images = DecodedImages("memory", None, min_side=224)
    images.decode_all([jpeg, png, small])
    assert images[jpeg].shape == (3, 400, 500)  # DCT scale 1/2; 1/4 would be under 224
    assert images[png].shape == (3, 224, 280)  # no reduced decoding: resized down
    assert images[small].shape == (3, 60, 100)  # never enlarged


def test_unreadable_files_are_reported_and_remembered(tmp_path, photos, monkeypatch):
    broken = photos[0].parent / "broken.jpg"
    broken.write_bytes(photos[0].read_bytes()[:200])
    first = DecodedImages("disk", tmp_path / "cache", min_side=64)
    errors = first.decode_all([*photos, broken])
    assert list(errors) == [broken] and "broken.jpg" in errors[broken]
    decoded = _count_decodes(monkeypatch)
    again = DecodedImages("disk", tmp_path / "cache", min_side=64)
    assert again.decode_all([*photos, broken]) == errors
    assert decoded == []


def test_a_cache_that_cannot_be_written_falls_back_to_decoding(tmp_path, photos, monkeypatch):
    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(DecodedImages, "_write", full_disk)
    images = DecodedImages("disk", tmp_path / "cache", min_side=64)
    assert images.decode_all(photos) == {}
    assert images.mode == "none" and images[photos[0]].shape == (3, 90, 120)


@pytest.mark.slow
def test_two_runs_building_one_cache_at_once_agree(tmp_path, photos):
    """Both processes finish; the second waits for the first's build and reuses it."""
    code = (
        "import sys; from pathlib import Path; from proj.data.decoded_images import DecodedImages;"
        "paths = sorted(Path(sys.argv[1]).glob('*.jpg'));"
        "images = DecodedImages('disk', Path(sys.argv[2]), 64);"
        "assert images.decode_all(paths) == {};"
        "print(sum(int(images[p].sum()) for p in paths))"
    )
    command = [sys.executable, "-c", code, str(photos[0].parent), str(tmp_path / "cache")]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    sums = [run.communicate(timeout=120)[0].strip() for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    assert sums[0] == sums[1] != ""
    index = json.loads((tmp_path / "cache" / "index.json").read_text())
    assert [p.name for p in (tmp_path / "cache").glob("images-*")] == [index["blob"]]


def test_the_datamodule_gives_the_same_batches_from_any_cache(tmp_path):
    folder = write_image_folder(tmp_path / "catdog")
    batches = {}
    for cache in ("none", "memory", "disk"):
        torch.manual_seed(0)
        dm = CSVImageDataModule(
            str(folder / "labels.csv"), str(folder / "images"), image_size=16, batch_size=4,
            augment=True, cache=cache,
        )  # fmt: skip
        dm.setup("fit")
        batches[cache] = [images for images, _ in dm.train_dataloader()]
    for cached in ("memory", "disk"):
        assert all(torch.equal(a, b) for a, b in zip(batches["none"], batches[cached], strict=True))
    assert list(folder.glob("labels.decoded-16/index.json"))  # next to the CSV
    assert not list((folder / "images").glob("*.decoded*"))  # never inside image_dir
