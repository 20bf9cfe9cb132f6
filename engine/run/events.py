"""What a training run reports, and how it is steered from another thread.

Event objects are small frozen records, safe to hand to another thread. `Callback` has one
empty hook per moment of the loop (Lightning style); `on_event` also receives every event object,
so `EventQueue` (a callback that puts them on a thread-safe queue) is all a GUI needs: the worker
thread runs `engine.train`, the GUI thread drains the queue on a timer. `Control` pauses, resumes
and stops a run; the loop checks it between batches.
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from engine.errors import TrainingError


# ----------------------------------------------------------------------------- events

@dataclass(frozen=True)
class StepEvent:
    """One optimizer step: its 1-based number over the whole history (over the stage, for a
    pre-training stage), the batch's loss. `stage` is 0 in training, k in pre-training stage k."""
    step: int
    epoch: int
    batch: int
    batches: int
    loss: float
    lr: float
    samples: int
    stage: int = 0


@dataclass(frozen=True)
class ProbeEvent:
    """Per-layer statistics at `step`: {node_id: {stat: value}} (see engine.run.probes);
    `stage` as in StepEvent (a pre-training stage's probes are stored in its stage record)."""
    step: int
    layers: dict[str, dict[str, float]]
    stage: int = 0


@dataclass(frozen=True)
class EpochEvent:
    """The epoch's record, as appended to history['epochs']."""
    epoch: int
    record: dict


@dataclass(frozen=True)
class StageEvent:
    """A stage of greedy layer-wise pre-training begins: its number (1-based), a title, and its
    record in history["stages"] (node, nodes, layer, mode, loss_name, settings, ...). The Lab
    also announces each part of an experiment with one (record empty)."""
    stage: int
    name: str
    record: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StageEpochEvent:
    """A pre-training stage finished an epoch: its mean training loss and validation loss."""
    stage: int
    epoch: int
    loss: float
    val_loss: float | None


@dataclass(frozen=True)
class PhaseEvent:
    """A part of a run begins: "pretrain" (greedy layer-wise pre-training) or "train"."""
    phase: str
    title: str


@dataclass(frozen=True)
class CompareEvent:
    """One run of a comparison begins: `index` of `of`, `name` ("random" or a pre-training
    mode), and a title."""
    index: int
    of: int
    name: str
    title: str


@dataclass(frozen=True)
class FinishedEvent:
    """The run ended normally ("finished") or on request ("stopped")."""
    status: str
    steps: int
    epochs: int
    seconds: float


@dataclass(frozen=True)
class FailedEvent:
    """The run could not go on; `message` says why and what to try. The run keeps its history."""
    message: str
    step: int
    error: Any = None


# ----------------------------------------------------------------------------- callbacks

class Callback:
    """Hooks called by the training loop, in the training thread. All do nothing by default.

    `run` is the Run being trained (run.model, run.history, run.config). `on_train_end` is
    called however the run ends (finished, stopped, failed), after the finished/failed hook.
    `on_epoch_start`, `on_batch_start` and `on_after_backward` are called in training (and
    fine-tuning) epochs only; pre-training stages report through events (StageEvent,
    StepEvent with `stage` > 0, StageEpochEvent).
    """

    def on_train_start(self, run) -> None: ...
    def on_epoch_start(self, run, epoch: int) -> None: ...
    def on_batch_start(self, run, step: int) -> None: ...
    def on_after_backward(self, run, step: int) -> None: ...
    def on_step(self, run, event: StepEvent) -> None: ...
    def on_probe(self, run, event: ProbeEvent) -> None: ...
    def on_epoch_end(self, run, event: EpochEvent) -> None: ...
    def on_stage(self, run, event: StageEvent) -> None: ...
    def on_stage_epoch_end(self, run, event: StageEpochEvent) -> None: ...
    def on_phase(self, run, event: PhaseEvent) -> None: ...
    def on_compare(self, run, event: CompareEvent) -> None: ...
    def on_finished(self, run, event: FinishedEvent) -> None: ...
    def on_failed(self, run, event: FailedEvent) -> None: ...
    def on_train_end(self, run) -> None: ...
    def on_event(self, run, event) -> None: ...


class FunctionCallback(Callback):
    """Wraps a plain function f(event), called with every event object."""

    def __init__(self, function):
        self.function = function

    def on_event(self, run, event) -> None:
        self.function(event)


class EventQueue(Callback):
    """Puts every event object on `self.queue` (thread-safe) for another thread to drain.

    `drain(limit)` takes what is waiting without blocking. Step events can be thinned with
    `step_every` (a GUI plotting at 20 Hz needs no more); the others always go through.
    """

    def __init__(self, step_every: int = 1, maxsize: int = 0):
        self.queue: queue.Queue = queue.Queue(maxsize)
        self.step_every = max(1, int(step_every))

    def on_event(self, run, event) -> None:
        if isinstance(event, StepEvent) and event.step % self.step_every:
            return
        self.queue.put(event)

    def drain(self, limit: int | None = None) -> list:
        out = []
        while limit is None or len(out) < limit:
            try:
                out.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return out


_HOOKS = {StepEvent: "on_step", ProbeEvent: "on_probe", EpochEvent: "on_epoch_end",
          StageEvent: "on_stage", StageEpochEvent: "on_stage_epoch_end", PhaseEvent: "on_phase",
          CompareEvent: "on_compare", FinishedEvent: "on_finished", FailedEvent: "on_failed"}


class Dispatcher:
    """Calls one hook on every callback; `emit` also sends the event to `on_event`.

    Only callbacks that implement a hook (that override Callback's empty default, in their
    class or on the instance) are called for it, so a hook nobody implements costs the loop
    nothing, and `wants(event_type)` tells the loop whether an event needs building at all.
    Add callbacks with `add`, which keeps that index up to date."""

    def __init__(self, callbacks, run):
        self.callbacks: list[Callback] = [_as_callback(c) for c in callbacks]
        self.run = run
        self._calls: dict[str, list] = {}
        self._emits: dict[type, list] = {}
        self._index()

    def add(self, callback, first: bool = False) -> None:
        """Add a Callback (or a plain function f(event)), last or `first`."""
        self.callbacks.insert(0 if first else len(self.callbacks), _as_callback(callback))
        self._index()

    def _index(self) -> None:
        self._calls.clear()
        self._emits = {kind: [m for c in self.callbacks
                              for m in (_implemented(c, hook), _implemented(c, "on_event")) if m]
                       for kind, hook in _HOOKS.items()}

    def call(self, hook: str, *args) -> None:
        methods = self._calls.get(hook)
        if methods is None:
            methods = self._calls[hook] = [
                m for m in (_implemented(c, hook) for c in self.callbacks) if m]
        for method in methods:
            method(self.run, *args)

    def wants(self, kind: type) -> bool:
        """Whether any callback receives events of this type."""
        return bool(self._emits[kind])

    def emit(self, event) -> None:
        for method in self._emits[type(event)]:
            method(self.run, event)


def _as_callback(callback) -> Callback:
    return callback if isinstance(callback, Callback) else FunctionCallback(callback)


def _implemented(callback: Callback, hook: str):
    """The callback's bound `hook`, or None when it is Callback's empty default."""
    if hook in getattr(callback, "__dict__", {}) or \
            getattr(type(callback), hook) is not getattr(Callback, hook):
        return getattr(callback, hook)
    return None


# ----------------------------------------------------------------------------- control

class Control:
    """Pause, resume and stop a run from any thread. The loop calls `wait()` between batches:
    it blocks while paused and returns True once a stop was asked for."""

    def __init__(self):
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set() and not self._stop.is_set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait(self) -> bool:
        if not self._running.is_set():
            self._running.wait()
        return self._stop.is_set()


def callback_list(callbacks) -> list:
    """The callbacks as a list, each an engine.Callback or a function of an event
    (TrainingError naming what else was given)."""
    if isinstance(callbacks, (Callback, str, bytes)) or callable(callbacks) \
            or not hasattr(callbacks, "__iter__"):
        raise TrainingError(f"callbacks must be a list of engine.Callback objects or functions "
                            f"of an event, not a {type(callbacks).__name__}")
    callbacks = list(callbacks)
    wrong = [c for c in callbacks if not (isinstance(c, Callback) or callable(c))]
    if wrong:
        raise TrainingError(f"callbacks must be engine.Callback objects or functions of an "
                            f"event; got a {type(wrong[0]).__name__}")
    return callbacks
