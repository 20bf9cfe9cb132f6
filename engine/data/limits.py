"""What reading a stranger's data file may cost, and the one boundary where the errors of the
libraries underneath (zip, zlib, gzip, struct, numpy, Pillow) become one-line DatasetErrors.

Every reader checks what a file declares (shapes, dimensions, pixels) against `MEMORY_BUDGET`
before it allocates, and reads compressed data in bounded chunks, stopping as soon as it goes
beyond what was declared. Tests lower `MEMORY_BUDGET` (it is read at each call).
"""
from __future__ import annotations

import functools
import math
import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path

from engine.errors import DatasetError

MEMORY_BUDGET = 4 * 1024 ** 3
"""Bytes a data set may take while it is prepared (read, converted, normalised), at most: see
memory_budget, which also keeps to half of what this process may use."""
BYTES_PER_VALUE = 24
"""What one value costs at the peak of preparing a data set (measured): the raw value (up to
8 bytes), the float64 working copy and numpy's float64 temporary while the mean and spread are
computed (see `make_dataset`)."""
CHUNK = 1 << 20
MAX_ECHO = 200

# The errors of the libraries a reader calls that mean "this file is bad", not "Layerwise is".
FOREIGN = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, struct.error,
           OverflowError, NotImplementedError)


def shorten(text, limit: int = MAX_ECHO) -> str:
    """`text` on one line and at most about `limit` characters (for echoing a file's content)."""
    text = " ".join(str(text)[:limit * 8].split())
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def size_text(nbytes: int) -> str:
    """A byte count for people: '3.2 GiB', '512 MiB', '12 KiB'."""
    if nbytes >= 1024 ** 5:
        return "more than 1,024 TiB"
    for unit, size in (("TiB", 1024 ** 4), ("GiB", 1024 ** 3), ("MiB", 1024 ** 2),
                       ("KiB", 1024)):
        if nbytes >= size:
            return f"{nbytes / size:.1f} {unit}".replace(".0 ", " ")
    return f"{nbytes} bytes"


def number_text(n: int) -> str:
    """A count for people, however large a crafted header makes it: '1,234', 'about 10^40'."""
    if abs(n) < 10 ** 15:
        return f"{n:,}"
    return f"about {'-' if n < 0 else ''}10^{int(abs(n).bit_length() * math.log10(2))}"


def memory_budget() -> int:
    """The bytes a data set may take while it is prepared: MEMORY_BUDGET, or half of what this
    process may use when that is less — its data limit (RLIMIT_DATA, RLIMIT_AS: a container's
    or `ulimit -v`'s) or the machine's memory — so that an image folder too large for this
    process streams from disk instead of failing part way (engine.data.stream)."""
    limits = [MEMORY_BUDGET]
    try:
        import resource
        for which in (resource.RLIMIT_DATA, resource.RLIMIT_AS):
            soft = resource.getrlimit(which)[0]
            if soft != resource.RLIM_INFINITY and soft > 0:
                limits.append(soft // 2)
    except (ImportError, AttributeError, OSError, ValueError):
        pass                                  # Windows: no resource module
    try:
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)
    except (AttributeError, OSError, ValueError):
        pass
    return min(limits)


def check_budget(path, values: int, what: str) -> None:
    """DatasetError naming the file when `values` numbers would not fit the memory budget."""
    need, budget = values * BYTES_PER_VALUE, memory_budget()
    if need > budget:
        raise DatasetError(f"'{path}': {what} {number_text(values)} values, which would need "
                           f"about {size_text(need)} of memory to prepare; the limit is "
                           f"{size_text(budget)}. Use a smaller part of the data")


def count(shape) -> int:
    """The number of values of an array of this shape (exact, no overflow)."""
    return math.prod(int(d) for d in shape)


def regular_file(path: Path) -> None:
    """DatasetError unless `path` is a regular file (a pipe or a device would block or never
    end); nothing is opened."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise DatasetError(f"the file '{path}' does not exist") from None
    except OSError as exc:
        raise DatasetError(f"'{path}' cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a pipe or a device)"
        raise DatasetError(f"'{path}' is {kind}; Layerwise reads data only from files")


def read_into(stream, buffer: memoryview) -> int:
    """Fill `buffer` from `stream` in chunks of at most CHUNK bytes; the number of bytes read
    (less than the buffer's size when the stream ends first)."""
    done, size = 0, len(buffer)
    while done < size:
        data = stream.read(min(CHUNK, size - done))
        if not data:
            break
        buffer[done:done + len(data)] = data
        done += len(data)
    return done


def bounded(reader):
    """Wrap a reader whose first argument is the path: a library error escaping it becomes a
    DatasetError naming the file and the reason (shortened)."""
    @functools.wraps(reader)
    def read(path, *args, **kwargs):
        try:
            return reader(path, *args, **kwargs)
        except MemoryError:
            raise DatasetError(f"'{path}' cannot be loaded: there is not enough memory for "
                               f"it") from None
        except FOREIGN as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise DatasetError(f"'{path}' cannot be read: {shorten(reason)}") from None
    return read
