"""Reading NPZ arrays from a stranger: an NPZ is a zip of .npy files, so every member is
checked before anything is allocated (compression method, the shape and type its header
declares against the member's size and the memory budget), then streamed into an array of
exactly that size. Never pickle, never an object, text, structured or 0-d array."""
from __future__ import annotations

import tokenize
import zipfile

import numpy as np
from numpy.lib import format as npy

from engine.data.limits import (check_budget, count, number_text, read_into, regular_file,
                                shorten)
from engine.errors import DatasetError

METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
MAX_RATIO = 1100
"""Deflate cannot shrink data more than about 1032 times: a member declaring more is lying."""
NUMBERS = "biuf"
# What numpy's .npy header parser raises for a damaged header (it tokenizes, then evaluates a
# Python literal of at most 10,000 characters).
HEADER_ERRORS = (ValueError, SyntaxError, tokenize.TokenError, RecursionError, MemoryError,
                 TypeError, KeyError, EOFError)
KINDS = {"O": "Python objects", "U": "text", "S": "bytes (text)", "V": "structured records",
         "c": "complex numbers", "M": "dates", "m": "time spans"}


def read_arrays(path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The arrays `names` of the NPZ file at `path` (DatasetError naming the file and the
    array at the first problem; "has no array ..." when one is missing)."""
    regular_file(path)
    with zipfile.ZipFile(path) as zf:
        members = _members(path, zf)
        missing = [n for n in names if n not in members]
        if missing:
            present = ", ".join(sorted(members)) or "no arrays"
            raise DatasetError(f"'{path}' has no array {' or '.join(missing)}: an NPZ data set "
                               f"needs 'X' (inputs) and 'y' (labels or targets); it has "
                               f"{shorten(present)}")
        headers = {n: _header(path, zf, members[n], n) for n in names}
        check_budget(path, sum(count(shape) for shape, _, _ in headers.values()),
                     f"its arrays {' and '.join(names)} hold")
        return {n: _read(path, zf, members[n], n, *headers[n]) for n in names}


def _members(path, zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The .npy members by array name; DatasetError for a name that appears twice."""
    members = {}
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            continue
        name = info.filename[:-4]
        if name in members:
            raise DatasetError(f"'{path}' holds array {shorten(name)!r} twice; an NPZ file "
                               f"must name each array once")
        members[name] = info
    return members


def _header(path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str):
    """(shape, dtype, fortran order) as the member declares them, checked against its size."""
    where = f"'{path}', array {name}"
    if info.compress_type not in METHODS:
        raise DatasetError(f"{where} is compressed with zip method {info.compress_type}; "
                           f"Layerwise reads only stored or deflate members (as numpy.savez and "
                           f"savez_compressed write them)")
    if info.flag_bits & 0x1:
        raise DatasetError(f"{where} is encrypted; save the data without a password")
    if info.file_size > max(info.compress_size, 1) * MAX_RATIO or (
            info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size):
        raise DatasetError(f"{where}: the zip declares {info.file_size:,} bytes from "
                           f"{info.compress_size:,} compressed bytes, which cannot be true; the "
                           f"file is damaged or crafted")
    with zf.open(info) as fp:
        shape, fortran, dtype = _npy_header(where, fp)
        offset = fp.tell()
    _check_type(where, shape, dtype)
    nbytes = count(shape) * dtype.itemsize
    if offset + nbytes != info.file_size:
        raise DatasetError(f"{where} declares shape {shorten(list(shape), 80)} of "
                           f"{dtype.name} ({number_text(nbytes)} bytes) but holds "
                           f"{info.file_size - offset:,} bytes; the file is damaged")
    return shape, dtype, fortran


def _npy_header(where: str, fp):
    try:
        version = npy.read_magic(fp)
        if version == (1, 0):
            return npy.read_array_header_1_0(fp)
        if version in ((2, 0), (3, 0)):
            return npy.read_array_header_2_0(fp)
    except HEADER_ERRORS as exc:
        raise DatasetError(f"{where} is not a .npy array ({shorten(exc) or type(exc).__name__})"
                           ) from None
    raise DatasetError(f"{where} is in .npy format version {version[0]}.{version[1]}, which "
                       f"Layerwise does not read")


def _check_type(where: str, shape, dtype: np.dtype) -> None:
    if dtype.kind not in NUMBERS or dtype.hasobject:
        what = KINDS.get(dtype.kind, f"values of type {dtype}")
        raise DatasetError(f"{where} holds {what}; a data set needs arrays of numbers (save "
                           f"it with a numeric dtype, as float32 or int64)")
    if not shape:
        raise DatasetError(f"{where} is a single value (a 0-d array); it needs one entry per "
                           f"sample")
    if any(d < 0 for d in shape):
        raise DatasetError(f"{where} declares a negative size in shape "
                           f"{shorten(list(shape), 80)}")


def _read(path, zf, info, name, shape, dtype, fortran) -> np.ndarray:
    """Stream the member into an array of exactly the declared size; the zip's CRC is checked
    as its last byte is read."""
    array = np.empty(count(shape), dtype=dtype)
    with zf.open(info) as fp:
        fp.seek(info.file_size - array.nbytes)
        got = read_into(fp, memoryview(array.view(np.uint8)))
        if got != array.nbytes or fp.read(1):
            raise DatasetError(f"'{path}', array {name}: its data ends after {got:,} of "
                               f"{array.nbytes:,} bytes; the file is damaged")
    array = array.reshape(shape, order="F" if fortran else "C")
    if not dtype.isnative:
        array = array.astype(dtype.newbyteorder("="))
    return array

