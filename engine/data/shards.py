"""Sharded arrays: a data set larger than memory as a folder of .npy files, read row by row.

The format (version 1), written by engine.write_shards (and `python main.py shards`):

    FOLDER/shards.json   {"format": "layerwise-shards", "version": 1, "classes": [...] or null,
                          "shards": [{"x": "x-00000.npy", "y": "y-00000.npy"}, ...]}
    FOLDER/x-00000.npy   inputs, (rows, *sample shape), numbers in C order
    FOLDER/y-00000.npy   labels (rows,) as whole numbers, or regression targets (rows, ...)

Every x shard has the same sample shape and number type. Nothing is memory-mapped (it would
count against a limit on the process's address space) and nothing is unpickled: a batch's rows
are read at their offsets, so a reader's memory is that of a batch however large the folder;
the labels are read whole. What the manifest and the .npy headers declare is checked against
the files' sizes before anything is read, and the manifest names each shard by a file name in
the folder (no path; a link placed there by the folder's owner is followed).

`ArrayShards` stands where a Dataset's float32 input tensor would be, as
engine.data.stream.ImageFiles does for an image folder (both engine.data.stream.OnDisk: the
same indexing and streaming, by worker processes); its mean and spread come from a seeded sample of STATS_SAMPLE rows (all when
fewer). Loaded into memory (`stream=no`, or auto when it fits) the rows are decoded by the
same code, so both give the same numbers.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from engine.data import limits
from engine.data.dataset import (CLASSIFICATION, REGRESSION, Dataset, check_choice,
                                 given_options, make_prepared, spread)
from engine.data.npz import _check_type, _npy_header
from engine.data.stream import STATS_SAMPLE, OnDisk, Stream, _Batches, pixel_stats
from engine.data.table import NORMALISE, TASKS
from engine.errors import DatasetError

STREAM = ("auto", "yes", "no")
MANIFEST = "shards.json"
FORMAT = "layerwise-shards"
VERSION = 1
MANIFEST_LIMIT = 16 * 1024 ** 2      # bytes: a manifest of ~200,000 shards
LOAD_ROWS = 4096                     # rows decoded at a time when loaded into memory


@dataclass(frozen=True, eq=False)
class ArrayShards(OnDisk):
    """The inputs of a shards folder on disk, float32 (N, *sample_shape), normalised as
    x = (raw * scale - mean) / std (mean and std: numbers, or one per value of a sample)."""
    folder: str
    paths: tuple[str, ...]
    starts: tuple[int, ...]          # the first row of each shard, and the total at the end
    offsets: tuple[int, ...]         # where each file's values begin
    stored: np.dtype                 # the files' number type
    raw_shape: tuple[int, ...]       # a sample's shape in the files
    scale: float = 1.0
    mean: float | np.ndarray = 0.0
    std: float | np.ndarray = 1.0
    sample_shape: tuple[int, ...] = ()

    what = "arrays"

    def __len__(self) -> int:
        return self.starts[-1]

    def raw(self, indices) -> np.ndarray:
        """The rows at `indices` (negative ones from the end, as a tensor takes them) as
        stored, in native byte order, read at their offsets."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(self)
        if len(indices) and (indices.min() < -n or indices.max() >= n):
            raise IndexError(f"index out of range for {n} samples")
        indices = np.where(indices < 0, indices + n, indices)
        row = math.prod(self.raw_shape) * self.stored.itemsize
        out = np.empty((len(indices), *self.raw_shape), dtype=self.stored)
        view = out.reshape(len(indices), -1).view(np.uint8)     # rows of bytes, read into
        shard = np.searchsorted(self.starts, indices, side="right") - 1
        for s in np.unique(shard):
            try:
                with open(self.paths[s], "rb", buffering=0) as f:
                    for k in np.flatnonzero(shard == s):
                        f.seek(self.offsets[s] + (indices[k] - self.starts[s]) * row)
                        if f.readinto(view[k]) != row:
                            raise DatasetError(f"'{self.paths[s]}' ends before its row "
                                               f"{indices[k] - self.starts[s]}: the file "
                                               f"changed after it was loaded; load the "
                                               f"folder again")
            except OSError as exc:
                raise DatasetError(f"'{self.paths[s]}' cannot be read: "
                                   f"{exc.strerror or exc}") from None
        return out if self.stored.isnative else out.astype(self.stored.newbyteorder("="))

    def decode(self, indices) -> torch.Tensor:
        """The samples at `indices`, float32 and normalised; DatasetError for a value that is
        not a finite number (make_dataset refuses those for data in memory)."""
        xf = self.raw(indices).astype(np.float64)
        with np.errstate(all="ignore"):
            xf *= self.scale
            xf -= self.mean
            xf /= self.std
            xs = xf.astype(np.float32)
        if not np.isfinite(xs).all():
            raise DatasetError(f"'{self.folder}' has values that are not finite numbers (NaN "
                               f"or infinity, or beyond the range of 32-bit floats) in its "
                               f"inputs")
        return torch.from_numpy(xs).reshape(len(indices), *(self.sample_shape or
                                                             self.raw_shape))

    def normalisation(self) -> dict:
        """What is applied to the stored values, as Dataset.normalisation says it."""
        if isinstance(self.mean, np.ndarray):
            return {"kind": "standardise", "scale": self.scale,
                    "mean": self.mean.reshape(-1).tolist(), "std": self.std.reshape(-1).tolist()}
        if self.std == 1.0 and self.mean == 0.0:
            return {"kind": "none"} if self.scale == 1.0 else {"kind": "scale",
                                                               "scale": self.scale}
        return {"kind": "standardise", "scale": self.scale, "mean": self.mean, "std": self.std}


# ----------------------------------------------------------------------------- reading

def read_shards(folder: Path, task: str = "auto", normalise: str = "auto",
                stream: str = "auto") -> Dataset:
    """The data set of a shards folder. `normalise` as for NPZ files (auto: global for
    images, i.e. bytes or samples of 2 or more dimensions, features otherwise); `stream` as
    for image folders (auto: read from disk while training when the inputs would not fit the
    memory budget)."""
    check_choice("task", task, TASKS)
    check_choice("normalise", normalise, NORMALISE)
    check_choice("stream", stream, STREAM)
    manifest = _manifest(folder)
    shards, y = _inputs(folder, manifest), _labels(folder, manifest)
    resolved = task if task != "auto" else (
        CLASSIFICATION if np.issubdtype(y.dtype, np.integer) else REGRESSION)
    classes = manifest["classes"]
    if classes is not None and (resolved != CLASSIFICATION or len(classes) < 2):
        raise DatasetError(f"'{folder / MANIFEST}' names {len(classes)} classes for "
                           f"{'a regression' if resolved != CLASSIFICATION else 'labels'}: "
                           f"give at least 2 class names for classification, or null")
    images = shards.stored == np.uint8 or len(shards.raw_shape) >= 2
    how = normalise if normalise != "auto" else ("global" if images else "features")
    shards = _with_stats(shards, how)
    need, budget = len(shards) * math.prod(shards.raw_shape) * 4, limits.memory_budget()
    if stream == "no" and need > budget:      # the float32 tensor (rows decoded in chunks)
        raise DatasetError(f"'{folder}': its inputs would take {limits.size_text(need)} of "
                           f"memory; the limit is {limits.size_text(budget)}. Read them from "
                           f"disk while training (stream=yes or auto)")
    on_disk = stream == "yes" or (stream == "auto" and need > budget)
    x = shards if on_disk else _in_memory(shards)
    where = "read from disk while training" if on_disk else "in memory"
    return make_prepared(folder.name, x, y, resolved, shards.normalisation(),
                         source=str(folder), classes=classes,
                         options=given_options(task=task, normalise=normalise,
                                               stream=None if stream == "auto" else stream),
                         description=f"sharded arrays in {folder.name}/ "
                                     f"({len(shards.paths)} shards), {where}")


def _manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    limits.regular_file(path)
    if path.stat().st_size > MANIFEST_LIMIT:
        raise DatasetError(f"'{path}' is larger than the {limits.size_text(MANIFEST_LIMIT)} a "
                           f"manifest may be")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise DatasetError(f"'{path}' is not JSON ({limits.shorten(exc)})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DatasetError(f"'{path}' is not a Layerwise shards manifest (its \"format\" must "
                           f"be \"{FORMAT}\")")
    if manifest.get("version") != VERSION:
        raise DatasetError(f"'{path}' is of version {limits.shorten(manifest.get('version'))}; "
                           f"this Layerwise reads version {VERSION}")
    shards, classes = manifest.get("shards"), manifest.get("classes")
    if not isinstance(shards, list) or not shards or not all(
            isinstance(s, dict) and isinstance(s.get("x"), str) and isinstance(s.get("y"), str)
            for s in shards):
        raise DatasetError(f"'{path}': \"shards\" must be a non-empty list of "
                           f"{{\"x\": FILE, \"y\": FILE}}")
    if classes is not None and not (isinstance(classes, list) and all(
            isinstance(c, str) for c in classes)):
        raise DatasetError(f"'{path}': \"classes\" must be a list of names, or null")
    for s in shards:
        for name in (s["x"], s["y"]):
            if Path(name).name != name or name in ("", ".", ".."):
                raise DatasetError(f"'{path}' names shard file {limits.shorten(name)!r}; a "
                                   f"shard must be a file in the folder itself")
    return {"shards": shards, "classes": classes}


def _header(path: Path):
    """(shape, dtype, offset) of the .npy file at `path`, checked against its size."""
    limits.regular_file(path)
    with open(path, "rb") as f:
        shape, fortran, dtype = _npy_header(f"'{path}'", f)
        offset = f.tell()
    _check_type(f"'{path}'", shape, dtype)
    if dtype.itemsize > 8:
        raise DatasetError(f"'{path}' holds {dtype.name} values, wider than the 64-bit numbers "
                           f"Layerwise reads; save it as float64 or float32")
    if fortran and len(shape) > 1:
        raise DatasetError(f"'{path}' is stored in Fortran order; save it in C order "
                           f"(numpy.ascontiguousarray)")
    nbytes = limits.count(shape) * dtype.itemsize
    if offset + nbytes != path.stat().st_size:
        raise DatasetError(f"'{path}' declares shape {limits.shorten(list(shape), 80)} of "
                           f"{dtype.name} ({limits.number_text(nbytes)} bytes) but holds "
                           f"{path.stat().st_size - offset:,} bytes; the file is damaged")
    return shape, dtype, offset


def _inputs(folder: Path, manifest: dict) -> ArrayShards:
    paths, starts, offsets, first = [], [0], [], None
    for s in manifest["shards"]:
        path = folder / s["x"]
        shape, dtype, offset = _header(path)
        if len(shape) < 2:
            raise DatasetError(f"'{path}' must have one row per sample (at least 2 "
                               f"dimensions), but it has shape {list(shape)}")
        if first is None:
            first = (tuple(shape[1:]), dtype)
        elif (tuple(shape[1:]), dtype) != first:
            raise DatasetError(f"'{path}' holds samples of shape {list(shape[1:])} of "
                               f"{dtype.name}, the first shard {list(first[0])} of "
                               f"{first[1].name}: every shard must hold the same")
        paths.append(str(path))
        starts.append(starts[-1] + int(shape[0]))
        offsets.append(offset)
    if starts[-1] == 0:
        raise DatasetError(f"'{folder}' holds no samples: its shards are empty")
    if math.prod(first[0]) == 0:
        raise DatasetError(f"'{folder}' has samples of shape {list(first[0])}, which hold "
                           f"no values")
    return ArrayShards(str(folder), tuple(paths), tuple(starts), tuple(offsets), first[1],
                       first[0])


def _labels(folder: Path, manifest: dict) -> np.ndarray:
    """The y shards, read whole and joined (each checked as the x shards are)."""
    parts, total = [], 0
    for s in manifest["shards"]:
        path = folder / s["y"]
        shape, dtype, offset = _header(path)
        x_rows = _header(folder / s["x"])[0][0]
        if shape[0] != x_rows:
            raise DatasetError(f"'{path}' has {shape[0]:,} labels for the {x_rows:,} samples "
                               f"of '{s['x']}'; they must be the same number")
        total += limits.count(shape)
        limits.check_budget(folder, total, "its labels hold")
        parts.append(np.fromfile(path, dtype=dtype, offset=offset).reshape(shape))
    if len({p.shape[1:] for p in parts}) > 1 or len({p.dtype for p in parts}) > 1:
        raise DatasetError(f"'{folder}': the y shards hold labels of different shapes or "
                           f"number types; every shard must hold the same")
    y = np.concatenate(parts)
    return y if y.dtype.isnative else y.astype(y.dtype.newbyteorder("="))


def _with_stats(shards: ArrayShards, how: str) -> ArrayShards:
    """The shards with the scale, mean and spread `how` ("none", "global", "features") asks
    for, from a seeded sample of their rows (all, in order, when there are few)."""
    scale = 1 / 255 if shards.stored == np.uint8 else 1.0
    if how == "none":
        return replace(shards, scale=scale)
    n = len(shards)
    pick = list(range(n)) if n <= STATS_SAMPLE else sorted(torch.randperm(
        n, generator=torch.Generator().manual_seed(0))[:STATS_SAMPLE].tolist())
    chunks = [pick[i:i + 64] for i in range(0, len(pick), 64)]
    if how == "global" and shards.stored == np.uint8:
        with Stream(_Batches(shards, chunks, "histogram")) as parts:
            mean, std = pixel_stats(sum(p.numpy() for p in parts), scale)
        return replace(shards, scale=scale, mean=mean, std=std)
    axis = None if how == "global" else 0
    total = 0.0
    with Stream(_Batches(shards, chunks, "raw")) as parts:
        for part in parts:
            total = total + (part.numpy().astype(np.float64) * scale).sum(axis)
    cells = len(pick) * (math.prod(shards.raw_shape) if axis is None else 1)
    mean, squares = total / cells, 0.0
    with Stream(_Batches(shards, chunks, "raw")) as parts:
        for part in parts:
            squares = squares + ((part.numpy().astype(np.float64) * scale - mean) ** 2
                                 ).sum(axis)
    std = np.sqrt(squares / cells)
    if axis is None:
        return replace(shards, scale=scale, mean=float(mean), std=float(spread(std, mean)))
    return replace(shards, scale=scale, mean=mean, std=spread(std, mean))


def _in_memory(shards: ArrayShards) -> torch.Tensor:
    """Every row decoded into one float32 tensor, LOAD_ROWS at a time by the workers."""
    n = len(shards)
    x = torch.empty((n, *shards.raw_shape), dtype=torch.float32)
    chunks = [list(range(i, min(n, i + LOAD_ROWS))) for i in range(0, n, LOAD_ROWS)]
    with shards.stream(chunks) as parts:
        for chunk, part in zip(chunks, parts):
            x[chunk[0]:chunk[-1] + 1] = part
    return x
