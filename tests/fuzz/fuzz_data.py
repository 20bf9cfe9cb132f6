"""Generated data files: CSV text (hostile cells, ragged rows, odd encodings, reader options),
NPZ archives (any dtype and shape, lying .npy headers, damaged bytes), IDX image/label pairs
(random headers, dimensions and lengths, gzipped or not) and image folders (tiny images of every
mode, damaged bytes, lying PNG sizes, empty and hidden class folders).

A case is (files, target, options): {relative path: bytes} written into an empty folder, the
path given to engine.load_dataset, and its options."""
from __future__ import annotations

import gzip
import io
import struct
import zlib
import zipfile

import numpy as np
from hypothesis import strategies as st

from fuzz_bytes import damaged

CELLS = ["0", "1", "-1", "0.5", "1e3", "nan", "NaN", "inf", "-inf", "1e999", "-1e999", "1e300",
         "", " ", '"', '""', '"a,b"', "a", "é", "日本", "\x00", "0x10", "1_000", " 2 ", "+3",
         "1,5", "'", "\t", "True", "None", "१२", "\u00a0"]
HEADERS = ["auto", True, False, "yes", 1, None]
LABELS = [-1, 0, 1, 2, -5, 99, "label", "a", "", "-0", "1e3", "0", None, 1.5, "日本"]


NUMBERS = st.one_of(st.integers(-5, 5).map(str), st.floats(-1e6, 1e6).map(repr))


@st.composite
def csv_cases(draw):
    """Half of them plausible tables (numbers, one label column), half hostile."""
    hostile = draw(st.booleans())
    width = draw(st.integers(1 if hostile else 2, 5))
    cell = st.one_of(st.sampled_from(CELLS), NUMBERS, st.text(max_size=4)) if hostile \
        else NUMBERS
    label = st.one_of(st.sampled_from(CELLS), st.integers(0, 3).map(str)) if hostile \
        else st.one_of(st.integers(0, 3).map(str), st.sampled_from(["cat", "dog", "1.5"]))
    rows = draw(st.lists(st.builds(lambda r, y: r + [y], st.lists(
        cell, min_size=width - 1, max_size=width - 1), label), max_size=12,
        min_size=0 if hostile else 2))
    for i in draw(st.lists(st.integers(0, len(rows) - 1), max_size=2)) if rows and hostile else []:
        rows[i] = rows[i] + [draw(cell)] if draw(st.booleans()) else rows[i][:-1]   # ragged
    if draw(st.booleans()):
        names = ["a", "b", "label", "", "a", "x y"] if hostile else ["a", "b", "c", "d", "label"]
        rows.insert(0, draw(st.lists(st.sampled_from(names), min_size=width, max_size=width,
                                     unique=not hostile)))
    sep = draw(st.sampled_from([",", ",", ";", "\t", " ", "|"] if hostile else [",", ";", "\t"]))
    end = draw(st.sampled_from(["\n", "\r\n", "\r", "\n\n"]))
    text = end.join(sep.join(r) for r in rows) + draw(st.sampled_from(["", end, sep + end]))
    data = text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
                       if hostile else "utf-8", errors="replace")
    if hostile and draw(st.integers(0, 5)) == 0:
        data = draw(damaged(data, max_ops=2))
    options = draw(st.fixed_dictionaries({}, optional={
        "label": st.sampled_from(LABELS if hostile else [-1, "label"]),
        "header": st.sampled_from(HEADERS if hostile else ["auto", True, False]),
        "task": st.sampled_from(["auto", "classification", "regression", "x"]),
        "delimiter": st.sampled_from(["auto", ",", ";", "\t", " ", "|", "", ",,"]
                                     if hostile else ["auto"]),
        "normalise": st.sampled_from(["auto", "none", "global", "features", 0])}))
    name = draw(st.sampled_from(["data.csv", "data.txt", "data.tsv"]))
    return {name: data}, name, options


# ----------------------------------------------------------------------------- NPZ

DTYPES = ["u1", "i1", "<i2", ">i4", "<i8", "<u8", "<f2", "<f4", ">f8", "?", "<c8", "<U3",
          "S2", "<M8[s]", "<m8[s]", [("a", "<i4"), ("b", "<f4")], "V4"]
LIE_DIMS = [0, 1, 2, 3, 5, 1000, 2 ** 31 - 1, 2 ** 40, 2 ** 62]


@st.composite
def arrays(draw):
    shape = tuple(draw(st.lists(st.integers(0, 5), max_size=4)))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    n = int(np.prod(shape))
    raw = draw(st.binary(min_size=n * dtype.itemsize, max_size=n * dtype.itemsize))
    a = np.frombuffer(raw, dtype=dtype).reshape(shape) if dtype.itemsize else np.zeros(shape, dtype)
    if draw(st.integers(0, 7)) == 0:
        a = np.array([{"x": 1}, None][: max(1, n % 3)], dtype=object)   # pickled on save
    return a


def npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=True)
    return buf.getvalue()


def lie(npy: bytes, shape=None, descr=None, fortran=None) -> bytes:
    """The .npy bytes with a header that says something else; the data are unchanged."""
    if not npy.startswith(b"\x93NUMPY") or len(npy) < 10:
        return npy
    major = npy[6]
    size_fmt, start = ("<H", 10) if major == 1 else ("<I", 12)
    if len(npy) < start:
        return npy
    (hlen,) = struct.unpack(size_fmt, npy[8:start])
    header = npy[start:start + hlen].decode("latin-1")
    fields = {"descr": descr, "fortran_order": fortran, "shape": shape}
    text = "{" + ", ".join(f"'{k}': {v!r}" for k, v in fields.items() if v is not None)
    old = header.strip().strip("{}").rstrip(", ")
    keep = [part for part in old.split(", '") if not any(
        part.lstrip("'").startswith(k) for k, v in fields.items() if v is not None)]
    text += (", " if text != "{" else "") + ", '".join(keep).lstrip("'")
    text = text.rstrip(", ") + "}"
    body = text.encode("latin-1")
    pad = (-(start + len(body) + 1)) % 64
    body += b" " * pad + b"\n"
    return npy[:8] + struct.pack(size_fmt, len(body)) + body + npy[start + hlen:]


@st.composite
def plausible_arrays(draw) -> dict[str, np.ndarray]:
    """X (samples first, a table or images) and y (classes or targets) of one length."""
    n = draw(st.integers(1, 12))
    shape = draw(st.sampled_from([(3,), (1, 4, 4), (2, 3, 3), (1,), (2, 2)]))
    x = draw(st.sampled_from(["u1", "<f4", "<f8", "<i8"]))
    values = draw(st.lists(st.floats(-100, 100), min_size=n, max_size=n))
    big = np.resize(np.array(values), (n, *shape))
    X = (np.abs(big) % 256).astype(x) if x == "u1" else big.astype(x)
    y = np.array([int(abs(v)) % 3 for v in values]) if draw(st.booleans()) \
        else np.array(values, dtype=draw(st.sampled_from(["<f4", "<f8"])))
    return {"X": X, "y": y}


@st.composite
def npz_cases(draw):
    """Half of them plausible data sets, half hostile (any dtype, shape or header)."""
    hostile = draw(st.booleans())
    if hostile:
        keys = draw(st.lists(st.sampled_from(["X", "y", "X", "y", "x", "Y", "extra"]),
                             max_size=4, unique=True))
        found = {key: draw(arrays()) for key in keys}
    else:
        found = draw(plausible_arrays())
    members = {}
    for key, array in found.items():
        data = npy_bytes(array)
        if hostile and draw(st.integers(0, 3)) == 0:
            data = lie(data, shape=tuple(draw(st.lists(st.sampled_from(LIE_DIMS), max_size=3))),
                       descr=draw(st.sampled_from([None, "<f8", "|O", "<U10", "|V0", ">i8"])),
                       fortran=draw(st.sampled_from([None, True, False])))
        members[key + ".npy"] = data
    buf = io.BytesIO()
    method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    data = buf.getvalue()
    if hostile and draw(st.integers(0, 4)) == 0:
        data = draw(damaged(data, max_ops=2))
    options = draw(st.fixed_dictionaries({}, optional={
        "task": st.sampled_from(["auto", "classification", "regression", 3]),
        "normalise": st.sampled_from(["auto", "none", "global", "features", "x"])}))
    return {"data.npz": data}, "data.npz", options


# ----------------------------------------------------------------------------- IDX

IDX_TYPES = [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0x0A, 0xFF]
ITEM = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}
BIG_DIMS = [2 ** 32 - 1, 2 ** 31, 65536, 10 ** 6]


def idx_file(kind: int, dims: list[int], length: int, fill: bytes) -> bytes:
    """An IDX header for `dims` of element type `kind`, then `length` bytes of values."""
    head = bytes([0, 0, kind, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    return head + (fill * (length // max(1, len(fill)) + 1))[:length]


@st.composite
def idx_bytes(draw, dims: list[int], hostile: bool):
    """An IDX file: for `dims` and exactly its length, or (hostile) any type, rank,
    dimensions and length."""
    if not hostile:
        kind = draw(st.sampled_from([0x08, 0x08, 0x0C, 0x0D]))
        size = int(np.prod(dims)) * ITEM[kind]
        return idx_file(kind, dims, size, draw(st.binary(min_size=1, max_size=8)))
    kind = draw(st.sampled_from(IDX_TYPES[:6] * 3 + IDX_TYPES[6:]))
    ndim = draw(st.sampled_from([len(dims)] * 6 + [0, 1, 2, 3, 4, 5]))
    dims = [draw(st.one_of(st.integers(0, 4), st.integers(0, 4), st.sampled_from(BIG_DIMS)))
            for _ in range(ndim)]
    size = int(np.prod(dims, dtype=object)) * ITEM.get(kind, 1)
    length = size if size <= 4096 else 64
    length = max(0, length + draw(st.sampled_from([0, 0, 0, -1, 1, -4, 100])))
    data = idx_file(kind, dims, length, draw(st.binary(min_size=1, max_size=64)))
    if draw(st.integers(0, 5)) == 0:
        data = draw(damaged(data, max_ops=2))
    return data


@st.composite
def idx_cases(draw):
    """Half of them a matching image/label pair, half hostile."""
    hostile = draw(st.booleans())
    n, h, w = draw(st.integers(1, 6)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    images, labels = draw(idx_bytes([n, h, w], hostile)), draw(idx_bytes([n], hostile))
    if not hostile:
        labels = idx_file(0x08, [n], n, bytes(draw(st.lists(st.integers(0, 3), min_size=n,
                                                             max_size=n))))
    files = {}
    for name, data in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels)):
        if draw(st.booleans()):
            data = gzip.compress(data, mtime=0)
            if hostile and draw(st.integers(0, 4)) == 0:
                data = draw(damaged(data, max_ops=2))
            name += ".gz"
        files[name] = data
    images_name = next(n for n in files if "images" in n)
    target = draw(st.sampled_from([".", images_name]))
    names = [None, "", "missing-labels", next(n for n in files if "labels" in n), images_name]
    options = draw(st.fixed_dictionaries({}, optional={"labels": st.sampled_from(
        names if hostile else names[3:4])}))
    return files, target, options


# ----------------------------------------------------------------------------- images

MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I", "F", "CMYK"]
FORMATS = {"png": "PNG", "bmp": "BMP", "gif": "GIF", "tif": "TIFF", "jpg": "JPEG"}


def image_bytes(mode: str, size: tuple[int, int], fmt: str, seed: int) -> bytes:
    from PIL import Image
    rng = np.random.default_rng(seed)
    im = Image.new(mode, size)
    if mode in ("L", "P", "1"):
        im.putdata([int(v) for v in rng.integers(0, 255, size[0] * size[1])])
    buf = io.BytesIO()
    try:
        im.save(buf, FORMATS[fmt])
    except (OSError, ValueError, KeyError):
        im.convert("RGB").save(buf, FORMATS[fmt])
    return buf.getvalue()


def png_size_lie(data: bytes, width: int, height: int) -> bytes:
    """A PNG whose header claims another size (with a correct checksum)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return data
    ihdr = b"IHDR" + struct.pack(">II", width, height) + data[24:29]
    return data[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + data[33:]


@st.composite
def one_image(draw, fmt: str, mode: str, size: tuple[int, int], hostile: bool):
    data = image_bytes(mode, size, fmt, draw(st.integers(0, 99)))
    hurt = draw(st.integers(0, 9)) if hostile else 9
    if hurt == 0:
        data = draw(damaged(data, max_ops=2))
    elif hurt == 1 and fmt == "png":
        data = png_size_lie(data, *draw(st.sampled_from(
            [(0, 1), (1, 0), (7, 7), (20_000, 20_000), (2 ** 31 - 1, 1), (100_000, 100_000)])))
    elif hurt == 2:
        data = draw(st.binary(max_size=32))
    return data


@st.composite
def image_cases(draw):
    """Half of them two to four class folders of same-size images, half hostile (any format,
    mode and size per image, damaged bytes, lying sizes, empty, hidden and odd folders)."""
    hostile = draw(st.booleans())
    fmt, mode = draw(st.sampled_from(list(FORMATS))), draw(st.sampled_from(MODES))
    size = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    files = {}
    for c in range(draw(st.integers(0, 4) if hostile else st.integers(2, 4))):
        folder = draw(st.sampled_from([f"class{c}", f".hidden{c}", f"c{c} é"])) if hostile \
            else f"class{c}"
        for i in range(draw(st.integers(0 if hostile else 1, 3))):
            if hostile and draw(st.booleans()):
                fmt, mode = draw(st.sampled_from(list(FORMATS))), draw(st.sampled_from(MODES))
                size = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
            files[f"{folder}/img{i}.{fmt}"] = draw(one_image(fmt, mode, size, hostile))
        if hostile and draw(st.integers(0, 5)) == 0:
            files[f"{folder}/notes.txt"] = b"not an image"
    for c in range(draw(st.integers(0, 1))):
        files[f"empty{c}/.keep"] = b""                  # an empty class folder
    files = files or {"class0/.keep": b""}
    options = draw(st.fixed_dictionaries({}, optional={
        "size": st.sampled_from([None, [4, 4], [1, 1], [0, 4], [5000, 5000], 4, [4, 4, 4],
                                 ["a", 2], [True, 2], "4x4"] if hostile else [None, [4, 4]]),
        "color": st.sampled_from(["auto", "gray", "rgb", "cmyk", None] if hostile
                                 else ["auto", "gray", "rgb"])}))
    return files, ".", options


# ----------------------------------------------------------------------------- shards

MANIFEST_LIES = [{"format": "other"}, {"version": 2}, {"version": "1"}, {"shards": []},
                 {"shards": {}}, {"shards": [{"x": "x0.npy"}]}, {"classes": "ab"},
                 {"classes": ["a"]}, {"classes": ["a", "b", "c", "d"]}, {"classes": [1, 2]}]
NAME_LIES = ["../x0.npy", "/etc/passwd", "", ".", "..", "missing.npy", "sub/x0.npy", "x0.npy",
             "y0.npy", "shards.json", "x0.npy\x00"]


@st.composite
def shards_cases(draw):
    """Half of them plausible arrays cut into one to three shards, half hostile (any dtype and
    shape per shard, lying .npy headers, damaged bytes, manifests that lie or name files
    outside the folder)."""
    import json
    hostile = draw(st.booleans())
    whole = draw(plausible_arrays())
    n, k = len(whole["X"]), draw(st.integers(1, 3))
    cuts = sorted(draw(st.lists(st.integers(0, n), min_size=k - 1, max_size=k - 1)))
    files, shards = {}, []
    for i, (a, b) in enumerate(zip([0] + cuts, cuts + [n])):
        x, y = whole["X"][a:b], whole["y"][a:b]
        if hostile and draw(st.integers(0, 3)) == 0:
            x, y = (draw(arrays()), y) if draw(st.booleans()) else (x, draw(arrays()))
        data = {"x": npy_bytes(x), "y": npy_bytes(y)}
        for key in data if hostile else ():
            hurt = draw(st.integers(0, 7))
            if hurt == 0:
                data[key] = lie(data[key], shape=tuple(draw(st.lists(
                    st.sampled_from(LIE_DIMS), max_size=3))), descr=draw(st.sampled_from(
                        [None, "<f8", "|O", "<U10", "|V0", ">i8"])), fortran=draw(
                    st.sampled_from([None, True, False])))
            elif hurt == 1:
                data[key] = draw(damaged(data[key], max_ops=2))
        files[f"x{i}.npy"], files[f"y{i}.npy"] = data["x"], data["y"]
        shards.append({"x": f"x{i}.npy", "y": f"y{i}.npy"})
    manifest = {"format": "layerwise-shards", "version": 1, "classes": None, "shards": shards}
    if hostile and draw(st.booleans()):
        manifest.update(draw(st.sampled_from(MANIFEST_LIES)))
    if hostile and draw(st.integers(0, 3)) == 0 and shards:
        shards[0][draw(st.sampled_from(["x", "y"]))] = draw(st.sampled_from(NAME_LIES))
    text = json.dumps(manifest).encode()
    if hostile and draw(st.integers(0, 5)) == 0:
        text = draw(damaged(text, max_ops=2))
    files["shards.json"] = text
    options = draw(st.fixed_dictionaries({}, optional={
        "task": st.sampled_from(["auto", "classification", "regression", 3]),
        "normalise": st.sampled_from(["auto", "none", "global", "features", "x"]),
        "stream": st.sampled_from(["auto", "yes", "no", True])}))
    return files, ".", options
