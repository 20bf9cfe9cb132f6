"""The IDX format of MNIST and Fashion-MNIST (gzipped or not): a magic number giving the element
type and the number of dimensions, the dimensions as big-endian 32-bit ints, then the values."""
from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

from engine.data.limits import (bounded, check_budget, count, number_text, read_into,
                                regular_file, shorten)
from engine.errors import DatasetError

_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@bounded
def read_idx(path: Path) -> np.ndarray:
    """The array stored in an IDX file; DatasetError naming the file if it is not one, or if
    its header and its size disagree. What the header declares is checked against the memory
    budget before anything is allocated; gzipped data is inflated in bounded chunks and
    reading stops as soon as it holds more than declared."""
    path = Path(path)
    regular_file(path)
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        with (gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw) as fh:
            dims, dtype = _header(path, fh)
            nbytes = count(dims) * dtype.itemsize
            if not gzipped:
                _check_size(path, dims, nbytes, os.fstat(raw.fileno()).st_size - raw.tell())
            check_budget(path, count(dims), f"its header announces {_shape(dims)} =")
            array = np.empty(count(dims), dtype=dtype)
            got = read_into(fh, memoryview(array.view(np.uint8)))
            more = fh.read(1) if got == nbytes else b""
    _check_size(path, dims, nbytes, "more than that" if more else got)
    return array.reshape(dims).astype(dtype.newbyteorder("="), copy=False)


def _check_size(path: Path, dims, declared: int, held: int | str) -> None:
    """DatasetError unless the data holds the `declared` bytes (`held`: a count, or words)."""
    if held != declared:
        amount = held if isinstance(held, str) else f"{held:,} bytes"
        raise DatasetError(f"'{path}' is a damaged IDX file: its header announces "
                           f"{_shape(dims)} values ({number_text(declared)} bytes) but it holds "
                           f"{amount}")


def _header(path: Path, fh) -> tuple[tuple[int, ...], np.dtype]:
    magic = fh.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _TYPES:
        raise DatasetError(f"'{path}' is not an IDX file (it does not start with an IDX "
                           f"magic number)")
    ndim = magic[3]
    raw = fh.read(4 * ndim)
    if ndim == 0 or len(raw) < 4 * ndim:
        raise DatasetError(f"'{path}' is a damaged IDX file: its header is incomplete")
    return struct.unpack(f">{ndim}I", raw), np.dtype(_TYPES[magic[2]])


def _shape(dims) -> str:
    return shorten("x".join(map(str, dims)), 80)


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> None:
    """Write `array` as an IDX file (used to make test files and small exports)."""
    codes = {np.dtype(v).newbyteorder("=").str: k for k, v in _TYPES.items()}
    big = array.astype(np.dtype(array.dtype).newbyteorder(">"))
    code = codes[np.dtype(array.dtype).newbyteorder("=").str]
    payload = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) \
        + big.tobytes()
    opener = gzip.open if compress else open
    with opener(path, "wb") as fh:
        fh.write(payload)


def find_labels(images: Path) -> Path | None:
    """The label file next to an image file: 'train-images-idx3-ubyte(.gz)' ->
    'train-labels-idx1-ubyte(.gz)', gzipped or not."""
    name = images.name.replace("images", "labels").replace("idx3", "idx1")
    if name == images.name:
        return None
    stem = name[:-3] if name.endswith(".gz") else name
    for candidate in (stem, stem + ".gz"):
        if (images.parent / candidate).is_file():
            return images.parent / candidate
    return None
