"""scripts/export.py: torch.export, ONNX and TorchScript files that give PyTorch's logits on
real images."""

import json
import re
import subprocess
import sys
from pathlib import Path

import lightning as L
import onnxruntime
import pytest
import torch

from proj.cli import main
from proj.course import NeuralNetwork
from proj.data import CSVImageDataModule
from proj.data.csv_images import IMAGENET_MEAN_STD
from proj.export import deployable, real_inputs
from proj.tasks import ImageClassifier
from tests.conftest import QUIET, REPO, tiny_data_args, write_image_folder


@pytest.mark.slow
@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_export_round_trip_matches_pytorch(tiny_data_dir, model):
    config = str(REPO / "configs" / "fashion_mnist" / f"{model}.yaml")
    tta = ["--model.init_args.tta", "[flip, shift]"] if model == "cnn" else []  # folded in too
    main(["fit", "--config", config, *tiny_data_args(tiny_data_dir), *QUIET, *tta,
          "--trainer.max_epochs", "1", "--test_after_fit", "false"])  # fmt: skip
    # TorchScript only when asked for (deprecated by torch): asked for with the CNN
    formats = ["--formats", "pt2", "onnx", "torchscript"] if model == "cnn" else []
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "export.py"), "--config", config,
         "--ckpt_path", "best", *formats],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    diffs = [float(d) for d in re.findall(r"max \|exported - pytorch\| = (\S+)", result.stdout)]
    assert len(diffs) == (3 if formats else 2) and max(diffs) <= 1e-4
    out = Path("logs/fashion_mnist") / model / "version_0" / "export"
    card = json.loads((out / "model.json").read_text())
    assert card["class_names"][0] == "T-shirt/top" and card["input"]["shape"] == [
        "batch",
        1,
        28,
        28,
    ]

    # an independent check: the files, loaded fresh, against the checkpoint's module
    checkpoint = Path(card["checkpoint"])
    module = L.LightningModule.load_from_checkpoint(checkpoint, map_location="cpu").eval()
    datamodule = L.LightningDataModule.load_from_checkpoint(checkpoint)
    datamodule.setup("test")
    normalized, raw = real_inputs(datamodule, batches=1)[0]
    with torch.no_grad():
        expected = module(normalized)
        from_pt2 = torch.export.load(str(out / "model.pt2")).module()(raw)
        one = torch.export.load(str(out / "model.pt2")).module()(raw[:1])
    session = onnxruntime.InferenceSession(str(out / "model.onnx"))
    from_onnx = torch.from_numpy(session.run(None, {"images": raw.numpy()})[0])
    assert torch.allclose(from_pt2, expected, atol=1e-4)
    assert torch.allclose(one, expected[:1], atol=1e-4)
    assert torch.allclose(from_onnx, expected, atol=1e-4)
    assert (
        from_onnx.shape == from_pt2.shape == (len(raw), 10)
    )  # any batch size, not the 2 exported with
    assert (out / "model.torchscript.pt").exists() == (model == "cnn")


@pytest.mark.slow
def test_export_without_a_run_says_so():
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "export.py"), "--experiment", "nothing/here",
         "--ckpt_path", "best"], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2 and "nothing/here" in result.stderr


def test_a_csv_image_model_exports_with_the_normalisation_its_datamodule_learns(tmp_path):
    # CSV datasets decide their mean/std in setup: the export must read it after that
    root = write_image_folder(tmp_path / "catdog")
    datamodule = CSVImageDataModule(
        csv_file=str(root / "labels.csv"), image_dir=str(root / "images"),
        class_names=("cat", "dog"), image_size=32, test_fraction=0.25,
    )  # fmt: skip
    datamodule.setup("test")
    assert datamodule.normalization == IMAGENET_MEAN_STD
    module = ImageClassifier(NeuralNetwork(in_features=3 * 32 * 32, num_classes=2), 2).eval()
    model = deployable(module, datamodule)
    assert torch.allclose(model.mean.flatten(), torch.tensor(IMAGENET_MEAN_STD[0]))
    normalized, raw = real_inputs(datamodule, batches=1)[0]
    assert float(raw.min()) >= 0.0 and float(raw.max()) <= 1.0  # the images, not normalised
    with torch.no_grad():
        assert torch.allclose(model(raw), module(normalized), atol=1e-5)
