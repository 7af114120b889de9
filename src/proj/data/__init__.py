"""LightningDataModules, one per dataset, on one image base (`ImageDataModule`)."""

from proj.data.cifar import CIFAR2DataModule, CIFAR10DataModule
from proj.data.csv_dataset import CSVImageDataset
from proj.data.csv_images import CSVImageDataModule
from proj.data.fashion_mnist import FashionMNISTDataModule
from proj.data.image_datamodule import ImageDataModule
from proj.data.image_files import ImageFilesDataModule
from proj.data.image_folder import ImageFolderDataModule
from proj.data.tensor_datamodule import TensorImageDataModule

__all__ = [
    "CIFAR2DataModule",
    "CIFAR10DataModule",
    "CSVImageDataModule",
    "CSVImageDataset",
    "FashionMNISTDataModule",
    "ImageDataModule",
    "ImageFilesDataModule",
    "ImageFolderDataModule",
    "TensorImageDataModule",
]
