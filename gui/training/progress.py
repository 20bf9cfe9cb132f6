"""The progress bar's text: epoch (or pre-training stage), samples per second, time left."""
from __future__ import annotations

import time
from collections import deque

from engine import CompareEvent, StageEvent, StepEvent

WINDOW_S = 5.0


def clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Follows step events; `text()` and `percent()` describe where the run is."""

    def __init__(self, epochs: int = 1, pre_epochs: int = 0, run_title: str = ""):
        self.epochs, self.pre_epochs = epochs, pre_epochs
        self.run_title = run_title
        self.stage = ""
        self.pretraining = False
        self.first_epoch = None
        self.last: StepEvent | None = None
        self.samples: deque = deque()
        self.paused_at: float | None = None

    def stage_begins(self, ev: StageEvent) -> None:
        """A pre-training stage begins."""
        self.stage, self.pretraining, self.first_epoch = ev.name, True, None
        self.samples.clear()

    def compared_run_begins(self, ev: CompareEvent) -> None:
        self.run_title = ev.title
        self.first_epoch, self.stage, self.pretraining = None, "", ev.name != "random"
        self.samples.clear()

    def training_begins(self) -> None:
        self.stage, self.pretraining, self.first_epoch = "", False, None
        self.samples.clear()

    def step(self, ev: StepEvent, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self.first_epoch is None:
            self.first_epoch = ev.epoch
        self.last = ev
        self.samples.append((now, ev.samples))
        while self.samples and now - self.samples[0][0] > WINDOW_S:
            self.samples.popleft()

    def rate(self) -> float:
        """Samples per second over the last few seconds."""
        if len(self.samples) < 2:
            return 0.0
        span = self.samples[-1][0] - self.samples[0][0]
        return sum(n for _, n in list(self.samples)[1:]) / span if span > 0 else 0.0

    def _epochs(self) -> int:
        return self.pre_epochs if self.pretraining else self.epochs

    def percent(self) -> int:
        ev = self.last
        if ev is None:
            return 0
        done_epochs = ev.epoch - (self.first_epoch or ev.epoch)
        frac = (done_epochs + ev.batch / max(ev.batches, 1)) / max(self._epochs(), 1)
        return int(round(100 * min(1.0, frac)))

    def seconds_left(self) -> float | None:
        ev, rate = self.last, self.rate()
        if ev is None or rate <= 0:
            return None
        per_batch = rate / max(ev.samples, 1)
        batches_left = (self._epochs() - (ev.epoch - (self.first_epoch or ev.epoch)) - 1) \
            * ev.batches + (ev.batches - ev.batch)
        return batches_left / per_batch if per_batch > 0 else None

    def text(self, paused: bool = False) -> str:
        ev = self.last
        if ev is None:
            return self.stage or "Starting…"
        first = self.first_epoch or ev.epoch
        if self.pretraining and self.stage:
            where = f"{self.stage} · epoch {ev.epoch - first + 1}/{self.pre_epochs}"
        else:       # counted over the whole history, as "After epoch N" and the plots count
            where = f"Epoch {ev.epoch}/{first - 1 + self.epochs}"
        if self.run_title:
            where = f"{self.run_title} · {where}"
        if paused:
            return where + " · paused"
        left = self.seconds_left()
        eta = f" · ETA {clock(left)}" if left is not None else ""
        return f"{where} · {self.rate():,.0f} samples/s{eta}"
