"""The IDX format of MNIST and Fashion-MNIST (gzipped or not): a magic number giving the element
type and the number of dimensions, the dimensions as big-endian 32-bit ints, then the values."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from engine.errors import DatasetError

_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MAX_BYTES = 2 * 1024 ** 3


def read_idx(path: Path) -> np.ndarray:
    """The array stored in an IDX file; DatasetError naming the file if it is not one."""
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _TYPES:
        raise DatasetError(f"'{path}' is not an IDX file (it does not start with an IDX "
                           f"magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise DatasetError(f"'{path}' is a damaged IDX file: its header is incomplete")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_TYPES[data[2]])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise DatasetError(f"'{path}' is a damaged IDX file: its header announces "
                           f"{'x'.join(map(str, dims))} values ({expected} bytes) but it holds "
                           f"{len(data) - header} bytes")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims).astype(
        dtype.newbyteorder("="))


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
        opener = gzip.open if head == b"\x1f\x8b" else open
        with opener(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise DatasetError(f"the file '{path}' does not exist") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DatasetError(f"'{path}' cannot be read: {exc}") from None
    if len(data) > MAX_BYTES:
        raise DatasetError(f"'{path}' is larger than 2 GiB; too large to load")
    return data


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
