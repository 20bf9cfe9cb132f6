"""Byte-level damage (flips, overwrites, truncation, insertion, 32-bit fields near zip headers)
and zip archives rebuilt with hostile structure (duplicate, renamed, missing and extra members,
other compression methods)."""
from __future__ import annotations

import io
import struct
import warnings
import zipfile

from hypothesis import strategies as st

ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06")
METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
ODD_NAMES = ["network.json\x00.txt", "network.json ", "NETWORK.JSON", "../network.json",
             "/network.json", "a\\network.json", "c:network.json", "model.pt", "x.pkl",
             "history.json/", "weights.safetensors\n", "runs.json", "optimizer.json",
             "network.json\u202e", "n\u00e9twork.json", ""]
INTERESTING_32 = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFF, 0x10000, 100, 1 << 24]


@st.composite
def position(draw, data: bytes) -> int:
    """A position in `data`: anywhere, or within a zip header (where sizes and offsets are)."""
    if not data:
        return 0
    heads = [i for sig in ZIP_SIGNATURES for i in _find_all(data, sig)]
    if heads and draw(st.booleans()):
        return min(len(data) - 1, draw(st.sampled_from(heads)) + draw(st.integers(0, 45)))
    return draw(st.integers(0, len(data) - 1))


def _find_all(data: bytes, needle: bytes) -> list[int]:
    found, i = [], data.find(needle)
    while i >= 0 and len(found) < 64:
        found.append(i)
        i = data.find(needle, i + 1)
    return found


@st.composite
def damaged(draw, data: bytes, max_ops: int = 4) -> bytes:
    """`data` after one to `max_ops` byte-level changes."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, max_ops))):
        op = draw(st.sampled_from(["flip", "set", "set32", "truncate", "insert", "delete"]))
        pos = draw(position(bytes(out)))
        if op == "flip" and out:
            out[pos] ^= draw(st.integers(1, 255))
        elif op == "set" and out:
            out[pos] = draw(st.sampled_from([0, 0xFF, 0x7F, 0x80, 0x50]))
        elif op == "set32" and len(out) >= 4:
            pos = min(pos, len(out) - 4)
            out[pos:pos + 4] = struct.pack("<I", draw(st.sampled_from(INTERESTING_32)))
        elif op == "truncate":
            del out[pos:]
        elif op == "insert":
            out[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del out[pos:pos + draw(st.integers(1, 64))]
    return bytes(out)


def write_zip(items: list[tuple[str, bytes, int]], comment: bytes = b"") -> bytes:
    """A zip of (name, data, method) in order; duplicate names are written as given."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # duplicate names
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data, method in items:
                info = zipfile.ZipInfo(name.replace("\x00", "#"), (2024, 1, 1, 0, 0, 0))
                zf.writestr(info, data, compress_type=method)
            zf.comment = comment
    raw = buf.getvalue()
    for name in {n for n, _, _ in items if "\x00" in n}:   # zipfile cuts names at a NUL
        raw = raw.replace(name.replace("\x00", "#").encode(), name.encode())
    return raw


@st.composite
def restructured(draw, members: list[tuple[str, bytes]]) -> list[tuple[str, bytes, int]]:
    """The members with their structure changed: dropped, duplicated, renamed, reordered,
    extra ones, other compression methods."""
    items = [(n, d, zipfile.ZIP_DEFLATED) for n, d in members]
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["drop", "twice", "rename", "shuffle", "extra", "method"]))
        i = draw(st.integers(0, max(0, len(items) - 1)))
        if not items:
            items.append(("network.json", b"{}", zipfile.ZIP_STORED))
        elif op == "drop":
            del items[i]
        elif op == "twice":
            name, data, method = items[i]
            other = draw(st.sampled_from([data, b"{}", b'{"nodes": []}', b"[]"]))
            items.insert(draw(st.integers(0, len(items))), (name, other, method))
        elif op == "rename":
            name = draw(st.sampled_from(ODD_NAMES + [n for n, _ in members]))
            items[i] = (name,) + items[i][1:]
        elif op == "shuffle":
            items = draw(st.permutations(items))
        elif op == "extra":
            items.append((draw(st.sampled_from(ODD_NAMES)), draw(st.binary(max_size=64)),
                          zipfile.ZIP_STORED))
        else:
            items[i] = items[i][:2] + (draw(st.sampled_from(METHODS)),)
    return items
