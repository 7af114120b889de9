"""Image files decoded once and kept as uint8 pixels: in memory, or memory-mapped on disk.

A per-sample loader decodes every JPEG again every epoch, and decoding costs more than
everything else it does to an image. The CSV DataModule decodes each file once anyway
(to report unreadable ones before training); this keeps what that pass decoded, so every
epoch after it crops and flips pixels already in memory.

On disk a cache is a folder: `index.json` (each file's offset, shape, size and mtime)
and one flat uint8 file of all images, named in the index. A file whose size or mtime
changed is decoded again; the rest are copied over from the previous build. Builds take
an exclusive lock, so a second run started at the same time waits and then reuses the
first one's cache; the index is replaced atomically, so a reader sees a whole build.
"""

import json
import logging
import os
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image

from proj.errors import DataFormatError
from proj.images import load_rgb
from proj.json_files import write_json

try:
    import fcntl
except ImportError:  # Windows: two runs building one cache at once are not kept apart
    fcntl = None

log = logging.getLogger(__name__)
CacheMode = Literal["none", "memory", "disk"]
Entry = tuple[int, int, int, int, int]  # offset, height, width, file size, mtime_ns


def decode_reduced(path: Path, min_side: int) -> np.ndarray:
    """(H, W, 3) uint8 with a short side of at least `min_side` (unless the file's is
    smaller): JPEGs through their reduced-size decoding, anything still over twice
    `min_side` resized down to it."""
    image = load_rgb(path, min_side=min_side)
    short = min(image.size)
    if short > 2 * min_side:
        size = (round(image.width * min_side / short), round(image.height * min_side / short))
        image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(image)


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


class DecodedImages:
    """Every image of a dataset decoded once, in threads (Pillow decodes without the GIL).

    Args:
        mode: 'none' decodes each image again whenever it is read (as the caches decoded
            it: the same pixels in every mode); 'memory' keeps the
            pixels in RAM; 'disk' memory-maps them from `folder`, kept between runs.
        folder: Where the disk cache lives (mode 'disk' only).
        min_side: The short side images are kept at, at least (see `decode_reduced`).
    """

    def __init__(self, mode: CacheMode, folder: Path | None, min_side: int) -> None:
        if mode == "disk" and folder is None:
            raise ValueError("a disk cache needs a folder")
        self.mode, self.folder, self.min_side = mode, folder, min_side
        self.entries: dict[str, Entry] = {}
        self.arrays: dict[str, np.ndarray] = {}
        self.blob_name: str | None = None
        self._blob: np.ndarray | None = None

    def decode_all(self, paths: Sequence[Path]) -> dict[Path, str]:
        """Decode (or find in the cache) every file; returns the unreadable ones, with why."""
        if self.mode == "disk":
            return self._build_disk(paths)
        errors: dict[Path, str] = {}
        for path, result in zip(paths, self._decode_each(paths), strict=True):
            if isinstance(result, str):
                errors[path] = result
            elif self.mode == "memory":
                self.arrays[str(path)] = result
        return errors

    def __getitem__(self, path: Path) -> torch.Tensor:
        """(3, H, W) uint8, the same pixels in every mode: 'none' decodes as the caches do."""
        if self.mode == "none":
            pixels = decode_reduced(path, self.min_side)
        elif self.mode == "memory":
            pixels = self.arrays[str(path)]
        else:
            offset, height, width, _, _ = self.entries[str(path)]
            pixels = self._mapped()[offset : offset + height * width * 3].reshape(height, width, 3)
        return torch.from_numpy(pixels).permute(2, 0, 1)

    def __getstate__(self) -> dict[str, Any]:
        # DataLoader workers started by spawn reopen the map instead of copying it
        return {**self.__dict__, "_blob": None}

    def _decode_each(self, paths: Sequence[Path]):
        """Pixels (or a DataFormatError's message) of each path, in order."""
        keep = self.mode != "none"

        def decode(path: Path) -> np.ndarray | str | None:
            try:
                if keep:
                    return decode_reduced(path, self.min_side)
                load_rgb(path)  # checked only
            except DataFormatError as err:
                return str(err)
            return None

        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            yield from pool.map(decode, paths)

    def _mapped(self) -> np.ndarray:
        if self._blob is None:
            # copy-on-write: torch wants writable arrays; nothing is ever written back
            self._blob = np.memmap(self.folder / self.blob_name, dtype=np.uint8, mode="c")
        return self._blob

    def _build_disk(self, paths: Sequence[Path]) -> dict[Path, str]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "lock", "a") as lock:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            old = self._read_index()
            stamps = {str(p): _stamp(p) for p in paths}
            reusable = {
                key: old["entries"][key]
                for key, stamp in stamps.items()
                if key in old["entries"] and tuple(old["entries"][key][3:]) == stamp
            }
            known_bad = {
                Path(key): old["errors"][key][2]
                for key, stamp in stamps.items()
                if key in old["errors"] and tuple(old["errors"][key][:2]) == stamp
            }
            if len(reusable) + len(known_bad) == len(paths):
                self.entries, self.blob_name = reusable, old["blob"]
                return known_bad
            try:
                return self._write(paths, stamps, reusable, old)
            except OSError as err:  # a full disk, a read-only folder: train without it
                for partial in self.folder.glob("*.tmp"):
                    partial.unlink()
                log.warning(
                    "%s: image cache not written (%s); decoding every epoch", self.folder, err
                )
                self.mode = "none"
                return self.decode_all(paths)

    def _read_index(self) -> dict[str, Any]:
        index = self.folder / "index.json"
        try:
            old = json.loads(index.read_text())
        except (OSError, ValueError):
            old = {}
        if old.get("min_side") != self.min_side or not (self.folder / old["blob"]).is_file():
            return {"entries": {}, "errors": {}, "blob": None}
        return old

    def _write(self, paths, stamps, reusable, old) -> dict[Path, str]:
        todo = [p for p in paths if str(p) not in reusable]
        log.info(
            "Decoding %d image(s) into %s (once; later runs reuse them)", len(todo), self.folder
        )
        previous = (
            np.memmap(self.folder / old["blob"], dtype=np.uint8, mode="r") if reusable else None
        )
        blob_name = f"images-{uuid.uuid4().hex[:12]}.u8"
        entries: dict[str, Entry] = {}
        errors: dict[Path, str] = {}
        offset = 0
        decoded = self._decode_each(todo)
        with open(self.folder / f"{blob_name}.tmp", "wb") as out:
            for path in paths:
                key = str(path)
                if key in reusable:
                    start, height, width = reusable[key][:3]
                    pixels = previous[start : start + height * width * 3]
                else:
                    result = next(decoded)
                    if isinstance(result, str):
                        errors[path] = result  # kept in the index: not decoded again
                        continue
                    pixels, (height, width) = result, result.shape[:2]
                out.write(np.ascontiguousarray(pixels).data)  # no bytes copy
                entries[key] = (offset, height, width, *stamps[key])
                offset += height * width * 3
        os.replace(self.folder / f"{blob_name}.tmp", self.folder / blob_name)
        index = {
            "min_side": self.min_side,
            "blob": blob_name,
            "entries": entries,
            "errors": {str(p): [*stamps[str(p)], message] for p, message in errors.items()},
        }
        write_json(self.folder / "index.json", index)
        for stale in self.folder.glob("images-*.u8*"):
            if stale.name != blob_name:  # a reader that mapped it keeps its pages
                stale.unlink()
        self.entries, self.blob_name, self._blob = entries, blob_name, None
        log.info("%s: %d image(s), %.1f MB", self.folder, len(entries), offset / 1e6)
        return errors
