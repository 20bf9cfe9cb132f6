"""The dashboard's data: growing numpy buffers fed by training events or by a saved history,
and the reduction of a long series to what a plot's pixels can show (`envelope`).

One `RunData` per run (one for ordinary training; one per compared run). Buffers double when
full, so appending is amortised O(1) and plotting hands `setData` a view of the filled part.
A saved history's series are read as columns (`engine.step_columns`, `engine.probe_columns`):
no loop over its rows, and the buffers hold its arrays themselves until they grow.
Nothing here draws; the plots read these buffers on their refresh timer.
"""
from __future__ import annotations

import csv
import functools
import io
import math

import numpy as np

import engine
from engine import CompareEvent, EpochEvent, ProbeEvent, StageEpochEvent, StageEvent, StepEvent
from engine import BoundaryEvent, ConfusionEvent, FiltersEvent

SMOOTHING = 0.9           # the loss curve's smoothing weight until the person sets one
SMOOTH_BLOCK = 256        # values smoothed together by one matrix product
KINDS = ("steps", "epochs", "probes", "stages", "boundary", "confusion", "filters")
VALUES = np.float32       # losses and probe statistics, as the engine computes and keeps them
CSV_ROWS = 8192           # lines of a CSV export formatted at a time


class Buffer:
    """x and y values appended in order; `data()` is a view of what was filled. A buffer made
    by `of` holds the arrays it is given (a loaded history's columns, which may be read-only)
    until it grows: growing copies into new arrays of the same types, so they are never
    written to."""

    def __init__(self, capacity: int = 256, dtype=np.float64):
        self.x = np.empty(capacity)
        self.y = np.empty(capacity, dtype=dtype)
        self.n = 0

    @classmethod
    def of(cls, x, y) -> "Buffer":
        """A full buffer over these arrays (no copy; the shorter length if they differ)."""
        buf = cls.__new__(cls)
        buf.n = n = min(len(x), len(y))
        buf.x, buf.y = np.asarray(x)[:n], np.asarray(y)[:n]     # full: growing copies them
        return buf

    def __len__(self) -> int:
        return self.n

    def extend(self, xs, ys) -> None:
        k = len(xs)
        if not k:
            return
        need = self.n + k
        if need > len(self.x):
            size = max(need, 2 * len(self.x), 16)
            self.x, self.y = _grown(self.x, self.n, size), _grown(self.y, self.n, size)
        self.x[self.n:need] = xs
        self.y[self.n:need] = np.asarray(ys, dtype=float)      # None -> NaN
        self.n = need

    def append(self, x, y) -> None:
        self.extend([x], [y])

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[:self.n], self.y[:self.n]

    def last(self):
        return (self.x[self.n - 1], self.y[self.n - 1]) if self.n else None


class Table:
    """Series appended together that share their x (a run's probe statistics, at its probe
    steps), each NaN where an append did not give it, as in the engine's history: one x to
    store and to copy when they grow. Iterating gives the series' keys; `series(key)` is a
    Buffer over one from its first value on (a layer added to the network later starts
    there), over the table's arrays until that Buffer grows."""

    def __init__(self):
        self.x = np.empty(0)
        self.columns: dict[tuple, np.ndarray] = {}
        self.n = 0
        self._first: dict[tuple, int] = {}      # each series' first value, once it has one

    @classmethod
    def of(cls, x, columns: dict) -> "Table":
        """A full table over these arrays (no copy; the shortest length if they differ)."""
        table = cls()
        table.n = n = min([len(x)] + [len(v) for v in columns.values()])
        table.x = np.asarray(x)[:n]                              # full: growing copies them
        table.columns = {k: np.asarray(v)[:n] for k, v in columns.items()}
        return table

    def __iter__(self):
        return iter(self.columns)

    def __len__(self) -> int:
        return self.n

    def add(self, x, values: dict) -> None:
        n = self.n
        if n == len(self.x):
            size = max(16, 2 * n)
            self.x = _grown(self.x, n, size)
            self.columns = {k: _grown(v, n, size) for k, v in self.columns.items()}
        self.x[n] = x
        for key in self.columns.keys() - values.keys():
            self.columns[key][n] = np.nan
        for key, value in values.items():
            if key not in self.columns:
                self.columns[key] = np.full(len(self.x), np.nan, dtype=VALUES)
            self.columns[key][n] = np.nan if value is None else value
        self.n = n + 1

    def series(self, key) -> Buffer | None:
        column = self.columns.get(key)
        if column is None:
            return None
        start = self._first.get(key)
        if start is None:
            given = ~np.isnan(column[:self.n])
            start = int(given.argmax()) if given.any() else self.n
            if start < self.n:
                self._first[key] = start
        return Buffer.of(self.x[start:self.n], column[start:self.n])


def _grown(values: np.ndarray, n: int, size: int) -> np.ndarray:
    """A new array of `size` (values' type) starting with the first n values."""
    out = np.empty(size, dtype=values.dtype)
    out[:n] = values[:n]
    return out


def envelope(x: np.ndarray, y: np.ndarray, columns: int, log_x: bool = False):
    """What to draw of a series (x increasing) over `columns` pixel columns spanning x[0] to
    x[-1]: each column's points become two at the x of its first point, their lowest and
    highest finite y (NaN, a gap, when it has none), and the last point is kept as it is (the
    newest value of a live curve). Every spike is drawn, however long the series, where taking
    every k-th point would miss it. On a log x axis the columns are equal in log x. A series
    of at most two points a column comes back as it is."""
    n = len(x)
    if columns < 1 or n <= 2 * columns:
        return x, y
    lo, hi = float(x[0]), float(x[-1])
    edges = (np.logspace(math.log10(lo), math.log10(hi), columns + 1) if log_x and lo > 0
             else np.linspace(lo, hi, columns + 1))[:-1]
    if x.dtype.kind in "iu":              # searched as x's type: no converted copy of x
        edges = np.ceil(edges)
    starts = np.searchsorted(x, edges.astype(x.dtype))
    starts = starts[np.r_[True, starts[1:] != starts[:-1]]]     # columns without points
    xs, ys = np.empty(2 * len(starts) + 1, dtype=x.dtype), np.empty(2 * len(starts) + 1)
    xs[0:-1:2] = xs[1:-1:2] = x[starts]
    ys[0:-1:2], ys[1:-1:2] = np.fmin.reduceat(y, starts), np.fmax.reduceat(y, starts)
    xs[-1], ys[-1] = x[-1], y[-1]
    return xs, ys


def csv_line(fields: list[str]) -> str:
    """One CSV line (quoted as the csv module quotes, ended by CR LF)."""
    out = io.StringIO()
    csv.writer(out).writerow(fields)
    return out.getvalue()


def csv_series(name: str, x: np.ndarray, y: np.ndarray):
    """The CSV lines `name,x,y` of a series, CSV_ROWS lines a piece: x and y to 10 significant
    digits (a float32 y in its shortest exact form), y empty where it is not finite. A piece is
    one string format, not a loop over its rows."""
    single, rows = y.dtype == np.float32, CSV_ROWS
    line = csv_line([name])[:-2].replace("%", "%%") + ",%.10g," + \
        ("%s" if single else "%.10g") + "\r\n"
    for start in range(0, min(len(x), len(y)), rows):
        xs, ys = x[start:start + rows], y[start:start + rows]
        values = [None] * (2 * len(xs))
        values[0::2] = xs.tolist()
        values[1::2] = (ys.astype(str) if single else ys).tolist()
        text = (line * len(xs)) % tuple(values)
        if not np.isfinite(ys).all():
            for word in ("nan", "inf", "-inf"):
                text = text.replace(f",{word}\r\n", ",\r\n")
        yield text


def smooth(values, weight: float, state: tuple[float, int] = (0.0, 0)):
    """TensorBoard's debiased exponential smoothing of `values`, continuing from `state`.

    With weight w (0 <= w < 1) and v_k the k-th finite value (k = 1, 2, ...):

        m_k = w * m_(k-1) + (1 - w) * v_k,    m_0 = 0
        s_k = m_k / (1 - w**k)

    s_k is the average of v_1..v_k with weights w**(k - i) that sum to one: the first point is
    v_1 itself (not dragged towards 0 or stuck at v_1), and a step change in the values is
    half-way through after ln(0.5) / ln(w) steps (7 steps at w = 0.9, 69 at 0.99). w = 0 is
    the values themselves. A value that is not finite is left out: its point is NaN (a gap)
    and the next one goes on from the last finite value.

    Returns (smoothed values, state after them), so that a run's curve grows in batches.
    Computed SMOOTH_BLOCK values at a time as a lower-triangular matrix product, so that
    smoothing a whole run again (the weight changed) takes milliseconds."""
    v = np.asarray(values, dtype=float)
    out = np.full(len(v), np.nan)
    ok = np.isfinite(v)
    finite = v[ok]
    m, k = state
    if not len(finite):
        return out, (m, k)
    w = float(weight)
    lower, carry = _smoothing_matrix(w)
    means = np.empty(len(finite))
    for start in range(0, len(finite), SMOOTH_BLOCK):
        block = finite[start:start + SMOOTH_BLOCK]
        n = len(block)
        means[start:start + n] = carry[:n] * m + (1 - w) * (lower[:n, :n] @ block)
        m = means[start + n - 1]
    count = k + np.arange(1, len(finite) + 1)
    power = count * math.log(w) if w > 0 else np.full(len(count), -np.inf)   # ln w**count
    out[ok] = means / -np.expm1(power)                  # 1 - w**count; exp is 10x a power
    return out, (float(m), int(count[-1]))


@functools.lru_cache(maxsize=4)
def _smoothing_matrix(w: float) -> tuple[np.ndarray, np.ndarray]:
    """w^(i-j) for j <= i (else 0) over a block, and w^(i+1): made once per weight, not for
    each batch of steps (a power is costly: 65,536 of them took about a millisecond)."""
    lags = np.arange(SMOOTH_BLOCK)
    lag = lags[:, None] - lags[None, :]
    return np.where(lag >= 0, w ** np.maximum(lag, 0), 0.0), w ** (lags + 1)


class RunData:
    """Every series of one run. `changes` counts updates per kind, so a view redraws only
    when the data it shows changed."""

    def __init__(self, name: str = "run", smoothing: float = SMOOTHING):
        self.name = name
        self.smoothing = smoothing                     # the smoothed loss's weight
        self.loss, self.smooth = Buffer(1024, VALUES), Buffer(1024)
        self.epoch_loss, self.val_loss = Buffer(), Buffer()
        self.train_acc, self.val_acc = Buffer(), Buffer()
        self.probes = Table()                          # (node, stat) -> values at probe steps
        self.stages: dict[int, Buffer] = {}            # pre-training stage -> (step, loss)
        self.stage_epochs: dict[int, Buffer] = {}      # stage -> (step, val loss per epoch)
        self.stage_names: dict[int, str] = {}
        self.layers: list[str] = []                    # probed nodes, in the order first seen
        self.step = 0
        self.pre_step = 0
        self.stage = 0
        self._ema = (0.0, 0)                           # smooth()'s state after the last step
        self.boundary = self.confusion = self.filters = None
        self.latest: dict[str, dict[str, float]] = {}   # last probe snapshot
        self.changes = dict.fromkeys(KINDS, 0)          # what changed, counted per kind

    # ------------------------------------------------------------------ feeding
    def add_steps(self, steps: list, losses: list) -> None:
        losses = np.asarray(losses, dtype=float).astype(self.loss.y.dtype)   # None -> NaN
        smoothed, self._ema = smooth(losses, self.smoothing, self._ema)
        self.loss.extend(steps, losses)
        self.smooth.extend(steps, smoothed)
        self.step = int(steps[-1]) if len(steps) else self.step
        self.changes["steps"] += 1

    def set_smoothing(self, weight: float) -> None:
        """Smooth the whole loss curve again with `weight`."""
        if weight == self.smoothing:
            return
        self.smoothing = weight
        steps, losses = self.loss.data()
        smoothed, self._ema = smooth(losses, weight)
        self.smooth = Buffer.of(steps, smoothed)
        self.changes["steps"] += 1

    def add_epoch(self, record: dict, step: float) -> None:
        epoch = record["epoch"]
        self.epoch_loss.append(step, record.get("train_loss"))
        self.val_loss.append(step, record.get("val_loss"))
        self.train_acc.append(epoch, record.get("train_acc"))
        self.val_acc.append(epoch, record.get("val_acc"))
        self.changes["epochs"] += 1

    def add_probe(self, step: int, layers: dict) -> None:
        values = {}
        for node, stats in layers.items():
            if node not in self.layers:
                self.layers.append(node)
            for stat, value in stats.items():
                values[(node, stat)] = value
        self.probes.add(step, values)
        self.latest = layers
        self.changes["probes"] += 1

    def add_stage_step(self, stage: int, loss: float) -> None:
        """A step of pre-training stage `stage`; the stages' steps are counted one after the
        other, so their curves follow each other on one axis."""
        self.pre_step += 1
        self.stage = stage
        if math.isfinite(loss):
            self.stages.setdefault(stage, Buffer()).append(self.pre_step, loss)
            self.changes["stages"] += 1

    def series(self, node: str, stat: str) -> Buffer | None:
        return self.probes.series((node, stat))

    # ------------------------------------------------------------------ from a saved history
    @classmethod
    def from_history(cls, history: dict, name: str = "run",
                     smoothing: float = SMOOTHING) -> "RunData":
        """The run a saved history holds, read as columns (no loop over its steps)."""
        data = cls(name, smoothing)
        columns = engine.step_columns(history)
        steps, epochs, losses = columns["step"], columns["epoch"], columns["loss"]
        if len(steps):
            data.loss = Buffer.of(steps, losses)
            smoothed, data._ema = smooth(losses, smoothing)
            data.smooth = Buffer.of(steps, smoothed)
            data.step = int(steps[-1])
        last = np.flatnonzero(np.r_[epochs[1:] != epochs[:-1], True]) if len(steps) else []
        ends = dict(zip(epochs[last].tolist(), steps[last].tolist()))   # epoch -> its last step
        for record in history.get("epochs") or []:
            data.add_epoch(record, ends.get(record["epoch"], data.step))
        probe_steps, layers = engine.probe_columns(history)
        data.layers = list(layers)
        data.probes = Table.of(probe_steps, {(node, stat): values for node, table in
                                             layers.items() for stat, values in table.items()})
        data._stages_from(history.get("stages") or [])
        data.latest = engine.diagnostics.latest_stats(history)
        for kind in KINDS:
            data.changes[kind] = 1
        return data

    def _stages_from(self, stages: list) -> None:
        for record in stages:
            index = record.get("stage", len(self.stage_names) + 1)
            self.stage_names[index] = record.get("layer", f"stage {index}")
            losses = record.get("val_loss") or record.get("loss") or []
            buf = self.stage_epochs.setdefault(index, Buffer())
            buf.extend(list(range(1, len(losses) + 1)), losses)


VIEWS = {BoundaryEvent: "boundary", ConfusionEvent: "confusion", FiltersEvent: "filters"}


class Store:
    """The runs shown by the dashboard; events go to the current one."""

    def __init__(self):
        self.smoothing = SMOOTHING
        self.runs: dict[str, RunData] = {"run": RunData()}
        self.current = "run"
        self.version = 0
        self.reset_count = 0

    @property
    def run(self) -> RunData:
        return self.runs[self.current]

    def reset(self, history: dict | None = None) -> None:
        self.runs = {"run": RunData.from_history(history, smoothing=self.smoothing) if history
                     else RunData(smoothing=self.smoothing)}
        self.current = "run"
        self.version += 1
        self.reset_count += 1

    def begin_run(self, name: str) -> None:
        if name not in self.runs:
            self.runs[name] = RunData(name, self.smoothing)
        self.current = name
        self.version += 1

    def set_smoothing(self, weight: float) -> None:
        """The loss curves' smoothing weight (see `smooth`), for every run, the past included."""
        self.smoothing = weight
        for run in self.runs.values():
            run.set_smoothing(weight)

    def add(self, events: list) -> None:
        """Feed a batch of events (in order) to the current run."""
        steps, losses = [], []
        run = self.run
        for ev in events:
            if isinstance(ev, StepEvent) and not ev.stage:
                steps.append(ev.step)
                losses.append(ev.loss)
                continue
            if steps:
                run.add_steps(steps, losses)
                steps, losses = [], []
            self._one(ev)
            run = self.run
        if steps:
            run.add_steps(steps, losses)
        self.version += 1

    def signature(self, kinds: tuple[str, ...]) -> tuple:
        """Changes when any run's data of these kinds changes (or the runs themselves)."""
        return (self.reset_count,) + tuple((name, *(r.changes[k] for k in kinds))
                                           for name, r in self.runs.items())

    def _one(self, ev) -> None:
        run = self.run
        if isinstance(ev, StepEvent):
            run.add_stage_step(ev.stage, ev.loss)
        elif isinstance(ev, ProbeEvent):
            if not ev.stage:               # a pre-training stage's probes stay in its record
                run.add_probe(ev.step, ev.layers)
        elif isinstance(ev, EpochEvent):
            run.add_epoch(ev.record, run.step)
        elif isinstance(ev, StageEpochEvent):
            buf = run.stage_epochs.setdefault(ev.stage, Buffer())
            buf.append(ev.epoch, ev.val_loss if ev.val_loss is not None else ev.loss)
            run.changes["stages"] += 1
        elif isinstance(ev, StageEvent):
            run.stage = ev.stage
            run.stage_names[ev.stage] = ev.record.get("layer", ev.name)
        elif isinstance(ev, CompareEvent):
            self.begin_run(ev.name)
        elif isinstance(ev, (BoundaryEvent, ConfusionEvent, FiltersEvent)):
            kind = VIEWS[type(ev)]
            setattr(run, kind, ev)
            run.changes[kind] += 1
