"""The training history, as DESIGN.md "History" describes; JSON-ready through engine.jsonable.

{"epochs": [{epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds}],
 "steps": [{step, epoch, loss}],
 "probes": {"step": [...], "layers": {node_id: {stat: [values aligned with step]}}},
 "stages": [...], "runs": [{start_step, start_epoch, status, device, ...}],
 "status": "finished" | "stopped" | "failed", "message": "..."}
Epoch numbers are 1-based; steps count optimizer updates from 1 over the whole history, across
resumed runs. Timing fields (seconds) are the only values that differ between identical runs.

The long series are compact typed columns that read like the lists above: "steps" is a
`StepRows` (columns step, epoch: int64; loss: float32) that reads as a list of {step, epoch,
loss} rows, and each probe column (and probes["step"]) a `Column` (a growable numpy buffer)
that reads as a list of numbers; both take .append. Values are float32 in memory as in the file
(the device computes them in float32), so what is saved is what is loaded. A probe value that
is missing (a stat that appeared late, or left out of one probe) is NaN; a diverged loss is
NaN or infinite. `step_columns` and `probe_columns` give the series as numpy arrays without a
copy, for these columns and for plain lists alike (older code, hand-made histories).
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

TIMING_KEYS = ("seconds",)
STEP_DTYPES = {"step": np.dtype(np.int64), "epoch": np.dtype(np.int64),
               "loss": np.dtype(np.float32)}
PROBE_STEP_DTYPE, VALUE_DTYPE = np.dtype(np.int64), np.dtype(np.float32)
_CHUNK = 4096       # values converted to Python objects at a time when iterating


class Column(Sequence):
    """A growable sequence of numbers over a numpy buffer that doubles when full. Reads as a
    list: len, indexing (-1 too; a slice or a list of indices gives a list), iteration (Python
    numbers), .append / .extend; None becomes NaN. It equals any sequence whose values, as this
    column's type, are the same (NaN equal to NaN). `array` is the values without a copy."""
    __slots__ = ("_data", "_size")

    def __init__(self, dtype: Any = VALUE_DTYPE, values: Any = ()):
        self._data = _as_array(values, np.dtype(dtype), copy=True)
        self._size = len(self._data)

    @classmethod
    def wrap(cls, array: np.ndarray) -> Column:
        """A column over `array` itself (1-D; no copy until it grows)."""
        column = cls.__new__(cls)
        column._data, column._size = array, len(array)
        return column

    @classmethod
    def filled(cls, dtype: Any, n: int, value: Any) -> Column:
        return cls.wrap(np.full(n, value, dtype=dtype))

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def array(self) -> np.ndarray:
        """The values, a read-only view of the buffer (valid until the column grows)."""
        view = self._data[:self._size]
        view.flags.writeable = False
        return view

    def append(self, value: Any) -> None:
        n = self._size
        if n == len(self._data):
            self._grow(n + 1)
        self._data[n] = np.nan if value is None else value
        self._size = n + 1

    def extend(self, values: Any) -> None:
        values = _as_array(values, self.dtype)
        n, m = self._size, len(values)
        if not m:
            return
        if n + m > len(self._data):
            self._grow(n + m)
        self._data[n:n + m] = values
        self._size = n + m

    def _grow(self, need: int) -> None:
        data = np.empty(max(need, 2 * len(self._data), 16), dtype=self.dtype)
        data[:self._size] = self._data[:self._size]
        self._data = data

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index):
        values = self._data[:self._size]
        if isinstance(index, slice):
            return values[index].tolist()
        if isinstance(index, (int, np.integer)):
            return values[index].item()
        return values[np.asarray(index, dtype=np.intp)].tolist()

    def __iter__(self):
        data, n = self._data, self._size
        for start in range(0, n, _CHUNK):
            yield from data[start:min(n, start + _CHUNK)].tolist()

    def __eq__(self, other):
        if not isinstance(other, (Column, list, tuple, np.ndarray)):
            return NotImplemented
        try:
            theirs = _as_array(other, self.dtype)
        except (TypeError, ValueError, OverflowError):
            return False
        return theirs.shape == (self._size,) and bool(
            np.array_equal(self.array, theirs, equal_nan=self.dtype.kind == "f"))

    __hash__ = None     # type: ignore[assignment]  (mutable, like a list)

    def __array__(self, dtype=None, copy=None):
        values = self.array
        if dtype is not None and np.dtype(dtype) != values.dtype:
            return values.astype(dtype)
        return values.copy() if copy else values

    def tolist(self) -> list:
        return self._data[:self._size].tolist()

    def __deepcopy__(self, memo) -> Column:
        return Column.wrap(self._data[:self._size].copy())

    def __copy__(self) -> Column:
        return self.__deepcopy__({})

    def __reduce__(self):
        return Column.wrap, (self._data[:self._size].copy(),)

    def __repr__(self) -> str:
        head = self._data[:min(self._size, 8)].tolist()
        more = f", ... {self._size - 8:,} more" if self._size > 8 else ""
        return f"Column({self.dtype.name}, {str(head)[:-1]}{more}])"


class StepRows(Sequence):
    """The per-step series as three typed columns (step, epoch, loss) that read as a list of
    {"step", "epoch", "loss"} rows: len, indexing (-1 too; a slice or a list of indices gives a
    list of rows), iteration, .append(row) / .extend(rows), equality with a list of rows (a
    row without "epoch" reads as epoch 0, a loss of None as NaN). `columns` holds the three
    Columns."""
    __slots__ = ("columns",)

    def __init__(self, rows: Any = ()):
        self.columns = {name: Column(dtype) for name, dtype in STEP_DTYPES.items()}
        if len(rows):
            self.extend(rows)

    @classmethod
    def wrap(cls, step: np.ndarray, epoch: np.ndarray, loss: np.ndarray) -> StepRows:
        """Rows over these arrays themselves (equal lengths, the dtypes of STEP_DTYPES)."""
        rows = cls.__new__(cls)
        rows.columns = {"step": Column.wrap(step), "epoch": Column.wrap(epoch),
                        "loss": Column.wrap(loss)}
        return rows

    def append(self, row: dict) -> None:
        """Append one row (the loop does, every step: kept cheap, all or nothing)."""
        step, epoch, loss = self.columns.values()
        n = step._size
        for column in (step, epoch, loss):
            if n == len(column._data):
                column._grow(n + 1)
        step._data[n] = row["step"]         # a bad value raises before any size changes
        epoch._data[n] = row.get("epoch", 0)
        value = row.get("loss")
        loss._data[n] = np.nan if value is None else value
        step._size = epoch._size = loss._size = n + 1

    def extend(self, rows: Any) -> None:
        if isinstance(rows, StepRows):
            self.extend_columns(*(c.array for c in rows.columns.values()))
        else:
            self.extend_columns(*_row_arrays(rows).values())

    def extend_columns(self, steps: Any, epochs: Any, losses: Any) -> None:
        """Append rows given as three parallel sequences (checked before anything is added)."""
        arrays = [_as_array(v, dtype) for v, dtype in zip((steps, epochs, losses),
                                                          STEP_DTYPES.values())]
        if len({len(a) for a in arrays}) != 1:
            raise ValueError(f"steps, epochs and losses differ in length "
                             f"({', '.join(str(len(a)) for a in arrays)})")
        for column, values in zip(self.columns.values(), arrays):
            column.extend(values)

    def __len__(self) -> int:
        return len(self.columns["step"])

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            step, epoch, loss = (c[index] for c in self.columns.values())
            return {"step": step, "epoch": epoch, "loss": loss}
        arrays = [c.array[index] if isinstance(index, slice)
                  else c.array[np.asarray(index, dtype=np.intp)] for c in self.columns.values()]
        return _rows(*arrays)

    def __iter__(self):
        arrays = [c.array for c in self.columns.values()]
        for start in range(0, len(self), _CHUNK):
            yield from _rows(*(a[start:start + _CHUNK] for a in arrays))

    def __eq__(self, other):
        if isinstance(other, StepRows):
            return all(self.columns[k] == other.columns[k] for k in STEP_DTYPES)
        if not isinstance(other, (list, tuple)):
            return NotImplemented
        try:
            theirs = _row_arrays(other)
        except (TypeError, ValueError, KeyError, OverflowError, AttributeError):
            return False
        return all(self.columns[k] == theirs[k] for k in STEP_DTYPES)

    __hash__ = None     # type: ignore[assignment]

    def tolist(self) -> list[dict]:
        return _rows(*(c.array for c in self.columns.values()))

    def __deepcopy__(self, memo) -> StepRows:
        return StepRows.wrap(*(c.array.copy() for c in self.columns.values()))

    def __copy__(self) -> StepRows:
        return self.__deepcopy__({})

    def __reduce__(self):
        return StepRows.wrap, tuple(c.array.copy() for c in self.columns.values())

    def __repr__(self) -> str:
        more = f", ... {len(self) - 3:,} more" if len(self) > 3 else ""
        return f"StepRows({str(self[:3])[:-1]}{more}])"


def _as_array(values: Any, dtype: np.dtype, copy: bool = False) -> np.ndarray:
    """`values` as a 1-D array of `dtype` (None -> NaN for floats); a copy when asked."""
    if isinstance(values, Column):
        values = values.array
    array = np.array(values, dtype=dtype) if copy else np.asarray(values, dtype=dtype)
    if array.ndim != 1:
        raise ValueError(f"expected a sequence of numbers, got {array.ndim} dimensions")
    return array


def _rows(step: np.ndarray, epoch: np.ndarray, loss: np.ndarray) -> list[dict]:
    return [{"step": s, "epoch": e, "loss": v}
            for s, e, v in zip(step.tolist(), epoch.tolist(), loss.tolist())]


def _row_arrays(rows: Any) -> dict[str, np.ndarray]:
    """Plain {step, epoch, loss} rows as arrays of STEP_DTYPES (no epoch: 0; loss None: NaN)."""
    return {"step": np.array([r["step"] for r in rows], dtype=STEP_DTYPES["step"]),
            "epoch": np.array([r.get("epoch", 0) for r in rows], dtype=STEP_DTYPES["epoch"]),
            "loss": np.array([r.get("loss") for r in rows], dtype=STEP_DTYPES["loss"])}


# ----------------------------------------------------------------------------- the history

def new_history() -> dict:
    return {"epochs": [], "steps": StepRows(),
            "probes": {"step": Column(PROBE_STEP_DTYPE), "layers": {}}, "stages": [],
            "runs": [], "status": "new", "message": ""}


def continue_history(previous: dict | None) -> dict:
    """A copy of `previous` with every key present and compact series (so a resumed run
    appends to it)."""
    history = new_history()
    for key, value in (previous or {}).items():
        if key == "steps":
            history["steps"].extend(value or [])
        elif key == "probes":
            history["probes"] = compact_probes(value)
        else:
            history[key] = copy.deepcopy(value)
    return history


def compact_probes(probes: dict | None) -> dict:
    """A copy of a history's probes as Columns (from Columns or plain lists)."""
    probes = probes or {}
    return {"step": Column(PROBE_STEP_DTYPE, probes.get("step") or ()),
            "layers": {node: {stat: Column(VALUE_DTYPE, values) for stat, values in
                              table.items()} for node, table in
                       (probes.get("layers") or {}).items()}}


def step_columns(history: dict | None) -> dict[str, np.ndarray]:
    """{"step", "epoch", "loss"}: the history's per-step series as arrays (int64, int64,
    float32), without a copy for compact histories; from plain rows too (no epoch: 0)."""
    steps = (history or {}).get("steps")
    if isinstance(steps, StepRows):
        return {name: column.array for name, column in steps.columns.items()}
    return _row_arrays(steps or [])


def probe_columns(history: dict | None) -> tuple[np.ndarray, dict[str, dict[str, np.ndarray]]]:
    """(probe steps, {node: {stat: values}}): the history's probe series as arrays (int64
    steps, float32 values; missing values NaN), without a copy for compact histories."""
    probes = (history or {}).get("probes") or {}
    steps = _column_array(probes.get("step") or (), PROBE_STEP_DTYPE)
    return steps, {node: {stat: _column_array(values, VALUE_DTYPE)
                          for stat, values in table.items()}
                   for node, table in (probes.get("layers") or {}).items()}


def _column_array(values: Any, dtype: np.dtype) -> np.ndarray:
    if isinstance(values, Column):
        return values.array
    return _as_array(values, dtype)


def append_steps(history: dict, steps: Any, epochs: Any, losses: Any) -> None:
    """Append many steps at once, given as three parallel sequences (or arrays)."""
    rows = history["steps"]
    if isinstance(rows, StepRows):
        rows.extend_columns(steps, epochs, losses)
    else:       # plain rows (a hand-made history)
        rows.extend(_rows(*(_as_array(v, dtype) for v, dtype in
                            zip((steps, epochs, losses), STEP_DTYPES.values()))))
def add_probe(history: dict, step: int, layers: dict[str, dict[str, float]]) -> None:
    """Append one probe snapshot; every stat column stays aligned with probes['step'] (a stat
    that appears late is padded with NaN for the earlier steps: with None in plain lists)."""
    probes = history["probes"]
    n = len(probes["step"])
    probes["step"].append(step)
    added = 0
    tables = probes["layers"]
    for node, stats in layers.items():
        table = tables.get(node)
        if table is None:
            table = tables[node] = {}
        for stat, value in stats.items():
            column = table.get(stat)
            if column is None:
                column = table[stat] = _padding(probes["step"], n)
            column.append(value)
        added += len(stats)
    if added == sum(len(t) for t in tables.values()):
        return                          # the usual case: every known stat was given
    for table in tables.values():
        for values in table.values():
            if len(values) == n:
                values.append(None)


def _padding(steps: Any, n: int):
    """A new stat column of `n` missing values, of the kind of the probe step column."""
    return Column.filled(VALUE_DTYPE, n, np.nan) if isinstance(steps, Column) else [None] * n


class ProbeLog:
    """Appends probe snapshots given as parallel ((node, stat), ...) keys and values. The
    history's columns for a keys tuple are looked up once; while every probe brings the very
    same tuple (engine.run.probes hands out one per layout, the usual case) they are views of
    one (probes x stats) block, so a probe is written as one row by one numpy assignment —
    probing every step, this runs every step. Anything else goes through `add_probe` with
    `nest(keys, values)` -> {node: {stat: value}}."""

    def __init__(self, history: dict, nest):
        self.history, self.nest = history, nest
        self._keys: tuple | None = None
        self._columns: list = []
        self._block: np.ndarray | None = None
        self._length = -1

    def add(self, step: int, keys: tuple, values: list) -> None:
        probes = self.history["probes"]
        n = self._length
        if keys is self._keys and len(probes["step"]) == n:
            if n == len(self._block):
                self._rows(2 * n)
            self._block[n] = values
            for column in self._columns:
                column._size = n + 1
            probes["step"].append(step)
            self._length = n + 1
            return
        if not len(probes["step"]) and not probes["layers"] and len(set(keys)) == len(keys):
            self._start(step, keys, values)
            return
        add_probe(self.history, step, self.nest(keys, values))
        tables = probes["layers"]
        known = sum(len(t) for t in tables.values())
        self._columns = [tables[node][stat] for node, stat in keys]
        self._length = len(probes["step"])
        shared = known == len(set(keys)) == len(keys) and \
            all(isinstance(c, Column) and c.dtype == VALUE_DTYPE for c in self._columns)
        self._keys = keys if shared else None
        if shared:
            self._rows(max(2 * self._length, 64))

    def add_rows(self, steps: list[int], keys: tuple, values: np.ndarray) -> None:
        """Append probes given as their steps and a (probes x keys) matrix of values: one
        block assignment while the keys are the columns' own (see `add`)."""
        probes = self.history["probes"]
        n, k = self._length, len(steps)
        if keys is not self._keys or len(probes["step"]) != n:
            self.add(steps[0], keys, values[0].tolist())
            steps, values = steps[1:], values[1:]
            if keys is not self._keys:              # not one block: one probe at a time
                for step, row in zip(steps, values.tolist()):
                    self.add(step, keys, row)
                return
            n, k = self._length, len(steps)
        if n + k > len(self._block):
            self._rows(max(2 * n, n + k))
        self._block[n:n + k] = values
        for column in self._columns:
            column._size = n + k
        probes["step"].extend(steps)
        self._length = n + k

    def _start(self, step: int, keys: tuple, values: list) -> None:
        """The first probe of an empty history: its columns made straight in a block (in the
        network's order, as add_probe would make them)."""
        block = np.empty((64, len(keys)), dtype=VALUE_DTYPE)
        block[0] = values
        where = {key: j for j, key in enumerate(keys)}
        tables = self.history["probes"]["layers"]
        for node, stats in self.nest(keys, values).items():
            table = tables[node] = {}
            for stat in stats:
                column = table[stat] = Column.wrap(block[:, where[node, stat]])
                column._size = 1
        self.history["probes"]["step"].append(step)
        self._keys, self._block, self._length = keys, block, 1
        self._columns = [tables[node][stat] for node, stat in keys]

    def _rows(self, capacity: int) -> None:
        """Put the columns' values in a new block of `capacity` rows; the columns view it."""
        n = self._length
        block = np.empty((capacity, len(self._columns)), dtype=VALUE_DTYPE)
        for j, column in enumerate(self._columns):
            block[:n, j] = column._data[:n]
            column._data = block[:, j]
        self._block = block


def last_step(history: dict) -> int:
    steps = history.get("steps") or []
    return int(steps[-1]["step"]) if steps else 0


def finished_epochs(history: dict) -> int:
    return len(history.get("epochs") or [])


def epochs_left(history: dict) -> int:
    """The epochs the history's last run still had to train: its target (start epoch +
    epochs asked for) less the epochs done; 0 without a run, or when it reached its target.
    An epoch interrupted part way is not done: a continuation trains it again."""
    runs = history.get("runs") or []
    if not runs:
        return 0
    last = runs[-1]
    target = int(last.get("start_epoch", 0)) + int(last.get("epochs", 0))
    return max(0, target - finished_epochs(history))


def network_edits(history: dict | None) -> list[int]:
    """The steps after which training went on with an edited network: where a run's record
    names another network (its "network" signature, engine.network_signature) than the run
    before it. Histories written before runs recorded their network give none."""
    steps, previous = [], None
    for record in (history or {}).get("runs") or []:
        network = record.get("network") if isinstance(record, dict) else None
        if network and previous and network != previous:
            steps.append(int(record.get("start_step", 0)))
        previous = network or previous
    return steps


def without_timing(history: dict) -> dict:
    """The history with timing fields removed (to compare two runs)."""
    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in TIMING_KEYS}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj
    return strip(history)
