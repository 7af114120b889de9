"""Export two real Fashion-MNIST classes as PNG files: a CSV in the lesson's format, or a
folder per class.

The cats-and-dogs lesson needs a folder of images and a `file name,label` CSV, and most
users bring a folder per class; no such photos can be downloaded here, so this writes
either from Fashion-MNIST (found as the Fashion-MNIST DataModule finds it): by default
Sneaker (label 0) vs Ankle boot (label 1), 1,000 training images of each and all 2,000
test images of the two classes.

    python scripts/make_fashion_csv.py                   # -> data/fashion_pair/{images/,train.csv,test.csv}
    python -m proj fit --config configs/catdog/cnn.yaml
    python scripts/make_fashion_csv.py --layout folder   # -> data/fashion_folder/{train,test}/<class>/
    python -m proj fit --config configs/catdog/folder.yaml
"""

import argparse
import csv
import sys
from pathlib import Path

from PIL import Image

from proj.data import FashionMNISTDataModule

DEFAULT_OUT = {"csv": Path("data/fashion_pair"), "folder": Path("data/fashion_folder")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layout", choices=["csv", "folder"], default="csv")
    parser.add_argument(
        "--out", type=Path, help="default: data/fashion_pair or data/fashion_folder"
    )
    parser.add_argument("--data_dir", default="data", help="where Fashion-MNIST is (or goes)")
    parser.add_argument("--classes", type=int, nargs=2, default=[7, 9], help="Fashion-MNIST labels")
    parser.add_argument("--train_per_class", type=int, default=1000)
    parser.add_argument("--test_per_class", type=int, help="default: all 1,000 of each")
    parser.add_argument("--force", action="store_true", help="overwrite an existing export")
    args = parser.parse_args(argv)

    out = args.out or DEFAULT_OUT[args.layout]
    done = out / "train.csv" if args.layout == "csv" else out / "train"
    if done.exists() and not args.force:
        parser.error(f"{out} already holds an export; pass --force to overwrite it")
    source = FashionMNISTDataModule(data_dir=args.data_dir)
    source.prepare_data()
    names = [
        source.class_names[c].lower().replace(" ", "_").replace("/", "_") for c in args.classes
    ]
    for split, train, limit in (
        ("train", True, args.train_per_class),
        ("test", False, args.test_per_class),
    ):
        images, labels = source._read_split(train=train)
        rows = []
        for new_label, old_label in enumerate(args.classes):
            folder = out / "images" if args.layout == "csv" else out / split / names[new_label]
            folder.mkdir(parents=True, exist_ok=True)
            for i in (labels == old_label).nonzero().flatten()[:limit].tolist():
                file = f"{split}_{names[new_label]}_{i:05d}.png"
                Image.fromarray(images[i, 0].numpy(), mode="L").save(folder / file)
                rows.append((file, new_label))
        if args.layout == "csv":
            with open(out / f"{split}.csv", "w", newline="") as f:
                csv.writer(f).writerows(rows)
            print(f"{out / f'{split}.csv'}: {len(rows)} images")
        else:
            print(f"{out / split}: {len(rows)} images in {', '.join(names)}/")
    print(f"labels: 0 = {names[0]}, 1 = {names[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
