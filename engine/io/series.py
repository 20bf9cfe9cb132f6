"""history.safetensors: a history's long series, as typed columns beside history.json.

history.json keeps the metadata (epochs, stages, runs, status, message) and, under "series",
the names and order of the columns: {"member": "history.safetensors", "steps": ["step",
"epoch", "loss"], "probes": {node: [stat, ...]}} ("steps" and "probes" only when the history
has them). The member holds the tensors "steps/step", "steps/epoch" (int32, or int64 when a
value needs it), "steps/loss" (float32), "probes/step" (int32 or int64) and "probes/<i>"
(float32), the i-th column of the listing, all one-dimensional. A missing value (a null of
today's JSON: a diverged loss, a stat that appeared late) is NaN; infinite values are refused.
Reading checks the header before touching the data: names against the listing, dtypes,
shapes, lengths (each step column as long as the others, each probe column as long as
"probes/step"), the total number of values, and offsets that tile the data; every problem is
reported at once.
"""
from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

from engine.io.checks import SERIES_MEMBER
from engine.io.structure import MAX_PROBLEMS, MAX_WHOLE
from engine.run.history import (STEP_DTYPES, Column, StepRows, VALUE_DTYPE, probe_columns,
                                step_columns)

STEP_NAMES = tuple(STEP_DTYPES)
MAX_HEADER = 8 * 1024 * 1024        # bytes of the member's JSON header
MAX_TENSORS = 50_000                # columns in one history
MAX_VALUES = 64_000_000             # values of all columns together (like json_limits)
WHOLE = {"I32": np.dtype("<i4"), "I64": np.dtype("<i8")}
REAL = {"F32": np.dtype("<f4")}


# ----------------------------------------------------------------------------- writing

def split_history(history: dict, problems: list[str]) -> tuple[dict, bytes | None]:
    """history.json's content and the history.safetensors bytes (None: no series) of a
    history; a value that cannot be stored adds a problem."""
    meta = {k: v for k, v in history.items() if k not in ("steps", "probes", "series")}
    tensors: dict[str, np.ndarray] = {}
    series: dict[str, Any] = {"member": SERIES_MEMBER}
    try:
        if history.get("steps") is not None:
            columns = step_columns(history)
            tensors.update({f"steps/{name}": _stored(values) for name, values in
                            columns.items()})
            series["steps"] = list(STEP_NAMES)
        if history.get("probes"):
            steps, layers = probe_columns(history)
            tensors["probes/step"] = _stored(steps)
            series["probes"] = {node: list(table) for node, table in layers.items()}
            values = [v for table in layers.values() for v in table.values()]
            tensors.update({f"probes/{i}": _stored(v) for i, v in enumerate(values)})
    except (TypeError, ValueError, KeyError, OverflowError, AttributeError) as exc:
        problems.append(f"the history's step and probe series cannot be stored as numbers "
                        f"({str(exc)[:200]})")
        return meta, None
    if not tensors:
        return meta, None
    meta["series"] = series
    from safetensors.numpy import save
    return meta, save(tensors)


def _stored(values: np.ndarray) -> np.ndarray:
    """Whole numbers as int32 when they fit (else int64); other values as float32, with
    infinities as NaN (a diverged value, stored as null in JSON)."""
    if values.dtype.kind in "iu":
        small = not len(values) or (values.min() >= -2 ** 31 and values.max() < 2 ** 31)
        return np.ascontiguousarray(values, dtype=np.int32 if small else np.int64)
    values = np.asarray(values, dtype=VALUE_DTYPE)
    if not np.isfinite(values).all():
        values = np.where(np.isinf(values), np.float32(np.nan), values)
    return np.ascontiguousarray(values)


# ----------------------------------------------------------------------------- reading

def read_series(series: dict, members: dict[str, bytes],
                problems: list[str]) -> dict[str, Any] | None:
    """{"steps": StepRows, "probes": {...}} (each when listed) from the member that
    history.json's valid "series" names; None with the problems found."""
    where = SERIES_MEMBER
    if series.get("member") != SERIES_MEMBER:
        problems.append(f"history.json.series.member must be {SERIES_MEMBER!r}")
        return None
    if SERIES_MEMBER not in members:
        if not any(f"member {SERIES_MEMBER!r}" in p for p in problems):   # not unreadable
            problems.append(f"history.json names {SERIES_MEMBER}, which the file does not "
                            f"have")
        return None
    found: list[str] = []
    data = members[SERIES_MEMBER]
    expected = _expected(series, found)
    header, start = _header(data, found)
    if header is not None and not found:
        _check_header(header, expected, len(data) - start, found)
    arrays = _arrays(header, data, start, found) if not found else {}
    if found:
        problems.extend(f"{where}: {p}" for p in found[:MAX_PROBLEMS])
        if len(found) > MAX_PROBLEMS:
            problems.append(f"{where}: checking stopped after {MAX_PROBLEMS} problems; "
                            f"there may be more")
        return None
    return _history_series(series, arrays)


def _expected(series: dict, found: list[str]) -> dict[str, tuple[dict, str]]:
    """Tensor name -> (allowed dtypes, length group) from the listing in history.json."""
    expected: dict[str, tuple[dict, str]] = {}
    if "steps" in series:
        if list(series["steps"]) != list(STEP_NAMES):
            found.append(f"history.json lists the step columns {series['steps']!r:.80}; they "
                         f"are {list(STEP_NAMES)}")
        expected.update({"steps/step": (WHOLE, "steps"), "steps/epoch": (WHOLE, "steps"),
                         "steps/loss": (REAL, "steps")})
    if "probes" in series:
        expected["probes/step"] = (WHOLE, "probes")
        count = 0
        for node, stats in series["probes"].items():
            if len(set(stats)) != len(stats):
                found.append(f"history.json lists a statistic of {node!r:.80} twice")
            count += len(stats)
        if count > MAX_TENSORS:
            found.append(f"history.json lists {count:,} probe columns; at most "
                         f"{MAX_TENSORS:,} are allowed")
        expected.update({f"probes/{i}": (REAL, "probes") for i in range(min(count,
                                                                           MAX_TENSORS))})
    return expected


def _header(data: bytes, found: list[str]) -> tuple[dict | None, int]:
    """The member's JSON header (without "__metadata__"), read only when within MAX_HEADER
    bytes, and where its data starts."""
    if len(data) < 8:
        found.append("it is not a safetensors file (shorter than its header size)")
        return None, 0
    (size,) = struct.unpack("<Q", data[:8])
    if size > min(MAX_HEADER, len(data) - 8):
        found.append(f"its header says it is {size:,} bytes long; the member has "
                     f"{len(data) - 8:,} bytes after the size and at most {MAX_HEADER:,} "
                     f"are allowed")
        return None, 0
    try:
        header = json.loads(data[8:8 + size].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        found.append("its header is not valid JSON")
        return None, 0
    if not isinstance(header, dict):
        found.append("its header is not a JSON object")
        return None, 0
    header.pop("__metadata__", None)
    if len(header) > MAX_TENSORS + 4:
        found.append(f"it holds {len(header):,} tensors; at most {MAX_TENSORS + 4:,} are "
                     f"allowed")
        return None, 0
    return header, 8 + size


def _check_header(header: dict, expected: dict, data_size: int, found: list[str]) -> None:
    """Names, dtypes, shapes, lengths, the total of values and the offsets, from the header
    alone (nothing of the data is read)."""
    missing = [n for n in expected if n not in header]
    if missing:
        found.append(f"it lacks {missing[0]!r}, which history.json lists{_more(missing)}")
    extra = [n for n in header if n not in expected]
    if extra:
        found.append(f"it has {str(extra[0])[:80]!r}, which history.json does not list"
                     f"{_more(extra)}")
    lengths: dict[str, dict[int, str]] = {}
    spans, total = [], 0
    for name, info in header.items():
        if name not in expected:
            continue
        shape = _one_dimension(name, info, expected[name][0], found)
        if shape is None:
            continue
        length, dtype, (begin, end) = shape
        total += length
        spans.append((begin, end))
        if end - begin != length * dtype.itemsize:
            found.append(f"{name!r} has {end - begin:,} bytes for {length:,} values of "
                         f"{info['dtype']}")
        lengths.setdefault(expected[name][1], {}).setdefault(length, name)
    for group, seen in lengths.items():
        if len(seen) > 1:
            (n1, a), (n2, b) = list(seen.items())[:2]
            found.append(f"the {group} columns differ in length: {a!r} has {n1:,} values and "
                         f"{b!r} {n2:,}")
    if total > MAX_VALUES:
        found.append(f"it holds {total:,} values; at most {MAX_VALUES:,} are allowed")
    if not found and not _tiled(spans, data_size):
        found.append("its tensors' offsets do not cover its data exactly (gaps or overlaps)")


def _more(names: list) -> str:
    return f" (and {len(names) - 1:,} more)" if len(names) > 1 else ""


def _one_dimension(name: str, info: Any, dtypes: dict, found: list[str]):
    """(length, dtype, offsets) of a tensor's header entry, or None with a problem."""
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
        found.append(f"{name!r} has no dtype, shape and data_offsets")
        return None
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(dtype, str) or dtype not in dtypes:
        found.append(f"{name!r} holds {str(dtype)[:20]} values; it must hold "
                     f"{' or '.join(dtypes)}")
        return None
    if not (isinstance(shape, list) and len(shape) == 1 and _whole(shape[0])):
        found.append(f"{name!r} has shape {str(shape)[:40]}; a column has one dimension")
        return None
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_whole, offsets))
            and offsets[0] <= offsets[1]):
        found.append(f"{name!r} has invalid data offsets {str(offsets)[:40]}")
        return None
    return shape[0], dtypes[dtype], tuple(offsets)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 2 ** 62


def _tiled(spans: list[tuple[int, int]], data_size: int) -> bool:
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            return False
        position = end
    return position == data_size


def _arrays(header: dict | None, data: bytes, start: int,
            found: list[str]) -> dict[str, np.ndarray]:
    """The columns as arrays over the member's bytes (no copy), with their values checked:
    whole numbers from 0 to 2**53, other values finite or NaN."""
    if header is None:
        return {}
    arrays = {}
    for name, info in header.items():
        dtype = {**WHOLE, **REAL}[info["dtype"]]
        begin = start + info["data_offsets"][0]
        values = np.frombuffer(data, dtype=dtype, count=info["shape"][0], offset=begin)
        if dtype.kind == "i" and len(values) and (values.min() < 0 or values.max() > MAX_WHOLE):
            found.append(f"{name!r} holds a step or epoch number below 0 or above 2**53")
        elif dtype.kind == "f" and np.isinf(values).any():
            found.append(f"{name!r} holds infinite values (a missing value is NaN)")
        arrays[name] = values
    return arrays


def _history_series(series: dict, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "steps" in series:
        out["steps"] = StepRows.wrap(*(_native(arrays[f"steps/{n}"], STEP_DTYPES[n])
                                       for n in STEP_NAMES))
    if "probes" in series:
        columns = (Column.wrap(_native(arrays[f"probes/{i}"], VALUE_DTYPE))
                   for i in range(sum(len(s) for s in series["probes"].values())))
        out["probes"] = {"step": Column.wrap(_native(arrays["probes/step"], np.int64)),
                         "layers": {node: {stat: next(columns) for stat in stats}
                                    for node, stats in series["probes"].items()}}
    return out


def _native(values: np.ndarray, dtype: Any) -> np.ndarray:
    return values.astype(dtype, copy=False)
