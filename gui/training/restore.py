"""The views a document's stored weights allow, restored in the background when it is opened.

A .lwnet with trained weights shows, as soon as they are computed, what its run showed at its
end: the decision boundary and the confusion matrix (from the weights and the data set of its
recipe, the validation part its run held out) and the convolution filters
(engine.trained_views). The work runs in a thread on a copy of the weights, so the window stays
responsive and a run started meanwhile trains weights no other thread reads. Each request has a
number: a result that arrives after another document was opened (or a run started, or the
weights were reset) is dropped. The data set is the one the Training panel has read.
"""
from __future__ import annotations

import copy
import threading

from PySide6.QtCore import QObject, QTimer, Signal

import engine

POLL_MS = 40


class _Compute(threading.Thread):
    def __init__(self, number: int, model, data, split: dict):
        super().__init__(name="layerwise-restore-views", daemon=True)
        self.number, self.model, self.data, self.split = number, model, data, split
        self.events: list = []
        self.error = ""

    def run(self) -> None:
        try:
            try:
                self.events = engine.trained_views(self.model, self.data, **self.split)
            except engine.LayerwiseError as exc:     # the data does not fit the weights
                self.error = str(exc)
                self.events = engine.trained_views(self.model, None, step=self.split["step"])
        except Exception as exc:                     # a view's bug must not vanish in a thread
            self.error = f"{type(exc).__name__}: {exc}"


class ViewRestorer(QObject):
    """`start(...)` computes the views; `ready(events)` brings them, `failed(message)` says
    what could not be shown; `cancel()` drops whatever is under way."""
    ready = Signal(list)
    failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.number = 0
        self.thread: _Compute | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)

    def start(self, model, data, val_fraction: float, seed: int, epoch: int,
              step: int) -> None:
        """Views of `model` (copied now) with `data` (a Dataset), or without data (the
        filters only)."""
        self.number += 1
        split = {"val_fraction": val_fraction, "seed": seed, "epoch": epoch, "step": step}
        self.thread = _Compute(self.number, copy.deepcopy(model), data, split)
        self.thread.start()
        self.timer.start()

    def cancel(self) -> None:
        self.number += 1

    def wait(self, seconds: float = 30.0) -> None:
        """Let the thread end (the window closes, tests); its result is delivered."""
        if self.thread is not None:
            self.thread.join(seconds)
            self._poll()

    def _poll(self) -> None:
        thread = self.thread
        if thread is None or thread.is_alive():
            return
        self.thread = None
        self.timer.stop()
        if thread.number != self.number:
            return                              # another document, or a run, since
        if thread.error:
            self.failed.emit(thread.error)
        if thread.events:
            self.ready.emit(thread.events)
