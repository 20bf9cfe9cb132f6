"""The user's own files: CSV, NPZ (X, y), IDX image/label pairs and image folders.

Every reader returns a Dataset or raises DatasetError naming the file and, for text, the line.
"""
from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np

from engine.errors import DatasetError
from engine.data.dataset import CLASSIFICATION, REGRESSION, Dataset, Option, make_dataset
from engine.data.idx import find_labels, read_idx

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".tif", ".tiff",
                  ".webp")
TASKS = ("auto", CLASSIFICATION, REGRESSION)
NORMALISE = ("auto", "none", "global", "features")


def read_path(path: Path, options: dict) -> Dataset:
    """Pick the reader from what the path is; check the options against that kind of file."""
    kind = check_path(path)
    options = check_file_options(path, options)
    if kind == "idx" and path.is_dir():
        path = _idx_in(path)
    readers = {"csv": read_csv, "npz": read_npz, "idx": read_idx_pair,
               "images": read_image_folder}
    return readers[kind](path, **options)


# ----------------------------------------------------------------------------- options

DELIMITERS = ("auto", ",", ";", "\t", " ", "|")
FILE_KINDS = {"csv": "a CSV table", "npz": "an NPZ file of arrays", "idx": "an IDX image file",
              "images": "a folder of images"}
READER_OPTIONS = {
    "csv": (
        Option("label", -1, "the column that holds the labels or targets: its number (0 for "
               "the first, -1 for the last) or its name in the header row", kind="column"),
        Option("header", "auto", "whether the first row holds column names; auto: yes when "
               "it has text where the next row has numbers", choices=("auto", True, False),
               labels=("auto", "yes", "no")),
        Option("task", "auto", "classification (the labels are classes) or regression "
               "(they are numbers to predict); auto: classes when every label is a whole "
               "number or some are text, regression otherwise", choices=TASKS),
        Option("delimiter", "auto", "what separates the values of a row; auto: the first of "
               "comma, semicolon or tab found in the first row", choices=DELIMITERS,
               labels=("auto", "comma", "semicolon", "tab", "space", "bar")),
        Option("normalise", "features", "how the inputs are scaled: features (each column to "
               "mean 0 and standard deviation 1), global (one mean and deviation for all "
               "values), none (as in the file); auto is features", choices=NORMALISE)),
    "npz": (
        Option("task", "auto", "classification or regression; auto: classes when y holds "
               "integers, regression otherwise", choices=TASKS),
        Option("normalise", "auto", "how X is scaled: features (each to mean 0 and standard "
               "deviation 1), global (one mean and deviation for all values), none; auto: "
               "global for images (bytes, or 3 or more dimensions), features otherwise",
               choices=NORMALISE)),
    "idx": (
        Option("labels", None, "the IDX label file; empty: the '...-labels-idx1-ubyte' file "
               "next to the images", kind="path"),),
    "images": (
        Option("size", None, "resize every image to height x width pixels, as 28x28; empty: "
               "keep their own size (then all must be the same size)", kind="size"),
        Option("color", "auto", "gray (one channel) or rgb (three); auto: gray when every "
               "image is grey", choices=("auto", "gray", "rgb"))),
}


def file_kind(path) -> str | None:
    """What `load_dataset(path)` reads there: "csv", "npz", "idx" or "images" (a folder of
    class folders); None for anything else."""
    path = Path(path)
    if path.is_dir():
        return "idx" if _idx_in(path) else "images"
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if suffix == ".npz":
        return "npz"
    if "idx" in path.name.lower() or suffix in (".idx", ".gz"):
        return "idx"
    return None


def check_path(path) -> str:
    """The kind of data file at `path`; DatasetError when it is missing or of no known kind."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"the data file '{path}' does not exist")
    kind = file_kind(path)
    if kind is None:
        raise DatasetError(f"'{path}' is not a data file Layerwise reads: use a .csv, an .npz "
                           f"(arrays X and y), an IDX image file or a folder of images with one "
                           f"subfolder per class")
    return kind


def file_kinds() -> list[dict]:
    """The kinds of file Layerwise reads, JSON-ready: kind, description, options."""
    return [{"kind": kind, "description": text,
             "options": {o.name: o.to_dict() for o in READER_OPTIONS.get(kind, ())}}
            for kind, text in FILE_KINDS.items()]


def file_options(path) -> tuple[Option, ...]:
    """The options the reader of this kind of file takes (none for an unknown kind)."""
    return READER_OPTIONS.get(file_kind(path), ())


def check_file_options(path, options: dict) -> dict:
    """`options` as the reader takes them; DatasetError naming an unknown option or a bad
    value, and what is accepted instead."""
    path = Path(path)
    kind = file_kind(path)
    known = {o.name: o for o in READER_OPTIONS.get(kind, ())}
    unknown = [k for k in options if k not in known]
    if unknown:
        takes = f"it takes {', '.join(known)}" if known else "it takes no options"
        raise DatasetError(f"'{path.name}' ({FILE_KINDS.get(kind, 'a file')}) has no option "
                           f"{unknown[0]!r}; {takes}")
    return {k: known[k].check(path.name, v) for k, v in options.items()}


def _idx_in(folder: Path) -> Path | None:
    idx = sorted(folder.glob("*images-idx3-ubyte*"))
    train = [p for p in idx if p.name.startswith("train")]
    return (train or idx or [None])[0]


# ----------------------------------------------------------------------------- CSV

def read_csv(path: Path, label=-1, header="auto", task: str = "auto", delimiter: str = "auto",
             normalise: str = "features") -> Dataset:
    """One sample per row; `label` is the label column (index, negative from the end, or
    header name); the other columns are numeric inputs."""
    _choice("task", task, TASKS)
    _choice("normalise", normalise, NORMALISE)
    rows = _csv_rows(path, delimiter)
    names, rows = _csv_header(path, rows, header)
    width = len(rows[0][1])
    col = _label_column(path, label, names, width)
    xs, labels = [], []
    for line, row in rows:
        if len(row) != width:
            raise DatasetError(f"'{path}', line {line}: {len(row)} values, but the first row "
                               f"has {width}; every row needs the same number of columns")
        first = names is None and line == rows[0][0]      # perhaps names, read as data
        xs.append([_number(path, line, i, v, first) for i, v in enumerate(row) if i != col])
        labels.append(row[col].strip())
    if not xs[0]:
        raise DatasetError(f"'{path}' has only a label column; it needs input columns too")
    y, resolved, classes = _csv_labels(path, labels, task, [ln for ln, _ in rows])
    return make_dataset(path.name, np.array(xs), y, resolved, source=str(path),
                        options=_opts(label=label, header=header, task=task,
                                      delimiter=delimiter, normalise=normalise),
                        normalise="none" if normalise == "none" else
                        ("global" if normalise == "global" else "features"),
                        classes=classes, description=f"rows of {path.name}")


def _csv_rows(path: Path, delimiter: str) -> list[tuple[int, list[str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetError(f"'{path}' is not UTF-8 text; save it as a UTF-8 CSV") from None
    except OSError as exc:
        raise DatasetError(f"'{path}' cannot be read: {exc.strerror or exc}") from None
    rows = _split_rows(path, text.splitlines(), delimiter)
    if not rows:
        raise DatasetError(f"'{path}' is empty: it has no rows of data")
    return rows


def _split_rows(path: Path, lines: list[str], delimiter: str) -> list[tuple[int, list[str]]]:
    if delimiter == "auto":
        first = next((ln for ln in lines if ln.strip()), "")
        delimiter = next((d for d in (",", ";", "\t") if d in first), ",")
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        return [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except csv.Error as exc:
        raise DatasetError(f"'{path}', line {reader.line_num}: not a row of a CSV table "
                           f"({exc})") from None


def csv_columns(path, header="auto", delimiter="auto") -> list[str | None]:
    """The columns of a CSV file, read from its first lines (to choose the label column):
    one entry per column, its name in the header row or None without one."""
    path = Path(path)
    lines = []
    try:
        with open(path, encoding="utf-8-sig") as fh:
            for line in fh:
                if line.strip():
                    lines.append(line.rstrip("\r\n"))
                if len(lines) == 3:
                    break
    except UnicodeDecodeError:
        raise DatasetError(f"'{path}' is not UTF-8 text; save it as a UTF-8 CSV") from None
    except OSError as exc:
        raise DatasetError(f"'{path}' cannot be read: {exc.strerror or exc}") from None
    rows = _split_rows(path, lines, delimiter)
    if not rows:
        raise DatasetError(f"'{path}' is empty: it has no rows of data")
    names, rows = _csv_header(path, rows, header)
    return list(names) if names else [None] * len(rows[0][1])


def _csv_header(path, rows, header):
    if header == "auto":
        header = not all(_is_number(v) for v in rows[0][1]) and len(rows) > 1 and \
            sum(_is_number(v) for v in rows[1][1]) > sum(_is_number(v) for v in rows[0][1])
    if header:
        names, rows = [c.strip() for c in rows[0][1]], rows[1:]
        if not rows:
            raise DatasetError(f"'{path}' has a header row but no rows of data")
        return names, rows
    return None, rows


def _label_column(path, label, names, width) -> int:
    if isinstance(label, str) and not label.lstrip("-").isdigit():
        if not names or label not in names:
            known = f"its columns are {', '.join(names)}" if names else \
                "it has no header row (set header to yes if its first row holds names)"
            raise DatasetError(f"'{path}' has no column called {label!r}; {known}")
        return names.index(label)
    col = int(label)
    if not -width <= col < width:
        raise DatasetError(f"'{path}' has {width} columns, so there is no column {col} for "
                           f"the labels (count from 0, or -1 for the last)")
    return col % width


def _csv_labels(path, labels, task, lines):
    numeric = all(_is_number(v) for v in labels)
    if task == REGRESSION or (task == "auto" and numeric
                              and not all(float(v).is_integer() for v in labels)):
        for line, v in zip(lines, labels):
            if not _is_number(v):
                raise DatasetError(f"'{path}', line {line}: label {v!r} is not a number, but "
                                   f"regression needs numbers to predict (use task="
                                   f"classification for named classes)")
        return np.array([float(v) for v in labels]), REGRESSION, None
    if numeric:
        for line, v in zip(lines, labels):
            if not float(v).is_integer() or float(v) < 0:
                raise DatasetError(f"'{path}', line {line}: label {v!r} is out of range: class "
                                   f"labels are whole numbers from 0 (or use task=regression)")
        return np.array([int(float(v)) for v in labels]), CLASSIFICATION, None
    classes = sorted(set(labels))
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[v] for v in labels]), CLASSIFICATION, classes


def _is_number(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def _number(path, line, col, v, first=False) -> float:
    """An input value; DatasetError naming the line and column (counted from 1) and what to
    change when it is not a number."""
    try:
        return float(v)
    except ValueError:
        names = "; if the first row holds column names, set header to yes" if first else ""
        raise DatasetError(f"'{path}', line {line}, column {col + 1}: {v.strip()!r} is not a "
                           f"number. Every column but the label column must hold numbers: if "
                           f"this one holds the labels, choose it as the label column (label="
                           f"{col}, counting from 0){names}") from None


# ----------------------------------------------------------------------------- NPZ

def read_npz(path: Path, task: str = "auto", normalise: str = "auto") -> Dataset:
    """Arrays `X` (inputs, one sample per row) and `y` (labels or targets)."""
    _choice("task", task, TASKS)
    _choice("normalise", normalise, NORMALISE)
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ("X", "y") if k not in f.files]
            if missing:
                raise DatasetError(f"'{path}' has no array {' or '.join(missing)}: an NPZ data "
                                   f"set needs 'X' (inputs) and 'y' (labels or targets); it has "
                                   f"{', '.join(f.files) or 'no arrays'}")
            x, y = f["X"], f["y"]
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(f"'{path}' cannot be read as an NPZ file ({exc})") from None
    if x.ndim < 2:
        raise DatasetError(f"'{path}': X must have one row per sample (at least 2 dimensions), "
                           f"but it has shape {list(x.shape)}")
    resolved = task if task != "auto" else (
        CLASSIFICATION if np.issubdtype(y.dtype, np.integer) else REGRESSION)
    images = x.dtype == np.uint8 or x.ndim >= 3
    how = normalise if normalise != "auto" else ("global" if images else "features")
    return make_dataset(path.name, x, y, resolved, source=str(path),
                        options=_opts(task=task, normalise=normalise), normalise=how,
                        scale=1 / 255 if x.dtype == np.uint8 else 1.0,
                        description=f"arrays X and y of {path.name}")


# ----------------------------------------------------------------------------- IDX

def read_idx_pair(path: Path, labels: str | None = None) -> Dataset:
    """An IDX image file and its label file (found by name, or given as `labels`)."""
    label_path = Path(labels) if labels else find_labels(path)
    if label_path is None:
        raise DatasetError(f"no label file found for '{path}': expected a '...-labels-idx1-"
                           f"ubyte' file next to it, or pass labels=PATH")
    images, targets = read_idx(path), read_idx(label_path)
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4 or targets.ndim != 1:
        raise DatasetError(f"'{path}' must hold images (N x height x width) and '{label_path}' "
                           f"one label per image")
    return make_dataset(path.name, images, targets, CLASSIFICATION, source=str(path),
                        options=_opts(labels=labels), normalise="global",
                        scale=1 / 255 if images.dtype == np.uint8 else 1.0,
                        description=f"IDX images {path.name}")


# ----------------------------------------------------------------------------- folders

def read_image_folder(path: Path, size=None, color: str = "auto") -> Dataset:
    """One subfolder per class, named after it; every image the same size (or resized to
    `size` = [height, width]); grey or RGB (`color`: auto, gray, rgb)."""
    _choice("color", color, ("auto", "gray", "rgb"))
    if size is not None and not (isinstance(size, (list, tuple)) and len(size) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 4096 for v in size)):
        raise DatasetError(f"size must be [height, width] in pixels, not {size!r}")
    classes = sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    files = [(i, f) for i, c in enumerate(classes) for f in sorted((path / c).iterdir())
             if f.suffix.lower() in IMAGE_SUFFIXES]
    if len(classes) < 2 or not files:
        raise DatasetError(f"'{path}' is not an image data set: it needs one subfolder per "
                           f"class (at least two) holding images ({', '.join(IMAGE_SUFFIXES)})")
    images = _load_images([f for _, f in files], size, color)
    return make_dataset(path.name, images, np.array([i for i, _ in files]), CLASSIFICATION,
                        source=str(path), options=_opts(size=size, color=color),
                        normalise="global", scale=1 / 255, classes=classes,
                        description=f"images in {path.name}/, one folder per class")


def _load_images(files: list[Path], size, color: str) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:
        raise DatasetError("reading a folder of images needs the Pillow package: install it "
                           "with 'pip install Pillow'") from None
    modes = []
    with_mode = []
    for f in files:
        try:
            with Image.open(f) as im:
                im.load()
                with_mode.append(im.copy())
                modes.append(im.mode)
        except OSError as exc:
            raise DatasetError(f"'{f}' cannot be read as an image ({exc})") from None
    mode = {"gray": "L", "rgb": "RGB"}.get(color) or \
        ("L" if all(m in ("1", "L", "I", "I;16", "F") for m in modes) else "RGB")
    target = tuple(size) if size else with_mode[0].size[::-1]
    arrays = []
    for f, im in zip(files, with_mode):
        im = im.convert(mode)
        if size:
            im = im.resize((int(target[1]), int(target[0])))
        elif im.size[::-1] != target:
            raise DatasetError(f"'{f}' is {im.size[0]}x{im.size[1]} pixels but the first image "
                               f"is {target[1]}x{target[0]}; make all images the same size or "
                               f"pass size=[height, width]")
        a = np.asarray(im, dtype=np.uint8)
        arrays.append(a[None] if a.ndim == 2 else a.transpose(2, 0, 1))
    return np.stack(arrays)


def _choice(name: str, value, choices) -> None:
    if value not in choices:
        raise DatasetError(f"{name} must be one of {', '.join(map(str, choices))}, not {value!r}")


def _opts(**options) -> dict:
    """The options that differ from None, as given (to reload the data set later)."""
    return {k: v for k, v in options.items() if v is not None}
