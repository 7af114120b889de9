import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from proj.cli import main
from proj.data import CSVImageDataModule
from proj.data.label_csv import read_label_csv
from proj.errors import DataFormatError, DataNotFoundError
from proj.images import load_rgb
from tests.conftest import QUIET, REPO, tiny_csv_args, write_image_folder

NAMES = ("cat", "dog")


# the config tests' tiny data for this DataModule (tests/conftest.py: tiny_data_for)
TINY_DATA = {
    "proj.data.CSVImageDataModule": lambda folder: tiny_csv_args(
        write_image_folder(folder / "catdog")
    )
}


@pytest.fixture
def folder(tmp_path) -> Path:
    return write_image_folder(tmp_path / "catdog")


def _dm(folder: Path, **kwargs) -> CSVImageDataModule:
    options = {"image_size": 16, "batch_size": 4, "val_fraction": 0.25, "test_fraction": 0.25}
    options.update(kwargs)
    return CSVImageDataModule(str(folder / "labels.csv"), str(folder / "images"), **options)


def _snapshot(folder: Path) -> dict:
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*")}


# --- files of every kind ------------------------------------------------------------------


def test_every_image_mode_becomes_upright_8bit_rgb(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 3] = 0  # fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(np.full((8, 8), 90, np.uint8), "L").save(tmp_path / "gray.png")
    palette = Image.fromarray(np.zeros((8, 8), np.uint8), "P")
    palette.putpalette([10, 20, 30] * 256)
    palette.save(tmp_path / "palette.png")
    Image.fromarray(np.full((8, 8), 65535, np.uint16)).save(tmp_path / "deep.png")
    rotated = Image.fromarray(np.zeros((10, 20, 3), np.uint8), "RGB")  # 20 wide, 10 high
    exif = rotated.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees to display
    rotated.save(tmp_path / "rotated.jpg", exif=exif)

    assert np.asarray(load_rgb(tmp_path / "rgba.png")).min() == 255  # transparent -> white
    assert np.asarray(load_rgb(tmp_path / "gray.png")).tolist()[0][0] == [90, 90, 90]
    assert np.asarray(load_rgb(tmp_path / "palette.png")).tolist()[0][0] == [10, 20, 30]
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    assert np.asarray(load_rgb(tmp_path / "deep.png")).tolist()[0][0] == [255, 255, 255]
    assert load_rgb(tmp_path / "rotated.jpg").size == (10, 20)
    for name in ("rgba.png", "gray.png", "palette.png", "deep.png", "rotated.jpg"):
        assert load_rgb(tmp_path / name).mode == "RGB"


def test_truncated_jpeg_is_named(tmp_path):
    path = tmp_path / "cut.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:600])
    with pytest.raises(DataFormatError, match="cut.jpg: not a readable image"):
        load_rgb(path)


# --- the CSV --------------------------------------------------------------------------------


def test_csv_with_or_without_header_and_with_class_names(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("a.png,0\nb.png,1\n")
    header = tmp_path / "header.csv"
    header.write_text("filename,label\na.png,cat\nb.png,dog\n")
    for path in (plain, header):
        rows = read_label_csv(path, NAMES)
        assert [(r.file, r.label) for r in rows] == [("a.png", 0), ("b.png", 1)]
    assert [r.line for r in read_label_csv(header, NAMES)] == [2, 3]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the CSV file is empty"),
        ("a.png,0\nb.png\nc.png,1,extra\n", "2 bad row(s)"),
        ("a.png,0\nb.png,two\n", "line 2: label 'two' is neither an integer"),
        ("a.png,0\nb.png,horse\n", "one of ['cat', 'dog']"),
        ("a.png,0\nb.png,2\n", "line 2: label '2'"),
    ],
    ids=["empty", "columns", "not_int", "unknown_name", "out_of_range"],
)
def test_bad_csv_rows_are_reported_with_line_numbers(tmp_path, content, message):
    path = tmp_path / "labels.csv"
    path.write_text(content)
    with pytest.raises(DataFormatError) as err:
        read_label_csv(path, NAMES)
    assert str(path) in str(err.value) and message in str(err.value)
    if "columns" in message or "bad row" in message:
        assert "line 2: expected 2 columns" in str(err.value) and "line 3" in str(err.value)


def test_missing_csv(tmp_path):
    with pytest.raises(DataNotFoundError, match="nope.csv: CSV file not found"):
        read_label_csv(tmp_path / "nope.csv", NAMES)


# --- the DataModule -----------------------------------------------------------------------


def test_every_missing_image_is_listed_before_training(folder):
    with open(folder / "labels.csv", "a") as f:
        f.write("gone1.png,0\ngone2.png,1\n")
    dm = _dm(folder)
    with pytest.raises(DataNotFoundError) as err:
        dm.setup("fit")
    message = str(err.value)
    assert "2 image file(s) not found" in message
    assert "line 25: gone1.png" in message and "line 26: gone2.png" in message


def test_unreadable_images_raise_or_are_skipped(folder, caplog):
    (folder / "images" / "cat.3.png").write_bytes(b"\x89PNG not really")
    before = _snapshot(folder / "images")
    with pytest.raises(DataFormatError, match=r"line 4: .*cat.3.png: not a readable image"):
        _dm(folder).setup("fit")
    dm = _dm(folder, on_bad_image="skip", val_fraction=0.0, test_fraction=0.0)
    dm.setup("fit")
    assert len(dm.splits["train"]) == 23 and "cat.3.png" in caplog.text
    assert _snapshot(folder / "images") == before, "image_dir must never be modified"


def test_split_sizes_are_seeded(folder):
    def files(seed):
        dm = _dm(folder, seed=seed)
        dm.setup("fit")
        return {k: [r.file for r in d.rows] for k, d in dm.splits.items()}

    first = files(1)
    assert {k: len(v) for k, v in first.items()} == {"train": 12, "val": 6, "test": 6}
    assert first == files(1) and first != files(2)
    assert not set(first["train"]) & set(first["val"]) and not set(first["val"]) & set(
        first["test"]
    )


def test_separate_csvs_and_absolute_paths(folder):
    images = folder / "images"
    (folder / "val.csv").write_text(f"{images / 'cat.0.png'},0\n{images / 'dog.0.png'},dog\n")
    dm = _dm(folder, val_csv=str(folder / "val.csv"), val_fraction=0.0, test_fraction=0.0)
    dm.setup("fit")
    assert len(dm.splits["val"]) == 2 and len(dm.splits["train"]) == 24
    images_batch, labels = next(iter(dm.val_dataloader()))
    assert images_batch.shape == (2, 3, 16, 16) and images_batch.dtype == torch.uint8
    assert labels.tolist() == [0, 1]


def test_imagenet_and_custom_normalisation(folder):
    batch = (torch.full((1, 3, 4, 4), 255, dtype=torch.uint8), torch.zeros(1, dtype=torch.int64))
    dm = _dm(folder)
    dm.setup("fit")
    out, _ = dm.on_after_batch_transfer(batch, 0)
    torch.testing.assert_close(
        out[0, :, 0, 0],
        (1 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225]),
    )
    custom = _dm(folder, normalize=[[0.5, 0.5, 0.5], [0.25, 0.25, 0.25]])
    custom.setup("fit")
    out, _ = custom.on_after_batch_transfer(batch, 0)
    assert torch.allclose(out, torch.full_like(out, 2.0))
    with pytest.raises(ValueError, match="data.normalize: unknown 'cifar'"):
        _dm(folder, normalize="cifar")


def test_dataset_normalisation_is_computed_once_and_cached_next_to_the_csv(folder):
    dm = _dm(folder, normalize="dataset")
    dm.setup("fit")
    cache = folder / "labels.mean_std.json"
    stored = json.loads(cache.read_text())
    pixels = torch.stack([dm.splits["train"][i][0] for i in range(12)]).double() / 255
    for channel in range(3):
        assert stored["mean"][channel] == pytest.approx(pixels[:, channel].mean().item(), abs=1e-3)
        assert stored["std"][channel] == pytest.approx(pixels[:, channel].std().item(), abs=2e-3)
    stored["mean"] = [0.123, 0.123, 0.123]
    cache.write_text(json.dumps(stored))
    again = _dm(folder, normalize="dataset")
    again.setup("fit")
    assert again.mean_std[0] == (0.123, 0.123, 0.123)  # read from the cache, not recomputed
    resized = _dm(folder, normalize="dataset", image_size=8)
    resized.setup("fit")
    assert resized.mean_std[0] != (0.123, 0.123, 0.123)  # another size: recomputed


@pytest.mark.slow
def test_bad_input_from_the_cli_is_one_message_naming_the_row(folder, capsys):
    with open(folder / "labels.csv", "a") as f:
        f.write("missing.png,1\n")
    config = str(REPO / "configs" / "catdog" / "cnn.yaml")
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", config, *tiny_csv_args(folder), "--trainer.fast_dev_run", "1"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "line 25: missing.png" in err and "Traceback" not in err


# --- scripts --------------------------------------------------------------------------------


def _script(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / name), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_csv_from_class_folders_and_from_file_names(tmp_path, folder):
    flat = _script("make_csv.py", str(folder / "images"), str(tmp_path / "flat.csv"))
    assert flat.returncode == 0, flat.stderr
    rows = read_label_csv(tmp_path / "flat.csv", NAMES)
    assert len(rows) == 24 and {r.label for r in rows if r.file.startswith("dog.")} == {1}

    nested = tmp_path / "nested"
    for name in NAMES:
        (nested / name).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (4, 4)).save(nested / name / f"{i}.jpg")
    made = _script("make_csv.py", str(nested), str(tmp_path / "nested.csv"), "--header")
    assert made.returncode == 0, made.stderr
    rows = read_label_csv(tmp_path / "nested.csv", NAMES)
    assert [(r.file, r.label) for r in rows][:1] == [("cat/0.jpg", 0)] and len(rows) == 6

    again = _script("make_csv.py", str(nested), str(tmp_path / "nested.csv"))
    assert again.returncode != 0 and "--force" in again.stderr
    assert (
        _script("make_csv.py", str(nested), str(tmp_path / "nested.csv"), "--force").returncode == 0
    )


@pytest.mark.slow
def test_compute_mean_std_script_matches_the_datamodule(tmp_path, folder):
    config = tmp_path / "cfg.yaml"
    config.write_text(
        "data:\n  class_path: proj.data.CSVImageDataModule\n  init_args:\n"
        f"    csv_file: {folder / 'labels.csv'}\n    image_dir: {folder / 'images'}\n"
        "    image_size: 16\n    val_fraction: 0.25\n    test_fraction: 0.25\n"
    )
    result = _script("compute_mean_std.py", "--config", str(config))
    assert result.returncode == 0, result.stderr
    dm = _dm(folder, normalize="dataset")
    dm.setup("fit")
    assert f"mean: {list(dm.mean_std[0])}" in result.stdout


@pytest.mark.slow
def test_predictions_name_the_image_files(folder):
    config = str(REPO / "configs" / "catdog" / "cnn.yaml")
    main(["fit", "--config", config, *tiny_csv_args(folder), *QUIET, "--trainer.max_epochs", "1"])
    main(["predict", "--config", config, *tiny_csv_args(folder), *QUIET, "--ckpt_path", "best"])
    lines = Path("logs/catdog/cnn/version_1/predictions.csv").read_text().splitlines()
    assert lines[0] == "id,target,pred,prob" and len(lines) == 1 + 4  # 20% of each class of 12
    assert all(line.split(",")[0].endswith(".png") for line in lines[1:])
    assert all(line.split(",")[1] in NAMES for line in lines[1:])


@pytest.mark.slow
def test_no_test_split_fits_to_the_end_and_test_is_one_line(folder, caplog, capsys):
    config = str(REPO / "configs" / "catdog" / "cnn.yaml")
    no_test = [*tiny_csv_args(folder), "--data.init_args.test_fraction", "0", *QUIET]
    main(["fit", "--config", config, *no_test, "--trainer.max_epochs", "1"])
    said = "No test after fit: data: CSVImageDataModule has no 'test' split (add one with"
    assert said in caplog.text
    metrics = json.loads(Path("logs/catdog/cnn/version_0/metrics.json").read_text())
    assert metrics["best_checkpoint"] and "test" not in metrics
    for subcommand in ("test", "predict"):
        with pytest.raises(SystemExit) as exit_info:
            main([subcommand, "--config", config, *no_test, "--ckpt_path", "best"])
        assert exit_info.value.code == 1
        err = capsys.readouterr().err
        assert "error: data: CSVImageDataModule has no 'test' split" in err
        assert "Traceback" not in err
