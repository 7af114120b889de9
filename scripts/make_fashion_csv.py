"""Export two real Fashion-MNIST classes as PNG files plus CSVs in the lesson's format.

The cats-and-dogs lesson needs a folder of images and a `file name,label` CSV; no such
photos can be downloaded here, so this writes one from Fashion-MNIST (found as the
Fashion-MNIST DataModule finds it): by default Sneaker (label 0) vs Ankle boot
(label 1), 2,000 training and all 2,000 test images of the two classes.

    python scripts/make_fashion_csv.py            # -> data/fashion_pair/{images/,train.csv,test.csv}
    python -m proj fit --config configs/catdog/cnn.yaml
"""

import argparse
import csv
import sys
from pathlib import Path

from PIL import Image

from proj.data import FashionMNISTDataModule


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/fashion_pair"))
    parser.add_argument("--data_dir", default="data", help="where Fashion-MNIST is (or goes)")
    parser.add_argument("--classes", type=int, nargs=2, default=[7, 9], help="Fashion-MNIST labels")
    parser.add_argument("--train_per_class", type=int, default=1000)
    parser.add_argument("--force", action="store_true", help="overwrite an existing export")
    args = parser.parse_args(argv)

    if (args.out / "train.csv").exists() and not args.force:
        parser.error(f"{args.out} already holds an export; pass --force to overwrite it")
    source = FashionMNISTDataModule(data_dir=args.data_dir)
    source.prepare_data()
    images_dir = args.out / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    for split, train, limit in (("train", True, args.train_per_class), ("test", False, None)):
        images, labels = source._read_split(train=train)
        rows = []
        for new_label, old_label in enumerate(args.classes):
            picked = (labels == old_label).nonzero().flatten()[:limit]
            name = source.class_names[old_label].lower().replace(" ", "_").replace("/", "_")
            for i in picked.tolist():
                file = f"{split}_{name}_{i:05d}.png"
                Image.fromarray(images[i, 0].numpy(), mode="L").save(images_dir / file)
                rows.append((file, new_label))
        with open(args.out / f"{split}.csv", "w", newline="") as f:
            csv.writer(f).writerows(rows)
        print(f"{args.out / f'{split}.csv'}: {len(rows)} images")
    names = [source.class_names[c] for c in args.classes]
    print(f"labels: 0 = {names[0]}, 1 = {names[1]}; images in {images_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
