"""CSV tables: one sample per row, a label column, numeric inputs. The file is read row by row
into a flat array of numbers (no list of strings of the whole file); every problem names the
file, the line and the column."""
from __future__ import annotations

import csv
import itertools
from array import array
from pathlib import Path

import numpy as np

from engine.data import limits
from engine.data.dataset import (CLASSIFICATION, REGRESSION, Dataset, check_choice,
                                 given_options, make_dataset)
from engine.data.limits import bounded, regular_file, shorten, size_text
from engine.errors import DatasetError

TASKS = ("auto", CLASSIFICATION, REGRESSION)
NORMALISE = ("auto", "none", "global", "features")
MAX_LINE = 16 * 1024 ** 2
"""The longest first line `csv_columns` reads."""


@bounded
def read_csv(path: Path, label=-1, header="auto", task: str = "auto", delimiter: str = "auto",
             normalise: str = "features") -> Dataset:
    """One sample per row; `label` is the label column (index, negative from the end, or
    header name); the other columns are numeric inputs. A trailing delimiter at the end of a
    row (one more, empty, field) is ignored on every line."""
    check_choice("task", task, TASKS)
    check_choice("normalise", normalise, NORMALISE)
    path = Path(path)
    _check_size(path)
    with _open(path) as fh:
        rows = _rows(path, fh, delimiter)
        names, first = _csv_header(path, list(itertools.islice(rows, 2)), header)
        width = len(names) if names else len(first[0][1])
        col = _label_column(path, label, names, width)
        xs, labels, lines = _values(path, itertools.chain(first, rows), width, col, names)
    if width == 1:
        raise DatasetError(f"'{path}' has only a label column; it needs input columns too")
    x = np.frombuffer(xs, dtype=np.float64).reshape(len(labels), width - 1)
    _check_finite(path, x, lines, col)
    y, resolved, classes = _csv_labels(path, labels, task, lines, col)
    return make_dataset(path.name, x, y, resolved, source=str(path),
                        options=given_options(label=label, header=header, task=task,
                                              delimiter=delimiter, normalise=normalise),
                        normalise="none" if normalise == "none" else
                        ("global" if normalise == "global" else "features"),
                        classes=classes, description=f"rows of {path.name}")


@bounded
def csv_columns(path, header="auto", delimiter="auto") -> list[str | None]:
    """The columns of a CSV file, read from its first lines (to choose the label column):
    one entry per column, its name in the header row or None without one."""
    path = Path(path)
    regular_file(path)
    with _open(path) as fh, _reading(path):
        lines = _first_lines(fh, 3)
    names, rows = _csv_header(path, list(_rows(path, lines, delimiter)), header)
    return list(names) if names else [None] * len(rows[0][1])


def _first_lines(fh, n: int, scan: int = 10_000) -> list[str]:
    """The first `n` lines that are not blank (of at most MAX_LINE characters each)."""
    lines = []
    for _ in range(scan):
        line = fh.readline(MAX_LINE) if len(lines) < n else ""
        if not line:
            break
        if line.strip():
            lines.append(line)
    return lines


def _check_size(path: Path) -> None:
    regular_file(path)
    size, limit = path.stat().st_size, limits.memory_budget() // limits.BYTES_PER_VALUE
    if size > limit:
        raise DatasetError(f"'{path}' is {size_text(size)}, more than the {size_text(limit)} "
                           f"Layerwise reads from a CSV table; save large data as an NPZ file "
                           f"(arrays X and y) instead")


def _open(path: Path):
    return open(path, encoding="utf-8-sig", newline="")


def _rows(path: Path, lines, delimiter: str):
    """(line number, fields) of each row that is not blank, a trailing empty field dropped."""
    with _reading(path):
        lines, blank = iter(lines), []
        if delimiter == "auto":
            first = next((ln for ln in lines if ln.strip() or blank.append(ln)), "")
            delimiter = next((d for d in (",", ";", "\t") if d in first), ",")
            lines = itertools.chain(blank, [first] if first else [], lines)
        reader = csv.reader(lines, delimiter=delimiter)
        try:
            for row in reader:
                if any(c.strip() for c in row):
                    yield reader.line_num, row[:-1] if len(row) > 1 and not row[-1].strip() \
                        else row
        except csv.Error as exc:
            raise DatasetError(f"'{path}', line {reader.line_num}: not a row of a CSV table "
                               f"({shorten(exc)})") from None


class _reading:
    """Text that is not UTF-8 becomes a DatasetError saying so."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if kind is not None and issubclass(kind, UnicodeDecodeError):
            raise DatasetError(f"'{self.path}' is not UTF-8 text; save it as a UTF-8 "
                               f"CSV") from None
        return False


def _csv_header(path, rows, header):
    if not rows:
        raise DatasetError(f"'{path}' is empty: it has no rows of data")
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
            known = f"its columns are {shorten(', '.join(names))}" if names else \
                "it has no header row (set header to yes if its first row holds names)"
            raise DatasetError(f"'{path}' has no column called {shorten(label)!r}; {known}")
        return names.index(label)
    col = int(label)
    if not -width <= col < width:
        raise DatasetError(f"'{path}' has {width} columns, so there is no column {col} for "
                           f"the labels (count from 0, or -1 for the last)")
    return col % width


def _values(path, rows, width, col, names):
    """(inputs as a flat float64 array, label texts, line numbers), row by row."""
    xs, labels, lines, seen = array("d"), [], array("q"), {}
    top = None
    for line, row in rows:
        if len(row) != width:
            raise DatasetError(f"'{path}', line {line}: {len(row)} values, but the "
                               f"{'header row' if names else 'first row'} has {width}; every "
                               f"row needs the same number of columns")
        label = row.pop(col).strip()
        if not label:
            raise DatasetError(f"'{path}', line {line}, column {col + 1}: the label is empty; "
                               f"every row needs a label")
        top = line if top is None else top
        _numbers(path, line, col, row, xs, first=names is None and line == top)
        labels.append(seen.setdefault(label, label))
        lines.append(line)
        _check_budget(path, len(xs) + 5 * len(lines))
    return xs, labels, lines


def _numbers(path, line, col, row, xs, first) -> None:
    try:
        xs.extend(map(float, row))
    except ValueError:
        for i, v in enumerate(row):
            _number(path, line, i + (i >= col), v, first)


def _check_budget(path, values: int) -> None:
    if values * limits.BYTES_PER_VALUE > limits.memory_budget():
        limits.check_budget(path, values, "its rows hold more than")


def _check_finite(path, x: np.ndarray, lines, col) -> None:
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if len(bad):
        row = int(bad[0])
        i = int(np.flatnonzero(~np.isfinite(x[row]))[0])
        raise DatasetError(f"'{path}', line {lines[row]}, column {i + (i >= col) + 1}: "
                           f"{x[row, i]} is not a finite number (NaN or infinity); every input "
                           f"must be a finite number")


def _csv_labels(path, labels, task, lines, col):
    numeric = all(_is_number(v) for v in labels)
    if task == REGRESSION or (task == "auto" and numeric
                              and not all(float(v).is_integer() for v in labels)):
        targets = np.array([_target(path, line, col, v) for line, v in zip(lines, labels)])
        return targets, REGRESSION, None
    if numeric:
        for line, v in zip(lines, labels):
            if not float(v).is_integer() or float(v) < 0:
                raise DatasetError(f"'{path}', line {line}: label {shorten(v)!r} is out of "
                                   f"range: class labels are whole numbers from 0 (or use "
                                   f"task=regression)")
        return np.array([int(float(v)) for v in labels]), CLASSIFICATION, None
    classes = sorted(set(labels))
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[v] for v in labels]), CLASSIFICATION, classes


def _target(path, line, col, v: str) -> float:
    if not _is_number(v):
        raise DatasetError(f"'{path}', line {line}: label {shorten(v)!r} is not a number, but "
                           f"regression needs numbers to predict (use task=classification for "
                           f"named classes)")
    if not np.isfinite(float(v)):
        raise DatasetError(f"'{path}', line {line}, column {col + 1}: label {shorten(v)!r} is "
                           f"not a finite number (NaN or infinity)")
    return float(v)


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
        raise DatasetError(f"'{path}', line {line}, column {col + 1}: {shorten(v.strip())!r} "
                           f"is not a number. Every column but the label column must hold "
                           f"numbers: if this one holds the labels, choose it as the label "
                           f"column (label={col}, counting from 0){names}") from None
