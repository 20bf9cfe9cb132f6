"""Crafted bombs, made in milliseconds: small files that declare or inflate to hundreds of MiB
(a deflated history.json of 256 MiB, NPZ and IDX files of zeros, a lying NPZ header, a lying
IDX header over a gzip of zeros, a 400-megapixel PNG). A deflate stream of a repeated block is
that block compressed once after a full flush, repeated; the CRC-32 of the whole is combined
from the block's (zlib's crc32_combine, in Python), so every file is valid."""
from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np

MiB = 1 << 20
UNIT = 1 * MiB


# ----------------------------------------------------------------------------- CRC-32

def _times(matrix: list[int], vector: int) -> int:
    out, i = 0, 0
    while vector:
        if vector & 1:
            out ^= matrix[i]
        vector >>= 1
        i += 1
    return out


def _zeros_operator(n: int) -> list[int]:
    """The linear map of the CRC register over n zero bytes (32 columns)."""
    step = [zlib.crc32(b"\0", (1 << i) ^ 0xFFFFFFFF) ^ 0xFFFFFFFF for i in range(32)]
    result = [1 << i for i in range(32)]
    while n:
        if n & 1:
            result = [_times(step, c) for c in result]
        step = [_times(step, c) for c in step]
        n >>= 1
    return result


def crc_repeated(head: bytes, unit: bytes, count: int, tail: bytes) -> int:
    """CRC-32 of head + unit * count + tail, without making it."""
    shift, unit_crc = _zeros_operator(len(unit)), zlib.crc32(unit)
    crc = zlib.crc32(head)
    for _ in range(count):
        crc = _times(shift, crc) ^ unit_crc
    return zlib.crc32(tail, crc)


def deflated(head: bytes, unit: bytes, count: int, tail: bytes = b"") -> tuple[bytes, int, int]:
    """(raw deflate stream, CRC-32, size) of head + unit * count + tail."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)
    end = c.compress(tail) + c.flush(zlib.Z_FINISH)
    stream = first + block * count + end
    return stream, crc_repeated(head, unit, count, tail), len(head) + len(unit) * count + len(tail)


# ----------------------------------------------------------------------------- containers

def zip_of(members: list[tuple[str, bytes]], bombs: dict[str, tuple[bytes, int, int]]) -> bytes:
    """A zip of plain members (stored) and deflated bombs {name: deflated(...)}."""
    out, central = io.BytesIO(), []
    entries = [(n, 0, d, zlib.crc32(d), len(d)) for n, d in members] + \
        [(n, 8, s, crc, size) for n, (s, crc, size) in bombs.items()]
    for name, method, data, crc, size in entries:
        offset, raw = out.tell(), name.encode()
        fields = struct.pack("<HHHHHIII", 20, 0, method, 0, 0x21, crc, len(data), size)
        out.write(b"PK\x03\x04" + fields + struct.pack("<HH", len(raw), 0) + raw + data)
        central.append(b"PK\x01\x02" + struct.pack("<H", 20) + fields
                       + struct.pack("<HHHHHII", len(raw), 0, 0, 0, 0, 0, offset) + raw)
    start = out.tell()
    out.write(b"".join(central))
    out.write(b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(central), len(central),
                                          out.tell() - start, start, 0))
    return out.getvalue()


def gzip_of(stream: bytes, crc: int, size: int) -> bytes:
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + stream + struct.pack(
        "<II", crc, size & 0xFFFFFFFF)


def npy_header(descr: str, shape: tuple[int, ...]) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue()


def png_of(width: int, height: int, idat: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)      # 8-bit grey
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) \
        + chunk(b"IEND", b"")


# ----------------------------------------------------------------------------- the bombs

def history_bomb(path: Path, network_json: bytes, limit: int) -> Path:
    """A .lwnet whose history.json inflates to just under `limit` bytes of empty epochs."""
    unit = b"{}, " * (UNIT // 4)
    count = (limit - 64) // len(unit)
    manifest = json.dumps({"format": "layerwise-network", "format_version": 1}).encode()
    bomb = deflated(b'{"epochs": [', unit, count, b"{}]}")
    path.write_bytes(zip_of([("manifest.json", manifest), ("network.json", network_json)],
                            {"history.json": bomb}))
    return path


def state_bomb(path: Path, network_json: bytes, mib: int,
               member: str = "weights.safetensors") -> Path:
    """A .lwnet whose `member` (weights or optimizer state) is a valid safetensors file of
    one float32 tensor of `mib` MiB of zeros, for a network that needs a few kilobytes."""
    size = mib * MiB
    header = json.dumps({"t": {"dtype": "F32", "shape": [size // 4],
                               "data_offsets": [0, size]}}).encode()
    header += b" " * (-len(header) % 8)
    bomb = deflated(struct.pack("<Q", len(header)) + header, bytes(UNIT), mib)
    manifest = json.dumps({"format": "layerwise-network", "format_version": 2}).encode()
    plain = [("manifest.json", manifest), ("network.json", network_json)]
    if member == "optimizer.safetensors":
        plain.append(("optimizer.json", b"{}"))
    path.write_bytes(zip_of(plain, {member: bomb}))
    return path


def npz_zeros_bomb(path: Path, mib: int) -> Path:
    """An NPZ whose X (uint8 images, 784 values each) is `mib` MiB of deflated zeros."""
    rows = mib * MiB // 784
    x = deflated(npy_header("|u1", (rows, 784)), bytes(784 * (UNIT // 784)),
                 rows // (UNIT // 784), bytes(784 * (rows % (UNIT // 784))))
    y = deflated(npy_header("|u1", (rows,)), bytes(UNIT), rows // UNIT, bytes(rows % UNIT))
    path.write_bytes(zip_of([], {"X.npy": x, "y.npy": y}))
    return path


def npz_lying_bomb(path: Path) -> Path:
    """An NPZ whose X.npy header declares 10^6 x 10^6 float64 (8 TB) over 1 KiB of data."""
    x = npy_header("<f8", (10 ** 6, 10 ** 6)) + bytes(1024)
    y = npy_header("<i8", (10 ** 6,)) + bytes(1024)
    path.write_bytes(zip_of([("X.npy", x), ("y.npy", y)], {}))
    return path


def idx_folder_bomb(folder: Path, mib: int, declared: int | None = None) -> Path:
    """train-images-idx3-ubyte.gz of `mib` MiB of zeros under a header that declares
    `declared` images of 28x28 (default: as many as there are), with a matching label file."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = mib * MiB // 784
    count = rows if declared is None else declared
    head = bytes([0, 0, 8, 3]) + struct.pack(">III", count, 28, 28)
    per = UNIT // 784
    images = deflated(head, bytes(784 * per), rows // per, bytes(784 * (rows % per)))
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip_of(*images))
    labels = deflated(bytes([0, 0, 8, 1]) + struct.pack(">I", count), bytes(UNIT),
                      count // UNIT, bytes(count % UNIT))
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip_of(*labels))
    return folder


def png_folder_bomb(folder: Path, side: int = 20_000) -> Path:
    """Two class folders, each with one grey PNG of side x side pixels (400 megapixels)."""
    rows = deflated(b"", bytes(side + 1), 64)          # a few rows; the header says the rest
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name / "big.png").write_bytes(
            png_of(side, side, b"\x78\xda" + rows[0] + struct.pack(">I", 1)))
    return folder
