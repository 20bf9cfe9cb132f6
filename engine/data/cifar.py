"""CIFAR-10 from its binary archive, cifar-10-binary.tar.gz (never the pickled Python version).

The archive is read as it is, never unpacked to disk: only the five training members
cifar-10-batches-bin/data_batch_1.bin .. data_batch_5.bin, by name, each a regular file (links
are refused, not followed) of exactly RECORDS records of 1 label byte + 3,072 pixel bytes (red,
green, blue planes of 32x32). Pixels are scaled and standardised as the MNIST loader does
(x = (raw / 255 - mean) / std, one mean and std for all values), but through a table of the
256 possible bytes, so that preparing the 50,000 images takes the raw bytes (154 MB) and the
float32 result (614 MB) and no float64 copy.
"""
from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import torch

from engine.data.dataset import CLASSIFICATION, Dataset
from engine.data.limits import bounded, read_into, regular_file, shorten
from engine.errors import DatasetError

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]
SHAPE = (3, 32, 32)
RECORD = 1 + 3 * 32 * 32
RECORDS = 10_000
"""Records in each batch file of the real archive (tests lower it; it is read at each call)."""
BATCHES = tuple(f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6))
_ROWS = 1000                      # images converted at a time


@bounded
def read_cifar(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 3, 32, 32), labels uint8 (N,)) from the training members of a
    cifar-10-binary.tar.gz; DatasetError naming the file and the member when one is missing,
    duplicated, a link, of the wrong size, or holds a label beyond 9."""
    path = Path(path)
    regular_file(path)
    size = RECORDS * RECORD
    raw = np.empty(len(BATCHES) * size, dtype=np.uint8)
    seen: set[str] = set()
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for member in tar:
                name = member.name.removeprefix("./")
                if name in BATCHES:
                    _check_member(path, member, name, seen, size)
                    at = BATCHES.index(name) * size
                    _read_member(path, tar, member, memoryview(raw[at:at + size]))
                    seen.add(name)
    except tarfile.TarError as exc:
        raise DatasetError(f"'{path}' is not a readable tar.gz archive "
                           f"({shorten(exc) or type(exc).__name__})") from None
    missing = [n for n in BATCHES if n not in seen]
    if missing:
        raise DatasetError(f"'{path}' is not the CIFAR-10 binary archive: it has no member "
                           f"{missing[0]}")
    records = raw.reshape(-1, RECORD)
    labels = records[:, 0].copy()
    _check_labels(path, labels)
    return records[:, 1:].reshape(-1, *SHAPE), labels


def _check_member(path: Path, member: tarfile.TarInfo, name: str, seen: set, size: int):
    where = f"'{path}': the member {name}"
    if name in seen:
        raise DatasetError(f"{where} appears twice; the archive is not the CIFAR-10 one")
    if not member.isreg():
        raise DatasetError(f"{where} is a link or not a regular file; Layerwise reads only "
                           f"regular files from an archive")
    if member.size != size:
        raise DatasetError(f"{where} holds {member.size:,} bytes, not {size:,} "
                           f"({RECORDS:,} records of {RECORD:,} bytes)")


def _read_member(path: Path, tar: tarfile.TarFile, member: tarfile.TarInfo,
                 into: memoryview) -> None:
    fh = tar.extractfile(member)
    got = read_into(fh, into) if fh is not None else 0
    if got != len(into):
        raise DatasetError(f"'{path}': the member {member.name} ends after {got:,} of its "
                           f"{len(into):,} bytes; the archive is damaged")


def _check_labels(path: Path, labels: np.ndarray) -> None:
    if labels.size and int(labels.max()) >= len(CLASSES):
        i = int(np.argmax(labels))
        raise DatasetError(f"'{path}': the member {BATCHES[i // RECORDS]}, record "
                           f"{i % RECORDS:,}, has label {int(labels[i])}; CIFAR-10 labels are "
                           f"0 to 9")


def cifar_dataset(name: str, images: np.ndarray, labels: np.ndarray,
                  description: str) -> Dataset:
    """The Dataset of uint8 images, scaled by 1/255 and standardised with one mean and std
    (the MNIST loader's normalisation, as `make_dataset(..., normalise="global")` records it)."""
    counts = np.zeros(256, dtype=np.int64)
    for start in range(0, len(images), _ROWS):
        rows = np.ascontiguousarray(images[start:start + _ROWS])
        counts += np.bincount(rows.reshape(-1), minlength=256)
    scale = 1 / 255
    level = np.arange(256) * scale
    mean = float(counts @ level / counts.sum())
    std = float(np.sqrt(counts @ (level - mean) ** 2 / counts.sum())) or 1.0
    table = ((level - mean) / std).astype(np.float32)
    x = np.empty(images.shape, dtype=np.float32)
    for start in range(0, len(images), _ROWS):
        np.take(table, images[start:start + _ROWS], out=x[start:start + _ROWS])
    norm = {"kind": "standardise", "scale": scale, "mean": mean, "std": std}
    return Dataset(name, torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64)),
                   CLASSIFICATION, len(CLASSES), list(CLASSES), norm, name, {}, description)
