"""The dashboard's data: growing numpy buffers fed by training events or by a saved history.

One `RunData` per run (one for ordinary training; one per compared run). Buffers double when
full, so appending is amortised O(1) and plotting hands `setData` a view of the filled part.
Nothing here draws; the plots read these buffers on their refresh timer.
"""
from __future__ import annotations

import math

import numpy as np

import engine
from engine import CompareEvent, EpochEvent, ProbeEvent, StageEpochEvent, StageEvent, StepEvent
from engine import BoundaryEvent, ConfusionEvent, FiltersEvent

SMOOTHING = 0.9           # the loss curve's smoothing weight until the person sets one
SMOOTH_BLOCK = 256        # values smoothed together by one matrix product
KINDS = ("steps", "epochs", "probes", "stages", "boundary", "confusion", "filters")


class Buffer:
    """x and y values appended in order; `data()` is a view of what was filled."""

    def __init__(self, capacity: int = 256):
        self.x = np.empty(capacity)
        self.y = np.empty(capacity)
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def extend(self, xs, ys) -> None:
        k = len(xs)
        if not k:
            return
        need = self.n + k
        if need > len(self.x):
            size = max(need, 2 * len(self.x))
            self.x = np.resize(self.x, size)
            self.y = np.resize(self.y, size)
        self.x[self.n:need] = xs
        self.y[self.n:need] = [np.nan if v is None else v for v in ys]
        self.n = need

    def append(self, x, y) -> None:
        self.extend([x], [y])

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[:self.n], self.y[:self.n]

    def last(self):
        return (self.x[self.n - 1], self.y[self.n - 1]) if self.n else None


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
    lags = np.arange(SMOOTH_BLOCK)
    lag = lags[:, None] - lags[None, :]
    lower = np.where(lag >= 0, w ** np.maximum(lag, 0), 0.0)   # w^(i-j) for j <= i
    carry = w ** (lags + 1)
    means = np.empty(len(finite))
    for start in range(0, len(finite), SMOOTH_BLOCK):
        block = finite[start:start + SMOOTH_BLOCK]
        n = len(block)
        means[start:start + n] = carry[:n] * m + (1 - w) * (lower[:n, :n] @ block)
        m = means[start + n - 1]
    count = k + np.arange(1, len(finite) + 1)
    out[ok] = means / (1 - w ** count)
    return out, (float(m), int(count[-1]))


class RunData:
    """Every series of one run. `changes` counts updates per kind, so a view redraws only
    when the data it shows changed."""

    def __init__(self, name: str = "run", smoothing: float = SMOOTHING):
        self.name = name
        self.smoothing = smoothing                     # the smoothed loss's weight
        self.loss, self.smooth = Buffer(1024), Buffer(1024)
        self.epoch_loss, self.val_loss = Buffer(), Buffer()
        self.train_acc, self.val_acc = Buffer(), Buffer()
        self.probes: dict[tuple[str, str], Buffer] = {}
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
        losses = [np.nan if v is None else v for v in losses]
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
        self.smooth = Buffer(max(1024, len(steps)))
        self.smooth.extend(steps, smoothed)
        self.changes["steps"] += 1

    def add_epoch(self, record: dict, step: float) -> None:
        epoch = record["epoch"]
        self.epoch_loss.append(step, record.get("train_loss"))
        self.val_loss.append(step, record.get("val_loss"))
        self.train_acc.append(epoch, record.get("train_acc"))
        self.val_acc.append(epoch, record.get("val_acc"))
        self.changes["epochs"] += 1

    def add_probe(self, step: int, layers: dict) -> None:
        for node, stats in layers.items():
            if node not in self.layers:
                self.layers.append(node)
            for stat, value in stats.items():
                self.probes.setdefault((node, stat), Buffer(512)).append(step, value)
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
        return self.probes.get((node, stat))

    # ------------------------------------------------------------------ from a saved history
    @classmethod
    def from_history(cls, history: dict, name: str = "run",
                     smoothing: float = SMOOTHING) -> "RunData":
        data = cls(name, smoothing)
        steps = history.get("steps") or []
        if steps:
            data.add_steps([s["step"] for s in steps], [s["loss"] for s in steps])
        ends = {}
        for s in steps:
            ends[s.get("epoch")] = s["step"]
        for record in history.get("epochs") or []:
            data.add_epoch(record, ends.get(record["epoch"], data.step))
        probes = history.get("probes") or {}
        for node, table in (probes.get("layers") or {}).items():
            data.layers.append(node)
            for stat, values in table.items():
                buf = Buffer(max(16, len(values)))
                buf.extend(probes["step"], values)
                data.probes[(node, stat)] = buf
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
