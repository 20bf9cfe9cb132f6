"""Image folders larger than memory: their inputs stay on disk and are decoded batch by batch.

`ImageFiles` stands where a Dataset's float32 input tensor would be: it has the tensor's shape
and length, indexing it decodes just those pictures (with images._decode, the in-memory reader's
code) and normalises them exactly as make_dataset does, in float64 then float32, so a streamed
batch holds the same numbers as the in-memory one. `stream` decodes a list of batches in
DataLoader worker processes (WORKERS), prefetching, off the training thread; a picture that
cannot be read ends it with the DatasetError naming the file, not a worker's traceback.

The mean and standard deviation of a folder come from a histogram of its pixel values
(`pixel_stats`): of every picture in memory, and of a seeded sample of STATS_SAMPLE pictures
(all when fewer) when streamed, so a streamed folder of up to STATS_SAMPLE pictures is
normalised exactly as in memory, and a larger one loads without a full pass over its files.
"""
from __future__ import annotations

import math
import multiprocessing
import os
from dataclasses import dataclass, replace

import numpy as np
import torch

from engine.errors import DatasetError

STATS_SAMPLE = 2000
"""Pictures whose pixels give a streamed folder's mean and standard deviation."""
CHUNK_IMAGES = 256
WORKERS = min(4, (os.cpu_count() or 1) - 1) \
    if "fork" in multiprocessing.get_all_start_methods() else 0
"""Processes that decode a streamed folder's batches (0: decoded in the calling thread)."""


START = "fork"
"""How decoding processes start: "fork" (a copy of this process, the cheapest) or "forkserver"
(forked from a clean server process started once, which has imported what they need)."""
PRELOAD = ["engine.data.stream", "engine.data.shards", "engine.run.batches"]


def set_decode_workers(n: int | None = None, start: str = "fork") -> None:
    """How streamed batches are decoded from now on in this process: by `n` processes (None:
    WORKERS as the machine allows; 0: the calling thread decodes them) started by `start`.
    The window uses "forkserver": a process forked from one running Qt's threads could die as
    it exited, and torch's handler then failed the run from the GUI thread."""
    global WORKERS, START
    if start not in ("fork", "forkserver") or start not in \
            multiprocessing.get_all_start_methods():
        start = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    if start == "forkserver":
        multiprocessing.set_forkserver_preload(PRELOAD)     # before the server starts
    WORKERS = _DEFAULT_WORKERS if n is None else max(0, int(n))
    START = start


_DEFAULT_WORKERS = WORKERS


class OnDisk:
    """What inputs left on disk share (ImageFiles here, engine.data.shards.ArrayShards): they
    stand where a Dataset's float32 (N, *sample_shape) tensor would be, with its shape and
    length; indexing decodes the samples asked for (`decode`, of the class); `reshape` only
    changes how a sample is seen; `stream` decodes batches in worker processes. A subclass is
    a frozen dataclass with `sample_shape`, and gives `raw_shape`, `__len__`, `raw`, `decode`
    and `what` (its samples, for messages)."""

    dtype = torch.float32
    device = torch.device("cpu")
    what = "samples"

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self), *(self.sample_shape or self.raw_shape)))

    def reshape(self, n: int, *shape):
        """The same samples seen as samples of `shape` (as Dataset.fit_input asks)."""
        if n != len(self) or math.prod(shape) != math.prod(self.raw_shape):
            raise DatasetError(f"the {self.what} cannot be seen as {n} samples of shape "
                               f"{list(shape)}")
        return replace(self, sample_shape=tuple(int(d) for d in shape))

    def __getitem__(self, key) -> torch.Tensor:
        """Decode: one sample for an int, a batch for a slice or a sequence of indices."""
        if isinstance(key, (int, np.integer)) or (torch.is_tensor(key) and key.ndim == 0):
            return self.decode([int(key)])[0]
        if isinstance(key, slice):
            return self.decode(list(range(len(self)))[key])
        return self.decode(torch.as_tensor(key).reshape(-1).tolist())

    def stream(self, batches: list, device=None, workers: int | None = None,
               transform=None) -> "Stream":
        """The decoded batches (lists of indices), in order, prefetched by worker processes
        (which apply `transform(k, batch)` when given); a context manager that stops its
        workers when left."""
        return Stream(_Batches(self, batches, "decode", transform), device, workers)


@dataclass(frozen=True)
class ImageFiles(OnDisk):
    """The inputs of an image folder on disk, float32 (N, *sample_shape), normalised as
    x = (raw * scale - mean) / std; nothing is held but the file names."""
    files: tuple[str, ...]
    mode: str                      # Pillow's "L" or "RGB"
    dims: tuple[int, int]          # (width, height)
    resize: bool
    scale: float = 1.0
    mean: float = 0.0
    std: float = 1.0
    sample_shape: tuple[int, ...] = ()

    what = "images"

    @property
    def raw_shape(self) -> tuple[int, int, int]:
        return (1 if self.mode == "L" else 3, self.dims[1], self.dims[0])

    def __len__(self) -> int:
        return len(self.files)

    def raw(self, indices) -> np.ndarray:
        """The pictures at `indices` as uint8 (k, channels, height, width)."""
        from engine.data.images import _decode, _pillow
        image = _pillow()
        out = np.empty((len(indices), *self.raw_shape), dtype=np.uint8)
        for k, i in enumerate(indices):
            out[k] = _decode(image, self.files[i], self.mode, self.dims, self.resize)
        return out

    def decode(self, indices) -> torch.Tensor:
        """The samples at `indices`, float32 and normalised (as make_dataset does it)."""
        xf = self.raw(indices).astype(np.float64)
        xf *= self.scale
        xf -= self.mean
        xf /= self.std
        return torch.from_numpy(xf.astype(np.float32)).reshape(
            len(indices), *(self.sample_shape or self.raw_shape))

    def stream_raw(self, batches: list, workers: int | None = None) -> "Stream":
        """The batches' pictures as stored, uint8 (engine.io.shards_write), as `stream`."""
        return Stream(_Batches(self, batches, "raw"), None, workers)


def pixel_stats(hist: np.ndarray, scale: float) -> tuple[float, float]:
    """(mean, std) of pixel values scaled by `scale`, from their histogram (counts of 0..255);
    std 1 when all are equal. The same histogram always gives the same numbers."""
    levels = np.arange(256, dtype=np.float64) * scale
    n = float(hist.sum())
    mean = float((hist * levels).sum() / n)
    std = math.sqrt(float((hist * (levels - mean) ** 2).sum() / n))
    return mean, std if std > 0 else 1.0


def histogram(images: np.ndarray) -> np.ndarray:
    """Counts of each value 0..255 of a uint8 array, a few pictures at a time."""
    hist = np.zeros(256, dtype=np.int64)
    for i in range(0, len(images), CHUNK_IMAGES):
        hist += np.bincount(images[i:i + CHUNK_IMAGES].reshape(-1), minlength=256)
    return hist


def sample_histogram(files: ImageFiles, seed: int = 0) -> np.ndarray:
    """The histogram of a seeded sample of STATS_SAMPLE pictures (all, in order, when fewer),
    decoded in chunks by the workers."""
    n = len(files)
    pick = list(range(n)) if n <= STATS_SAMPLE else sorted(torch.randperm(
        n, generator=torch.Generator().manual_seed(seed))[:STATS_SAMPLE].tolist())
    chunks = [pick[i:i + 64] for i in range(0, len(pick), 64)]
    hist = np.zeros(256, dtype=np.int64)
    with Stream(_Batches(files, chunks, "histogram")) as parts:
        for part in parts:
            hist += part.numpy()
    return hist


class _Batches(torch.utils.data.Dataset):
    """Item k: batch k of `files` (ImageFiles or engine.data.shards.ArrayShards: anything with
    `raw` and `decode`) decoded, its histogram or its raw values; a DatasetError comes back as
    its message (a worker's exception would reach the caller wrapped in a traceback)."""

    def __init__(self, files, batches: list, what: str, transform=None):
        self.files, self.batches, self.what, self.transform = files, batches, what, transform

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, k: int):
        try:
            if self.what == "histogram":
                return torch.from_numpy(histogram(self.files.raw(self.batches[k])))
            if self.what == "raw":
                return torch.from_numpy(self.files.raw(self.batches[k]))
            x = self.files.decode(self.batches[k])
            return x if self.transform is None else self.transform(k, x)
        except DatasetError as exc:
            return _Failed(str(exc))


@dataclass(frozen=True)
class _Failed:
    message: str


class Stream:
    """Iterate over the decoded batches of a _Batches (moved to `device`); `with` stops the
    worker processes when the block is left, however it is left."""

    def __init__(self, batches: _Batches, device=None, workers: int | None = None):
        workers = WORKERS if workers is None else workers
        workers = min(workers, len(batches))
        self.device = torch.device(device) if device is not None else None
        cuda = self.device is not None and self.device.type == "cuda"
        self.loader = torch.utils.data.DataLoader(
            batches, batch_size=None, shuffle=False, num_workers=workers, pin_memory=cuda,
            collate_fn=_identity, prefetch_factor=2 if workers else None,
            multiprocessing_context=START if workers else None)
        self.it = None

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __iter__(self):
        self.it = iter(self.loader)
        for item in self.it:
            if isinstance(item, _Failed):
                self.close()
                raise DatasetError(item.message)
            if self.device is not None:
                item = tuple(t.to(self.device, non_blocking=True) for t in item) \
                    if isinstance(item, tuple) else item.to(self.device, non_blocking=True)
            yield item

    def close(self) -> None:
        """Stop the workers now (they would otherwise wait for the iterator's collection)."""
        it, self.it = self.it, None
        stop = getattr(it, "_shutdown_workers", None)
        if stop is not None:
            stop()


def _identity(item):
    return item
