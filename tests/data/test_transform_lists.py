"""Any torchvision v2 transform from a config, on every DataModule: the course catalogue's,
each through a DataModule; through the CLI on a class folder and on Fashion-MNIST."""

import json
from pathlib import Path

import pytest
import torch
from torchvision.transforms import v2

from proj.cli import main
from proj.data import FashionMNISTDataModule, ImageFolderDataModule
from proj.errors import ConfigError
from tests.conftest import MLP, QUIET, REPO, tiny_data_args, write_class_folders

# the course catalogue's transforms (COURSE.md), and v2's automatic augmentations
CATALOGUE = {
    "RandomCrop": v2.RandomCrop(16, padding=2),
    "CenterCrop": v2.CenterCrop(16),
    "RandomResizedCrop": v2.RandomResizedCrop(16, antialias=True),
    "RandomHorizontalFlip": v2.RandomHorizontalFlip(),
    "RandomVerticalFlip": v2.RandomVerticalFlip(),
    "RandomRotation": v2.RandomRotation(15),
    "Resize": v2.Resize((16, 16), antialias=True),
    "Pad": v2.Pad(2),
    "ColorJitter": v2.ColorJitter(0.4, 0.4, 0.4, 0.1),
    "Grayscale": v2.Grayscale(num_output_channels=3),
    "RandomGrayscale": v2.RandomGrayscale(p=0.5),
    "RandomAffine": v2.RandomAffine(10, translate=(0.1, 0.1)),
    "RandomPerspective": v2.RandomPerspective(p=1.0),
    "RandomErasing": v2.RandomErasing(p=1.0),
    "GaussianBlur": v2.GaussianBlur(3),
    "RandomChoice": v2.RandomChoice([v2.RandomHorizontalFlip(), v2.RandomRotation(10)]),
    "RandomApply": v2.RandomApply([v2.ColorJitter(0.3)], p=0.5),
    "RandomOrder": v2.RandomOrder([v2.RandomVerticalFlip(), v2.GaussianBlur(3)]),
    "AutoAugment": v2.AutoAugment(),
    "RandAugment": v2.RandAugment(),
    "TrivialAugmentWide": v2.TrivialAugmentWide(),
}
FIXED_SIZE = v2.Resize((16, 16), antialias=True)  # a batch needs one size


@pytest.fixture(scope="module")
def pets(tmp_path_factory) -> Path:
    return write_class_folders(tmp_path_factory.mktemp("transforms") / "pets")


def _folder(root: Path, **kwargs) -> ImageFolderDataModule:
    options = {"image_size": 16, "batch_size": 4, "val_fraction": 0.25, "cache": "memory"}
    return ImageFolderDataModule(str(root), **{**options, **kwargs})


@pytest.mark.parametrize("name", CATALOGUE)
def test_each_catalogue_transform_runs_through_a_datamodule(pets, name):
    dm = _folder(pets, train_transforms=[CATALOGUE[name], FIXED_SIZE])
    dm.setup("fit")
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (4, 3, 16, 16) and images.dtype == torch.uint8 and len(labels) == 4


@pytest.mark.parametrize("crops", [("FiveCrop", 5), ("TenCrop", 10)])
def test_multi_crop_evaluation_averages_the_logits_over_the_crops(pets, crops):
    name, count = crops
    dm = _folder(pets, eval_transforms=[v2.Resize(32, antialias=True), getattr(v2, name)(28)])
    dm.setup("fit")
    images, _ = next(iter(dm.val_dataloader()))
    assert images.shape == (4, count, 3, 28, 28)
    from proj.models import FashionCNN
    from proj.tasks import ImageClassifier

    model = ImageClassifier(FashionCNN(num_classes=2, in_channels=3), num_classes=2).eval()
    with torch.no_grad():
        averaged = model(images.float() / 255)
        one_by_one = torch.stack([model.net(images[:, i].float() / 255) for i in range(count)])
    assert torch.allclose(averaged, one_by_one.mean(dim=0), atol=1e-6)


def test_a_normalize_in_a_list_becomes_the_batch_normalisation(pets):
    normalize = v2.Normalize([0.5, 0.4, 0.3], [0.2, 0.2, 0.2])
    dm = _folder(
        pets, eval_transforms=[v2.Resize(16, antialias=True), v2.CenterCrop(16), normalize]
    )
    dm.setup("fit")
    assert dm.normalization == ((0.5, 0.4, 0.3), (0.2, 0.2, 0.2))
    images, _ = next(iter(dm.val_dataloader()))
    assert images.dtype == torch.uint8  # the rest ran per sample on the uint8 image
    with pytest.raises(ConfigError, match="their Normalize differ"):
        _folder(pets, train_transforms=[v2.Normalize([0.1] * 3, [1.0] * 3)],
                eval_transforms=[normalize]).setup("fit")  # fmt: skip


def test_fashion_mnist_switches_to_its_per_sample_path(tiny_data_dir, caplog):
    dm = FashionMNISTDataModule(str(tiny_data_dir), val_size=64, batch_size=8,
                                train_transforms=[v2.RandomRotation(10)])  # fmt: skip
    assert not dm.in_memory and "per-sample path (in_memory: false) runs" in caplog.text
    dm.prepare_data()
    dm.setup("fit")
    images, _ = next(iter(dm.train_dataloader()))
    assert images.shape == (8, 1, 28, 28)
    train, val = dm.splits["train"].dataset, dm.splits["val"].dataset
    assert val.data is train.data and val.transform is not train.transform  # read once
    assert dm.class_counts is not None and sum(dm.class_counts) == 320 - 64


TRANSFORMS = json.dumps([
    {"class_path": "torchvision.transforms.v2.RandomRotation", "init_args": {"degrees": 10}},
    {"class_path": "torchvision.transforms.v2.ColorJitter", "init_args": {"brightness": 0.3}},
    {"class_path": "torchvision.transforms.v2.RandAugment"},
    {"class_path": "torchvision.transforms.v2.RandomApply",
     "init_args": {"transforms": [{"class_path": "torchvision.transforms.v2.GaussianBlur",
                                   "init_args": {"kernel_size": 3}}], "p": 0.5}},
    {"class_path": "torchvision.transforms.v2.Resize", "init_args": {"size": [28, 28]}},
])  # fmt: skip
FOLDER_FITS = {
    "transforms": ["--data.train_transforms", TRANSFORMS],
    "class_weights": ["--model.class_weights", "balanced"],
    "multi_margin": ["--model.loss", "torch.nn.MultiMarginLoss"],
    "nll": ["--model.loss", "torch.nn.NLLLoss"],
    "own_loss": ["--model.loss", "tests.tasks.test_losses.FocalLoss"],
}


@pytest.mark.slow
@pytest.mark.parametrize("variant", FOLDER_FITS)
def test_a_class_folder_trains_with_each_option_from_the_command_line(tmp_path, variant):
    root = write_class_folders(tmp_path / "pets")  # mixed modes, imbalanced, a stray file
    main(["fit", "--model", "proj.tasks.ImageClassifier", "--model.net", "proj.models.FashionCNN",
          "--model.net.in_channels", "3", "--data", "proj.data.ImageFolderDataModule",
          "--data.root", str(root), "--data.image_size", "28", "--data.test_fraction", "0.2",
          "--data.batch_size", "4", "--trainer.max_epochs", "1", *QUIET,
          *FOLDER_FITS[variant]])  # fmt: skip
    test = json.loads(next(Path("logs").rglob("metrics.json")).read_text())["test"]
    assert {"test/balanced_acc", "test/macro_f1", "test/recall/cat", "test/recall/dog"} <= set(test)


@pytest.mark.slow
def test_the_mlp_config_trains_with_a_train_transforms_list(tiny_data_dir):
    rotations = "[{class_path: torchvision.transforms.v2.RandomRotation, init_args: {degrees: 10}}]"
    main(["fit", "--config", MLP, *tiny_data_args(tiny_data_dir), *QUIET,
          "--trainer.max_epochs", "1", "--data.init_args.train_transforms", rotations])  # fmt: skip
    saved = Path("logs/fashion_mnist/mlp/version_0/config.yaml").read_text()
    assert "torchvision.transforms.v2.RandomRotation" in saved


@pytest.mark.slow
def test_export_refuses_an_evaluation_transform_it_cannot_fold(tmp_path, capsys):
    import importlib.util

    root = write_class_folders(tmp_path / "pets")
    crops = '[{class_path: torchvision.transforms.v2.Resize, init_args: {size: 32}}, ' \
            '{class_path: torchvision.transforms.v2.FiveCrop, init_args: {size: 28}}]'  # fmt: skip
    main(["fit", "--model", "proj.tasks.ImageClassifier", "--model.net", "proj.models.FashionCNN",
          "--model.net.in_channels", "3", "--data", "proj.data.ImageFolderDataModule",
          "--data.root", str(root), "--data.image_size", "28", "--data.test_fraction", "0.2",
          "--data.batch_size", "4", "--data.eval_transforms", crops, "--trainer.max_epochs", "1",
          *QUIET])  # fmt: skip
    checkpoint = next(Path("logs").rglob("last.ckpt"))
    spec = importlib.util.spec_from_file_location("export", REPO / "scripts" / "export.py")
    export = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(export)
    assert export.main(["--ckpt_path", str(checkpoint)]) == 1
    err = capsys.readouterr().err
    assert "error: data.eval_transforms: export and serve cannot fold FiveCrop" in err
