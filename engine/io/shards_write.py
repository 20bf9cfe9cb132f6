"""Writing sharded arrays (the format: engine.data.shards), and turning an image folder, an
NPZ file or an IDX pair into them, a shard at a time (an image folder's memory stays that of
one shard however many pictures it holds)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Iterable

import numpy as np

from engine.data.npz import _check_type
from engine.data.shards import FORMAT, MANIFEST, VERSION
from engine.io.atomic import output_problem, remove_stale, sync, temporary_path
from engine.errors import DatasetError

SHARD_ROWS = 8192
"""Samples per shard unless asked otherwise."""


def write_shards(folder, parts: Iterable[tuple[np.ndarray, np.ndarray]],
                 classes: list[str] | None = None) -> dict:
    """Write `parts`, (x, y) numpy arrays of numbers, one shard each, as a shards folder at
    `folder`, which must not exist yet. The shards go into a hidden folder beside it that is
    renamed to `folder` once complete, so a failed or killed write leaves nothing under that
    name (and its leftovers are removed by the next write there: engine.io.atomic's
    temporary names and their clean-up, as for every file Layerwise writes). Returns {"samples",
    "shards", "bytes"}."""
    folder = Path(folder)
    problem = output_problem(folder)
    if problem and "folder; give a file name" not in problem:
        raise DatasetError(f"the shards cannot be written to '{folder}': {problem}")
    if folder.exists():
        raise DatasetError(f"'{folder}' already exists; give a new folder name for the shards")
    remove_stale(folder)
    tmp = temporary_path(folder)
    try:
        tmp.mkdir()
        summary = _write_parts(tmp, parts, classes)
        os.rename(tmp, folder)
        sync(folder.parent)
    except OSError as exc:
        # numpy reports a short write without an error number ("30000 requested and 14304
        # written"): the disk is full, or the file system refused the rest
        reason = exc.strerror or f"{exc}: only part of the data was written (is the disk full?)"
        raise DatasetError(f"the shards could not be written to '{folder}': {reason}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return summary


def _write_parts(tmp: Path, parts, classes) -> dict:
    shards, first, samples, size = [], None, 0, 0
    for k, (x, y) in enumerate(parts):
        x, y = np.ascontiguousarray(x), np.ascontiguousarray(y)
        _check_part(k, x, y)
        if first is None:
            first = (x.shape[1:], x.dtype, y.shape[1:])
        elif (x.shape[1:], x.dtype, y.shape[1:]) != first:
            raise DatasetError(f"part {k} holds samples of shape {list(x.shape[1:])} of "
                               f"{x.dtype.name}, the first part {list(first[0])} of "
                               f"{first[1].name}: every part must hold the same")
        names = {"x": f"x-{k:05d}.npy", "y": f"y-{k:05d}.npy"}
        for key, array in (("x", x), ("y", y)):
            with open(tmp / names[key], "wb") as f:
                np.lib.format.write_array(f, array, allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
            size += (tmp / names[key]).stat().st_size
        shards.append(names)
        samples += len(x)
    if not samples:
        raise DatasetError("there are no samples to write")
    manifest = {"format": FORMAT, "version": VERSION, "classes": classes, "shards": shards}
    with open(tmp / MANIFEST, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    return {"samples": samples, "shards": len(shards), "bytes": size}


def _check_part(k: int, x: np.ndarray, y: np.ndarray) -> None:
    for name, array in (("x", x), ("y", y)):
        _check_type(f"part {k}, {name}", array.shape, array.dtype)
    if x.ndim < 2:
        raise DatasetError(f"part {k}: x must have one row per sample (at least 2 "
                           f"dimensions), but it has shape {list(x.shape)}")
    if len(x) != len(y):
        raise DatasetError(f"part {k} has {len(x)} inputs but {len(y)} labels; they must be "
                           f"the same number")


# ----------------------------------------------------------------------------- converting

def to_shards(source, folder, rows: int = SHARD_ROWS, size=None, color: str = "auto") -> dict:
    """Write the data of `source` (a folder of images, one subfolder per class, decoded as
    the image reader does with `size` and `color`; an NPZ file of X and y; an IDX image file
    and its labels) as shards of `rows` samples at `folder`, with the values as stored (the
    pictures as bytes): reading the shards normalises them as reading the source does.
    Returns write_shards' summary with the source's "kind"."""
    from engine.data.readers import check_path
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise DatasetError(f"rows must be a whole number of at least 1, not {rows!r}")
    source = Path(source)
    kind = check_path(source)
    if kind == "images":
        parts, classes = _image_parts(source, rows, size, color)
    elif kind in ("npz", "idx"):
        x, y = _arrays(source, kind)
        parts, classes = ((x[i:i + rows], y[i:i + rows]) for i in range(0, len(x), rows)), None
    else:
        raise DatasetError(f"'{source}' is {kind.upper()}; shards are written from a folder of "
                           f"images, an NPZ file or an IDX file")
    return {"kind": kind, **write_shards(folder, parts, classes)}


def _image_parts(folder: Path, rows: int, size, color: str):
    from engine.data.images import class_files, image_layout
    from engine.data.stream import ImageFiles
    classes, files = class_files(folder)
    mode, dims, resize = image_layout([f for _, f in files], size, color)
    pictures = ImageFiles(tuple(str(f) for _, f in files), mode, dims, resize)
    labels = np.array([c for c, _ in files], dtype=np.int64)
    chunks = [list(range(i, min(len(files), i + rows))) for i in range(0, len(files), rows)]

    def parts():
        with pictures.stream_raw(chunks) as decoded:
            for chunk, x in zip(chunks, decoded):
                yield x.numpy(), labels[chunk[0]:chunk[-1] + 1]
    return parts(), classes


def _arrays(path: Path, kind: str) -> tuple[np.ndarray, np.ndarray]:
    if kind == "npz":
        from engine.data.npz import read_arrays
        arrays = read_arrays(path, ("X", "y"))
        return arrays["X"], arrays["y"]
    from engine.data.idx import find_labels, read_idx
    labels = find_labels(path)
    if labels is None:
        raise DatasetError(f"no label file found for '{path}': expected a '...-labels-idx1-"
                           f"ubyte' file next to it")
    x = read_idx(path)
    return (x[:, None] if x.ndim == 3 else x), read_idx(labels)
