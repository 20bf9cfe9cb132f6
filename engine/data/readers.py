"""The user's own files: CSV, NPZ (X, y), IDX image/label pairs and image folders.

Every reader returns a Dataset or raises DatasetError naming the file and, for text, the line;
what a file declares is checked against the memory budget before anything is allocated
(engine.data.limits), and no error of the libraries underneath escapes a reader.
"""
from __future__ import annotations

import os

from pathlib import Path

import numpy as np

from engine.errors import DatasetError
from engine.data.dataset import (CLASSIFICATION, REGRESSION, Dataset, Option, check_choice,
                                 given_options, make_dataset, make_streamed)
from engine.data.idx import find_labels, read_idx
from engine.data.images import IMAGE_SUFFIXES, class_files, fits_budget, image_layout, \
    load_images
from engine.data.stream import ImageFiles, histogram, pixel_stats, sample_histogram
from engine.data.limits import bounded, regular_file
from engine.data.npz import read_arrays
from engine.data.shards import MANIFEST, STREAM, read_shards
from engine.data.table import NORMALISE, TASKS, csv_columns, read_csv

__all__ = ["FILE_KINDS", "IMAGE_SUFFIXES", "READER_OPTIONS", "check_file_options", "check_path",
           "csv_columns", "file_kind", "file_kinds", "file_options", "read_csv", "read_idx_pair",
           "read_image_folder", "read_npz", "read_path"]


def read_path(path: Path, options: dict) -> Dataset:
    """Pick the reader from what the path is; check the options against that kind of file."""
    try:
        dataset = _read_path(path, options)
    except OSError as exc:      # a folder on the way the user may not enter, a name too long
        raise DatasetError(f"'{path}' cannot be read: {exc.strerror or exc}") from None
    # recorded (Dataset.reference) as an absolute path: a run continued from another folder
    # reads the same file, never one of the same name there
    dataset.source = os.path.abspath(path)
    return dataset


def _read_path(path: Path, options: dict) -> Dataset:
    kind = check_path(path)
    options = check_file_options(path, options)
    if kind == "idx" and path.is_dir():
        path = _idx_in(path)
    readers = {"csv": read_csv, "npz": read_npz, "idx": read_idx_pair,
               "images": read_image_folder, "shards": bounded(read_shards)}
    return readers[kind](path, **options)


# ----------------------------------------------------------------------------- options

DELIMITERS = ("auto", ",", ";", "\t", " ", "|")
FILE_KINDS = {"csv": "a CSV table", "npz": "an NPZ file of arrays", "idx": "an IDX image file",
              "images": "a folder of images", "shards": "a folder of sharded arrays"}
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
               "image is grey", choices=("auto", "gray", "rgb")),
        Option("stream", "auto", "decode the images batch by batch from disk while training "
               "instead of all at once; auto: when all of them would not fit the memory "
               "budget", choices=STREAM, labels=("auto", "yes", "no"))),
    "shards": (
        Option("task", "auto", "classification or regression; auto: classes when y holds "
               "integers, regression otherwise", choices=TASKS),
        Option("normalise", "auto", "how the inputs are scaled: features, global or none, "
               "from a sample of 2,000 rows; auto: global for images (bytes, or 2 or more "
               "dimensions per sample), features otherwise", choices=NORMALISE),
        Option("stream", "auto", "read the rows batch by batch from disk while training "
               "instead of all at once; auto: when all of them would not fit the memory "
               "budget", choices=STREAM, labels=("auto", "yes", "no"))),
}


def file_kind(path) -> str | None:
    """What `load_dataset(path)` reads there: "csv", "npz", "idx", "shards" (a folder with a
    shards.json) or "images" (a folder of class folders); None for anything else."""
    path = Path(path)
    if path.is_dir():
        if (path / MANIFEST).is_file():
            return "shards"
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
    try:
        return _check_path(path)
    except OSError as exc:
        raise DatasetError(f"'{path}' cannot be read: {exc.strerror or exc}") from None


def _check_path(path: Path) -> str:
    if not path.exists():
        raise DatasetError(f"the data file '{path}' does not exist")
    kind = file_kind(path)
    if kind is None:
        raise DatasetError(f"'{path}' is not a data file Layerwise reads: use a .csv, an .npz "
                           f"(arrays X and y), an IDX image file or a folder of images with one "
                           f"subfolder per class")
    if not path.is_dir():
        regular_file(path)          # a pipe or a device named x.csv would block or never end
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


# ----------------------------------------------------------------------------- NPZ

@bounded
def read_npz(path: Path, task: str = "auto", normalise: str = "auto") -> Dataset:
    """Arrays `X` (inputs, one sample per row) and `y` (labels or targets) of numbers."""
    check_choice("task", task, TASKS)
    check_choice("normalise", normalise, NORMALISE)
    arrays = read_arrays(path, ("X", "y"))
    x, y = arrays["X"], arrays["y"]
    if x.ndim < 2:
        raise DatasetError(f"'{path}': X must have one row per sample (at least 2 dimensions), "
                           f"but it has shape {list(x.shape)}")
    resolved = task if task != "auto" else (
        CLASSIFICATION if np.issubdtype(y.dtype, np.integer) else REGRESSION)
    images = x.dtype == np.uint8 or x.ndim >= 3
    how = normalise if normalise != "auto" else ("global" if images else "features")
    return make_dataset(path.name, x, y, resolved, source=str(path),
                        options=given_options(task=task, normalise=normalise), normalise=how,
                        scale=1 / 255 if x.dtype == np.uint8 else 1.0,
                        description=f"arrays X and y of {path.name}")


# ----------------------------------------------------------------------------- IDX

@bounded
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
                        options=given_options(labels=labels), normalise="global",
                        scale=1 / 255 if images.dtype == np.uint8 else 1.0,
                        description=f"IDX images {path.name}")


# ----------------------------------------------------------------------------- folders

@bounded
def read_image_folder(path: Path, size=None, color: str = "auto",
                      stream: str = "auto") -> Dataset:
    """One subfolder per class, named after it; every image the same size (or resized to
    `size` = [height, width]); grey or RGB (`color`: auto, gray, rgb). A class folder
    without images is refused, naming it; hidden files are skipped. `stream` (auto, yes, no):
    leave the images on disk and decode them batch by batch (engine.data.stream); auto does
    when all of them would not fit the memory budget."""
    check_choice("color", color, ("auto", "gray", "rgb"))
    check_choice("stream", stream, STREAM)
    if size is not None and not (isinstance(size, (list, tuple)) and len(size) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 4096 for v in size)):
        raise DatasetError(f"size must be [height, width] in pixels, not {size!r}")
    classes, files = class_files(path)
    paths = [f for _, f in files]
    labels = np.array([i for i, _ in files])
    layout = image_layout(paths, size, color)
    options = given_options(size=size, color=color,
                            stream=None if stream == "auto" else stream)
    if stream == "yes" or (stream == "auto" and not fits_budget(paths, layout)):
        return make_streamed(path.name, _on_disk(paths, layout), labels, source=str(path),
                             options=options, classes=classes,
                             description=f"images in {path.name}/, one folder per class, "
                                         f"read from disk while training")
    images = load_images(path, paths, layout)
    return make_dataset(path.name, images, labels, CLASSIFICATION, source=str(path),
                        options=options, normalise="global", scale=1 / 255, classes=classes,
                        stats=pixel_stats(histogram(images), 1 / 255),
                        description=f"images in {path.name}/, one folder per class")


def _on_disk(paths: list[Path], layout) -> ImageFiles:
    """The folder's pictures left on disk, with the mean and spread of a seeded sample."""
    mode, dims, resize = layout
    files = ImageFiles(tuple(str(p) for p in paths), mode, dims, resize, 1 / 255)
    mean, std = pixel_stats(sample_histogram(files), 1 / 255)
    return ImageFiles(files.files, mode, dims, resize, 1 / 255, mean, std)
