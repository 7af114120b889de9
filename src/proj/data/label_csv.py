"""Reading the lesson's CSV of `file name, label` rows, with every bad row reported at once."""

import csv
from dataclasses import dataclass
from pathlib import Path

from proj.errors import DataFormatError, DataNotFoundError

_MAX_LISTED = 20


@dataclass(frozen=True)
class Row:
    """One labelled image: its path as written, its class index, its line in the CSV."""

    file: str
    label: int
    line: int


def read_label_csv(csv_file: str | Path, class_names: tuple[str, ...]) -> list[Row]:
    """Rows of `file,label`; the label is an index 0..K-1 or one of `class_names`.

    A first line like `filename,label` is taken as a header. Problems are collected over
    the whole file and reported together, each with its line number.
    """
    rows, problems = parse_label_csv(csv_file, class_names)
    if problems:
        listed = listing([message for _, message in problems])
        raise DataFormatError(f"{csv_file}: {len(problems)} bad row(s):\n{listed}")
    return rows


def parse_label_csv(
    csv_file: str | Path, class_names: tuple[str, ...]
) -> tuple[list[Row], list[tuple[int, str]]]:
    """The good rows, and (line, `line N: what is wrong`) for each bad one, for a caller
    that adds problems of its own (missing images) to one report."""
    path = Path(csv_file)
    if not path.is_file():
        raise DataNotFoundError(f"{path}: CSV file not found")
    with open(path, newline="", encoding="utf-8-sig") as f:
        lines = [
            (n, row) for n, row in enumerate(csv.reader(f), start=1) if any(c.strip() for c in row)
        ]
    if not lines:
        raise DataFormatError(f"{path}: the CSV file is empty; expected rows of 'file name,label'")
    if _is_header(lines[0][1], class_names):
        lines = lines[1:]
        if not lines:
            raise DataFormatError(f"{path}: the CSV file has a header but no rows")
    rows, problems = [], []
    for line, cells in lines:
        if len(cells) != 2:
            problems.append(
                (line, f"line {line}: expected 2 columns (file name, label), found {len(cells)}")
            )
            continue
        label = _label(cells[1], class_names)
        if label is None:
            problems.append(
                (
                    line,
                    f"line {line}: label {cells[1].strip()!r} is neither an integer in "
                    f"0..{len(class_names) - 1} nor one of {list(class_names)}",
                )
            )
            continue
        rows.append(Row(cells[0].strip(), label, line))
    return rows, problems


def listing(items: list[str]) -> str:
    shown = [f"  {item}" for item in items[:_MAX_LISTED]]
    if len(items) > _MAX_LISTED:
        shown.append(f"  ... and {len(items) - _MAX_LISTED} more")
    return "\n".join(shown)


_HEADER_WORDS = {"file", "filename", "file_name", "image", "path", "id", "label", "class", "target"}


def _is_header(cells: list[str], class_names: tuple[str, ...]) -> bool:
    words = {c.strip().lower() for c in cells}
    return len(cells) == 2 and _label(cells[1], class_names) is None and bool(words & _HEADER_WORDS)


def _label(text: str, class_names: tuple[str, ...]) -> int | None:
    text = text.strip()
    if text in class_names:
        return class_names.index(text)
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 <= value < len(class_names) else None
