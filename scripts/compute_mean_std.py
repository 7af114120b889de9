"""Per-channel mean and std of the training split of the DataModule in a config.

    python scripts/compute_mean_std.py --config configs/catdog/cnn.yaml

Builds the config's `data` section only (no model, no training) and reads raw batches,
before any normalisation; prints the numbers to paste under the data's `normalize`.
"""

import argparse
import sys

import yaml
from jsonargparse import ArgumentParser
from lightning import LightningDataModule

from proj.data.stats import channel_mean_std


def load_datamodule(config_path: str) -> LightningDataModule:
    with open(config_path) as f:
        config = yaml.safe_load(f) or {}
    if "data" not in config:
        raise SystemExit(f"{config_path}: no data section")
    parser = ArgumentParser()
    parser.add_argument("--data", type=LightningDataModule, required=True)
    return parser.instantiate_classes(parser.parse_object({"data": config["data"]})).data


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--config", required=True, help="a config file with a data section")
    args = cli.parse_args(argv)
    datamodule = load_datamodule(args.config)
    datamodule.prepare_data()
    datamodule.setup("fit")
    mean, std = channel_mean_std(datamodule.train_dataloader())
    print(f"mean: {list(mean)}\nstd:  {list(std)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
