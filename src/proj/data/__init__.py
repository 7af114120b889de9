"""LightningDataModules, one per dataset, on a shared in-memory batching base."""

from proj.data.cifar import CIFAR2DataModule, CIFAR10DataModule
from proj.data.csv_dataset import CSVImageDataset
from proj.data.csv_images import CSVImageDataModule
from proj.data.fashion_mnist import FashionMNISTDataModule
from proj.data.image_datamodule import ImageClassificationDataModule
from proj.data.line import LineDataModule

__all__ = [
    "CIFAR2DataModule",
    "CIFAR10DataModule",
    "CSVImageDataModule",
    "CSVImageDataset",
    "FashionMNISTDataModule",
    "ImageClassificationDataModule",
    "LineDataModule",
]
