"""Hostile data files (issue #17): bombs, lying headers, values that are not numbers, damaged
bytes. Each is refused with one DatasetError line naming the file (and the array, line, column
or picture), quickly and with little memory; none gets a library's exception out."""
from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
import time
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

import engine
from engine.data import csv_columns, limits, load_dataset
from engine.data.idx import read_idx, write_idx

MIB = 1 << 20
SMALL = 64 * MIB          # the most a refusal may allocate (tracemalloc peak)


# ----------------------------------------------------------------------------- crafting

def zip_file(path, members, method=zipfile.ZIP_DEFLATED, flags=0):
    """A zip written by hand, so that its declared sizes and CRCs can lie: members maps a
    name to (member bytes as stored, declared uncompressed size, declared CRC)."""
    out, central = bytearray(), bytearray()
    for name, (data, size, crc) in members.items():
        offset, raw = len(out), name.encode()
        fields = struct.pack("<HHHHHIII", 20, flags, method, 0, 0, crc, len(data), size)
        out += b"PK\x03\x04" + fields + struct.pack("<HH", len(raw), 0) + raw + data
        central += b"PK\x01\x02" + struct.pack("<H", 20) + fields + struct.pack(
            "<HHHHHII", len(raw), 0, 0, 0, 0, 0, offset) + raw
    start = len(out)
    out += central + b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(members), len(members),
                                                  len(central), start, 0)
    path.write_bytes(bytes(out))
    return path


def deflate_zeros(prefix: bytes, mib: int) -> bytes:
    """A raw deflate stream of `prefix` then `mib` MiB of zeros, about 1 KB per MiB: the
    compressor is reset after each MiB, so one compressed MiB can be repeated."""
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = co.compress(prefix) + co.flush(zlib.Z_FULL_FLUSH)
    one = co.compress(bytes(MIB)) + co.flush(zlib.Z_FULL_FLUSH)
    return head + one * mib + co.flush()


def npy_header(shape, descr="|u1") -> bytes:
    text = repr({"descr": descr, "fortran_order": False, "shape": tuple(shape)}).encode()
    text += b" " * (63 - (10 + len(text)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def npy(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def deflated(data: bytes):
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    return co.compress(data) + co.flush(), len(data), zlib.crc32(data)


def png(width: int, height: int, body: bytes = b"") -> bytes:
    """A grey PNG that declares `width` x `height` (its pixel data need not be there)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0,
                                                             0, 0))
            + chunk(b"IDAT", zlib.compress(body)) + chunk(b"IEND", b""))


def refused(path, peak_limit=SMALL, seconds=20.0, **options) -> str:
    """The one-line DatasetError message loading `path` gives, checked to come quickly and
    with little memory (tracemalloc counts numpy's and Python's allocations)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(engine.DatasetError) as info:
            load_dataset(path, **options)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert peak < peak_limit, f"{peak / MIB:.0f} MiB allocated to refuse: {message}"
    assert time.perf_counter() - start < seconds
    assert "\n" not in message and len(message) < 300 + len(str(path)), message
    return message


def image_folder(root, extra: dict[str, bytes] | None = None):
    """Two classes of 4x4 grey pictures, plus `extra` files (relative path -> bytes)."""
    Image = pytest.importorskip("PIL.Image")
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((4, 4), 7, dtype=np.uint8)).save(root / cls / "0.png")
    for name, data in (extra or {}).items():
        (root / name).write_bytes(data)
    return root


# ----------------------------------------------------------------------------- NPZ

def test_an_npz_bomb_is_refused_from_its_headers(tmp_path):
    """2.4 MB of zip declaring 2.3 GB of X: refused before one byte of X is inflated."""
    header = npy_header((2300, MIB))
    x = deflate_zeros(header, 2300)
    path = zip_file(tmp_path / "bomb.npz", {"X.npy": (x, len(header) + 2300 * MIB, 0),
                                            "y.npy": deflated(npy(np.zeros(2300, np.int64)))})
    assert path.stat().st_size < 3 * MIB
    message = refused(path)
    assert "bomb.npz': its arrays X and y hold 2,411,727,100 values" in message
    assert "the limit is 4 GiB" in message


def test_an_npz_member_inflating_beyond_its_declared_size_is_cut_off(tmp_path):
    """The zip and the .npy header agree on 8 values, the deflate stream holds 200 MiB."""
    header = npy_header((8,), "<f8")
    x = deflate_zeros(header, 200)
    path = zip_file(tmp_path / "long.npz", {"X.npy": (x, len(header) + 64, 0),
                                            "y.npy": deflated(npy(np.zeros(8, np.int64)))})
    assert "long.npz' cannot be read: Bad CRC-32" in refused(path, peak_limit=8 * MIB)


@pytest.mark.parametrize("member, words", [
    (deflated(npy_header((10 ** 9, 1000), "<f8") + bytes(64)),
     r"array X declares shape \[1000000000, 1000\] of float64 \(8,000,000,000,000 bytes\) but "
     r"holds 64 bytes"),
    ((b"x" * 100, 10 ** 9, 0), r"array X: the zip declares 1,000,000,000 bytes from 100 "
                               r"compressed bytes, which cannot be true"),
    (deflated(b"\x93NUMPY\x01\x00\x10\x00{'descr': ((((("), r"array X is not a .npy array"),
    (deflated(b"\x93NUMPY\x07\x00" + bytes(60)), r"array X is in .npy format version 7.0"),
])
def test_lying_npz_headers_are_refused_without_allocating(tmp_path, member, words):
    path = zip_file(tmp_path / "lie.npz", {"X.npy": member,
                                           "y.npy": deflated(npy(np.zeros(3, np.int64)))})
    message = refused(path, peak_limit=8 * MIB)
    assert "lie.npz'" in message
    assert __import__("re").search(words, message), message


@pytest.mark.parametrize("x, y, words", [
    (np.array([{"run": "os.system"}, None], dtype=object), [0, 1], "array X holds Python objects"),
    (np.array([["a", "b"], ["c", "d"]]), [0, 1], "array X holds text"),
    (np.array([[b"a"], [b"b"]]), [0, 1], r"array X holds bytes \(text\)"),
    (np.zeros((2, 2), dtype=[("a", "<i4"), ("b", "<f4")]), [0, 1], "holds structured records"),
    (np.zeros((2, 2), dtype=complex), [0, 1], "array X holds complex numbers"),
    (np.zeros((2, 2), dtype="M8[s]"), [0, 1], "array X holds dates"),
    (np.array(3.0), [0], r"array X is a single value \(a 0-d array\)"),
    (np.zeros((2, 2)), np.array(1), r"array y is a single value"),
    (np.zeros((2, 0)), [0, 1], r"samples of shape \[0\], which hold no values"),
])
def test_npz_arrays_must_be_numbers_with_samples(tmp_path, monkeypatch, x, y, words):
    def never(*args, **kwargs):
        raise AssertionError("a pickle was loaded")
    monkeypatch.setattr(pickle, "load", never)
    monkeypatch.setattr(pickle, "loads", never)
    np.savez(tmp_path / "bad.npz", X=x, y=np.asarray(y))
    with pytest.raises(engine.DatasetError, match=words) as info:
        load_dataset(tmp_path / "bad.npz")
    assert "bad.npz" in str(info.value)


def test_npz_zip_methods_encryption_and_duplicates(tmp_path):
    arrays = {"X.npy": npy(np.zeros((2, 2))), "y.npy": npy(np.array([0, 1]))}
    for method, name in ((zipfile.ZIP_BZIP2, "bz2"), (zipfile.ZIP_LZMA, "lzma")):
        with zipfile.ZipFile(tmp_path / f"{name}.npz", "w", method) as zf:
            for member, data in arrays.items():
                zf.writestr(member, data)
        with pytest.raises(engine.DatasetError, match=f"{name}.npz', array X is compressed with "
                                                      f"zip method {method}; Layerwise reads "
                                                      f"only stored or deflate"):
            load_dataset(tmp_path / f"{name}.npz")
    members = {k: (v, len(v), zlib.crc32(v)) for k, v in arrays.items()}
    zip_file(tmp_path / "locked.npz", members, method=zipfile.ZIP_STORED, flags=1)
    with pytest.raises(engine.DatasetError, match="locked.npz', array X is encrypted"):
        load_dataset(tmp_path / "locked.npz")
    with pytest.warns(UserWarning), zipfile.ZipFile(tmp_path / "twice.npz", "w") as zf:
        for member, data in [*arrays.items(), ("X.npy", npy(np.ones((2, 2))))]:
            zf.writestr(member, data)
    with pytest.raises(engine.DatasetError, match="twice.npz' holds array 'X' twice"):
        load_dataset(tmp_path / "twice.npz")


def test_npz_layouts_numpy_writes_still_load(tmp_path):
    x = np.arange(12, dtype=">f4").reshape(4, 3)
    np.savez_compressed(tmp_path / "c.npz", X=np.asfortranarray(x), y=np.array([0, 1, 1, 0]))
    ds = load_dataset(tmp_path / "c.npz", normalise="none")
    assert ds.x.tolist() == x.astype(np.float32).tolist() and ds.y.tolist() == [0, 1, 1, 0]


def test_the_memory_budget_is_checked_before_reading(tmp_path, monkeypatch):
    np.savez(tmp_path / "d.npz", X=np.zeros((10, 10)), y=np.zeros(10, dtype=int))
    assert len(load_dataset(tmp_path / "d.npz")) == 10
    monkeypatch.setattr(limits, "MEMORY_BUDGET", 1000)
    with pytest.raises(engine.DatasetError, match=r"d.npz': its arrays X and y hold 110 values, "
                                                  r"which would need about 2.6 KiB .* limit is "
                                                  r"1000 bytes"):
        load_dataset(tmp_path / "d.npz")


# ----------------------------------------------------------------------------- IDX

def gzip_zeros(header: bytes, mib: int) -> bytes:
    """A gzip file of `header` then `mib` MiB of zeros: one small member repeated."""
    return gzip.compress(header) + gzip.compress(bytes(MIB), 9) * mib


def idx_header(dims, code=0x08) -> bytes:
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


def test_an_idx_gz_bomb_is_refused_from_its_header(tmp_path):
    """2.4 MB of gzip whose header announces 2.3 GB: refused before inflating it."""
    path = tmp_path / "bomb-images-idx3-ubyte.gz"
    path.write_bytes(gzip_zeros(idx_header((2300, 1024, 1024)), 2300))
    write_idx(tmp_path / "bomb-labels-idx1-ubyte.gz", np.zeros(2300, np.uint8), compress=True)
    assert path.stat().st_size < 3 * MIB
    message = refused(path)
    assert "its header announces 2300x1024x1024 = 2,411,724,800 values" in message


def test_an_idx_gz_holding_more_than_its_header_stops_at_once(tmp_path):
    """The header says 2x3x3 bytes; 2.3 GB follow. Reading stops after the 19th byte."""
    path = tmp_path / "lie-images-idx3-ubyte.gz"
    path.write_bytes(gzip_zeros(idx_header((2, 3, 3)), 2300))
    write_idx(tmp_path / "lie-labels-idx1-ubyte.gz", np.zeros(2, np.uint8), compress=True)
    message = refused(path, peak_limit=8 * MIB, seconds=5.0)
    assert message.endswith("lie-images-idx3-ubyte.gz' is a damaged IDX file: its header "
                            "announces 2x3x3 values (18 bytes) but it holds more than that")


@pytest.mark.parametrize("data, words", [
    (idx_header((2 ** 32 - 1,) * 3, 0x0E), r"announces 4294967295x4294967295x4294967295 values "
                                           r"\(about 10\^29 bytes\) but it holds 0 bytes"),
    (idx_header((2, 3, 3)) + bytes(19), r"announces 2x3x3 values \(18 bytes\) but it holds 19"),
    (idx_header((2,) * 200), r"announces 2x2x2.*\.\.\. values"),
    (b"\x1f\x8b\x08\x00" + b"garbage" * 10, "cannot be read: "),
    (gzip.compress(idx_header((2, 3, 3)) + bytes(18), mtime=0)[:-12],   # no clock: the
     "cannot be read: Compressed file ended"),              # same ids in every xdist worker
    (b"\0\0\x08", "not an IDX file"),
])
def test_damaged_idx_files_name_the_file(tmp_path, data, words):
    path = tmp_path / "x-images-idx3-ubyte"
    path.write_bytes(data)
    with pytest.raises(engine.DatasetError, match=words) as info:
        read_idx(path)
    assert str(info.value).startswith(f"'{path}'") and len(str(info.value)) < 400


# ----------------------------------------------------------------------------- images

@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("width, height", [(20000, 20000), (10000, 9000), (9000, 9000)])
def test_a_picture_above_the_pixel_limit_is_refused_from_its_header(tmp_path, width, height):
    """400 MP (Pillow's bomb error), 90 MP (its warning), 81 MP (our limit): one line."""
    folder = image_folder(tmp_path / "set", {"b/big.png": png(width, height)})
    message = refused(folder, seconds=10.0)
    assert f"'{folder / 'b' / 'big.png'}'" in message and "limit of 80 megapixels" in message


def cut_png() -> bytes:
    """A 4x4 PNG whose header is whole and whose pixel data stop half-way."""
    good = png(4, 4, np.random.default_rng(0).integers(0, 256, 20, dtype=np.uint8).tobytes())
    return good[:45]


def test_damaged_pictures_and_empty_classes_are_named(tmp_path):
    folder = image_folder(tmp_path / "cut", {"b/cut.png": cut_png()})
    with pytest.raises(engine.DatasetError, match=r"cut.png' cannot be read as an image"):
        load_dataset(folder)
    folder = image_folder(tmp_path / "junk", {"a/x.jpg": b"\xff\xd8\xff" + bytes(10)})
    with pytest.raises(engine.DatasetError, match=r"x.jpg' cannot be read as an image"):
        load_dataset(folder)
    folder = image_folder(tmp_path / "empty")
    (folder / "c").mkdir()
    (folder / "c" / "notes.txt").write_text("no pictures here")
    with pytest.raises(engine.DatasetError, match=r"class folder '.*empty/c' holds no images"):
        load_dataset(folder)


def test_the_decoded_size_of_a_folder_is_checked_before_decoding(tmp_path, monkeypatch):
    """A picture whose pixel data are cut short would fail to decode: the budget comes first."""
    folder = image_folder(tmp_path / "set", {"b/cut.png": cut_png()})
    monkeypatch.setattr(limits, "MEMORY_BUDGET", 1000)
    with pytest.raises(engine.DatasetError, match=r"set': its 3 images of 4x4 pixels hold 48 "
                                                  r"values"):
        load_dataset(folder, stream="no")            # on auto, a folder over budget streams


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_pipes_named_like_data_files_are_refused_without_reading(tmp_path):
    os.mkfifo(tmp_path / "x.csv")
    with pytest.raises(engine.DatasetError, match=r"x.csv' is not a regular file"):
        load_dataset(tmp_path / "x.csv")
    folder = image_folder(tmp_path / "set")
    os.mkfifo(folder / "b" / "pipe.png")
    with pytest.raises(engine.DatasetError, match=r"pipe.png' is not a regular file"):
        load_dataset(folder)


# ----------------------------------------------------------------------------- CSV

def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, words", [
    ("a,b,y\n1,2,0\n3,nan,1\n", r"line 3, column 2: nan is not a finite number"),
    ("a,b,y\n1,2,0\n3,4,1\n-inf,4,1\n", r"line 4, column 1: -inf is not a finite number"),
    ("1,2,0\n3,1e999,1\n", r"line 2, column 2: inf is not a finite number"),
    ("a,b,y\n1,2,0.5\n3,4,nan\n", r"line 3, column 3: label 'nan' is not a finite number"),
    ("a,b,c\n1,2\n3,4\n", r"line 2: 2 values, but the header row has 3"),
    ("1,2,0\n3,4,,\n", r"line 2, column 3: the label is empty"),
])
def test_csv_values_name_their_line_and_column(tmp_path, text, words):
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(engine.DatasetError, match=words) as info:
        load_dataset(path)
    assert str(info.value).startswith(f"'{path}', line ")


def test_a_header_row_mismatch_with_a_named_label_column_names_the_line(tmp_path):
    path = write(tmp_path, "t.csv", "a,b,c\n1,2\n3,4\n")
    with pytest.raises(engine.DatasetError, match=r"t.csv', line 2: 2 values, but the header "
                                                  r"row has 3"):
        load_dataset(path, label="c")


def test_a_trailing_delimiter_is_ignored_on_every_line(tmp_path):
    plain = load_dataset(write(tmp_path, "p.csv", "a,b,species\n1,2,cat\n3,4,dog\n"))
    for text in ("a,b,species,\n1,2,cat,\n3,4,dog,\n", "a,b,species\n1,2,cat,\n3,4,dog\n"):
        path = write(tmp_path, "t.csv", text)
        ds = load_dataset(path)
        assert ds.classes == ["cat", "dog"] and ds.input_shape == (2,)
        assert ds.x.tolist() == plain.x.tolist()
        assert csv_columns(path) == ["a", "b", "species"]
    assert load_dataset(write(tmp_path, "n.csv", "1,2,0,\n3,4,1,\n")).n_classes == 2


def test_a_missing_label_column_lists_the_columns_briefly(tmp_path):
    path = write(tmp_path, "t.csv", "a,b,y\n1,2,0\n")
    with pytest.raises(engine.DatasetError, match=r"no column called 'kind'; its columns are a, "
                                                  r"b, y$"):
        load_dataset(path, label="kind")
    wide = write(tmp_path, "wide.csv", ",".join(f"column{i}" for i in range(5000)) + "\n" +
                 ",".join("1" * 5000) + "\n")
    with pytest.raises(engine.DatasetError, match=r"its columns are column0, .*\.\.\.$") as info:
        load_dataset(wide, label="kind")
    assert len(str(info.value)) < 300 + len(str(wide))


def test_a_csv_larger_than_the_budget_allows_is_refused_before_reading(tmp_path, monkeypatch):
    path = write(tmp_path, "big.csv", "1,2,0\n" * 1000)
    monkeypatch.setattr(limits, "MEMORY_BUDGET", 24 * 1000)
    with pytest.raises(engine.DatasetError, match=r"big.csv' is 5.9 KiB, more than the 1000 "
                                                  r"bytes Layerwise reads from a CSV table"):
        load_dataset(path)


# ----------------------------------------------------------------------------- any damage

def seeds(tmp_path) -> dict[str, bytes]:
    """One good file of each kind, as bytes."""
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    np.savez_compressed(buf, X=rng.random((6, 3)), y=np.arange(6) % 2)
    write_idx(tmp_path / "i", rng.integers(0, 255, (4, 3, 3), dtype=np.uint8), compress=True)
    return {"d.npz": buf.getvalue(), "d-images-idx3-ubyte.gz": (tmp_path / "i").read_bytes(),
            "d.csv": b"a,b,label\n1,2,cat\n3,4.5,dog\n5,6,cat\n", "b/d.png": png(4, 4, bytes(20))}


def test_damaged_files_of_every_kind_give_only_dataset_errors(tmp_path):
    """Every file cut short, and 40 seeded random damages of each: loaded or one
    DatasetError, never another exception."""
    rng = np.random.default_rng(17)
    folder = image_folder(tmp_path / "set")
    write_idx(tmp_path / "d-labels-idx1-ubyte.gz", np.arange(4, dtype=np.uint8) % 2, True)
    outcomes = {"loaded": 0, "refused": 0}
    for name, good in seeds(tmp_path).items():
        target = folder / name if "/" in name else tmp_path / name
        cases = [good[:n] for n in range(0, len(good), max(1, len(good) // 30))]
        for _ in range(40):
            data = bytearray(good)
            for i in rng.integers(0, len(data), rng.integers(1, 6)):
                data[i] = rng.integers(0, 256)
            cases.append(bytes(data))
        for data in cases:
            target.write_bytes(data)
            try:
                load_dataset(folder if "/" in name else target)
                outcomes["loaded"] += 1
            except engine.DatasetError as exc:
                assert "\n" not in str(exc) and len(str(exc)) < 500, str(exc)
                outcomes["refused"] += 1
    assert outcomes["refused"] > 100 and outcomes["loaded"] > 0
