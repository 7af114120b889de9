"""Write the lesson's `file name,label` CSV for a folder of images.

Two layouts are understood: one subfolder per class (`root/cat/1.jpg`, `root/dog/2.jpg`),
or flat file names that start with the class (`root/cat.12.jpg`, `root/dog.7.jpg`, the
common cats-vs-dogs download). Paths in the CSV are relative to the root, which is the
`image_dir` to give the DataModule.

    python scripts/make_csv.py data/catdog/images data/catdog/labels.csv
"""

import argparse
import csv
import sys
from pathlib import Path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def find_images(root: Path) -> tuple[list[tuple[str, str]], str]:
    """(relative path, class name) pairs and the layout they were found in."""
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    if folders:
        pairs = [
            (str(f.relative_to(root)), folder.name)
            for folder in folders
            for f in sorted(folder.rglob("*"))
            if f.suffix.lower() in IMAGE_SUFFIXES
        ]
        return pairs, "one folder per class"
    pairs = [
        (f.name, f.name.split(".")[0])
        for f in sorted(root.iterdir())
        if f.suffix.lower() in IMAGE_SUFFIXES and "." in f.stem
    ]
    return pairs, "class.N.ext file names"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder of images (the DataModule's image_dir)")
    parser.add_argument("csv", type=Path, help="the CSV file to write")
    parser.add_argument("--class_names", nargs="+", help="class order (default: sorted names)")
    parser.add_argument("--header", action="store_true", help="write a 'file,label' header row")
    parser.add_argument("--force", action="store_true", help="overwrite an existing CSV")
    args = parser.parse_args(argv)

    if not args.root.is_dir():
        parser.error(f"{args.root}: no such folder")
    if args.csv.exists() and not args.force:
        parser.error(f"{args.csv} exists; pass --force to overwrite it")
    pairs, layout = find_images(args.root)
    if not pairs:
        parser.error(f"{args.root}: no images found in class subfolders or as class.N.ext files")
    names = args.class_names or sorted({name for _, name in pairs})
    unknown = sorted({name for _, name in pairs} - set(names))
    if unknown:
        parser.error(f"classes found but not in --class-names: {unknown}")
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with open(args.csv, "w", newline="") as f:
        writer = csv.writer(f)
        if args.header:
            writer.writerow(["file", "label"])
        writer.writerows((path, names.index(name)) for path, name in pairs)
    counts = {name: sum(1 for _, n in pairs if n == name) for name in names}
    print(f"{args.csv}: {len(pairs)} images ({layout}); labels {dict(enumerate(names))}; {counts}")
    print(f"class_names for the config: {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
