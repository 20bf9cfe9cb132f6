"""The run's training and validation inputs, as the loop and its stages take them: batches.

`inputs(data, cfg, device)` splits the data (Dataset.split, seeded) and gives either
`InMemory` (the inputs as tensors on the device, indexed: the usual case) or `Streamed` (a
large image folder, engine.data.stream: each epoch's batches decoded by worker processes in the
epoch's order, prefetched, and moved to the device). Both keep the labels on the device, and
give the same numbers in the same order, so a streamed run has the same history as one in
memory. Every iteration is a context manager: leaving it (a stop, an error) ends its workers.
"""
from __future__ import annotations

import contextlib

import torch

from engine.data import Dataset
from engine.errors import TrainingError
from engine.run.setup import to_device


def inputs(data: Dataset, cfg, device):
    """The run's inputs: InMemory, or Streamed for data whose inputs stay on disk."""
    train_idx, val_idx = data.split(cfg.val_fraction, cfg.seed)
    kind = Streamed if data.streamed else InMemory
    return kind(data, train_idx, val_idx, torch.device(device))


class InMemory:
    """Today's tensors on the device; batches are indexed out of them."""

    def __init__(self, data: Dataset, train_idx, val_idx, device):
        self.x, self.y = to_device(data.x[train_idx], device), to_device(data.y[train_idx], device)
        self.vx, self.vy = to_device(data.x[val_idx], device), to_device(data.y[val_idx], device)
        self.n_train, self.n_val = len(self.x), len(self.vx)
        self.sample_shape = tuple(self.x.shape[1:])

    def epoch(self, order: torch.Tensor, size: int, augment=None, draws=None):
        """A context manager giving the epoch's (inputs, targets) batches, in `order`, `size`
        at a time; the inputs augmented by `augment` (engine.run.augment) with the epoch's
        `draws`, on the device, when given."""
        draws = draws.to(self.x.device) if augment is not None else None

        def batches():
            for i in range(0, len(order), size):
                idx = order[i:i + size]
                x = self.x[idx]
                yield (x if augment is None else augment.apply(x, draws.part(i, i + size)),
                       self.y[idx])
        return contextlib.nullcontext(batches())

    def train_batch(self, idx: torch.Tensor) -> torch.Tensor:
        """The training inputs at positions `idx`."""
        return self.x[idx]

    def train_chunks(self, size: int):
        """A context manager giving all the training inputs, in their order, `size` at a time."""
        return contextlib.nullcontext(self.x[i:i + size] for i in range(0, self.n_train, size))

    def val_batches(self, part: slice, size: int):
        """A context manager giving (inputs, labels) of the validation samples in `part`."""
        vx, vy = self.vx[part], self.vy[part]
        return contextlib.nullcontext((vx[i:i + size], vy[i:i + size])
                                      for i in range(0, len(vx), size))

    def first(self, n: int) -> torch.Tensor:
        """The first `n` validation inputs (training inputs when nothing is held out)."""
        return self.vx[:n] if self.n_val else self.x[:n]


class Streamed:
    """An image folder on disk (engine.data.stream.ImageFiles): batches decoded when asked,
    by worker processes; only the labels are held."""

    def __init__(self, data: Dataset, train_idx, val_idx, device):
        self.autoencode = data.y is data.x        # Dataset.with_target("inputs")
        if not self.autoencode and not isinstance(data.y, torch.Tensor):
            raise TrainingError(f"data set '{data.name}': its targets are read from disk, "
                                f"which Layerwise does for its inputs only (an autoencoder); "
                                f"load it with stream=no")
        self.files, self.device = data.x, device
        self.train_idx, self.val_idx = train_idx, val_idx
        self.y = self.vy = None
        if not self.autoencode:
            self.y = to_device(data.y[train_idx], device)
            self.vy = to_device(data.y[val_idx], device)
        self.n_train, self.n_val = len(train_idx), len(val_idx)
        self.sample_shape = tuple(data.x.shape[1:])

    def epoch(self, order: torch.Tensor, size: int, augment=None, draws=None):
        """As InMemory's, the batches decoded and augmented by the worker processes; an
        autoencoder's targets are its batches as decoded, before augmentation."""
        positions = order.cpu()
        batches = [positions[i:i + size] for i in range(0, len(positions), size)]
        transform = _Transform(augment, draws, size, self.autoencode) \
            if augment is not None else None
        stream = self.files.stream([self.train_idx[b].tolist() for b in batches], self.device,
                                   transform=transform)
        if self.autoencode and augment is not None:
            return stream                      # (augmented, as decoded) pairs
        return _Paired(stream, None if self.autoencode else
                       lambda k: self.y[order[k * size:(k + 1) * size]])

    def train_batch(self, idx: torch.Tensor) -> torch.Tensor:
        return self.files[self.train_idx[idx.cpu()]].to(self.device)

    def train_chunks(self, size: int):
        return self._stream(self.train_idx, _chunks(self.n_train, size))

    def val_batches(self, part: slice, size: int):
        chunks = _chunks(self.n_val, size, part)
        stream = self._stream(self.val_idx, chunks)
        return _Paired(stream, None if self.autoencode else
                       lambda k: self.vy[chunks[k][0]:chunks[k][-1] + 1])

    def first(self, n: int) -> torch.Tensor:
        idx = self.val_idx if self.n_val else self.train_idx
        return self.files[idx[:n]].to(self.device)

    def _stream(self, idx: torch.Tensor, batches: list):
        return self.files.stream([idx[b].tolist() for b in batches], self.device)


def _chunks(n: int, size: int, part: slice = slice(None)) -> list[list[int]]:
    """Positions `part` of range(n), `size` at a time."""
    positions = list(range(n))[part]
    return [positions[i:i + size] for i in range(0, len(positions), size)]


class _Transform:
    """What a worker process does to batch k once decoded: augments it with its part of the
    epoch's draws, and for an autoencoder keeps it as decoded too, its target."""

    def __init__(self, augment, draws, size: int, pair: bool):
        self.augment, self.draws, self.size, self.pair = augment, draws, size, pair

    def __call__(self, k: int, x: torch.Tensor):
        out = self.augment.apply(x, self.draws.part(k * self.size, (k + 1) * self.size))
        return (out, x) if self.pair else out


class _Paired:
    """A stream of input batches given with their labels (`labels(k)`, batch k's; None: with
    themselves, an autoencoder's); a context manager like the stream."""

    def __init__(self, stream, labels):
        self.stream, self.labels = stream, labels

    def __enter__(self):
        self.stream.__enter__()
        if self.labels is None:
            return ((x, x) for x in self.stream)
        return ((x, self.labels(k)) for k, x in enumerate(self.stream))

    def __exit__(self, *exc):
        return self.stream.__exit__(*exc)
