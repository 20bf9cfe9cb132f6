"""The worker: one job at a time in a QThread; its events drained by a timer in the GUI thread.

The job (gui.training.jobs) only puts events on a thread-safe queue and returns an Outcome; it
never touches a widget. A QTimer in the GUI thread drains the queue at most `RATE_HZ` times a
second, however fast training is, and hands the batch of events on through `events`. When the
thread ends, the rest of the queue is drained and `ended` carries the Outcome.

While a job runs, Python's thread switch interval is `SWITCH_S` (1 ms instead of 5): the job's
thread gives up the GIL at every PyTorch call and wants it back at its end, and the GUI thread
wants it for each timer and redraw. At 5 ms, each side often waits the whole interval for the
other to let go, which slows training in the window and delays the GUI's events; at 1 ms both
wait less. The interval is restored when the job ends.
"""
from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QThread, QTimer, Signal

import engine

from .jobs import Outcome

RATE_HZ = 20
SWITCH_S = 0.001        # Python's thread switch interval while a job runs (see above)


class JobThread(QThread):
    def __init__(self, job, queue, control, parent=None):
        super().__init__(parent)
        self.job, self.queue, self.control = job, queue, control
        self.outcome: Outcome | None = None

    def run(self) -> None:
        try:
            self.outcome = self.job(self.queue, self.control)
        except BaseException as exc:  # jobs catch everything; this is the last safety net
            self.outcome = Outcome("unknown", "failed", f"the worker failed: {exc}")


class Worker(QObject):
    started = Signal(str)           # the job's kind
    events = Signal(list)           # a batch of events, in order, in the GUI thread
    ended = Signal(object)          # the Outcome

    def __init__(self, parent=None):
        super().__init__(parent)
        self.thread: JobThread | None = None
        self.control: engine.Control | None = None
        self.queue: engine.EventQueue | None = None
        self.kind = ""
        self.switch_before: float | None = None   # the switch interval to restore
        self.timer = QTimer(self)
        self.timer.setObjectName("training_drain")
        self.timer.setInterval(1000 // RATE_HZ)
        self.timer.timeout.connect(self.drain)

    @property
    def busy(self) -> bool:
        return self.thread is not None

    @property
    def paused(self) -> bool:
        return self.control is not None and self.control.paused

    def start(self, kind: str, job) -> bool:
        """Run `job(queue, control)` in a new thread; False if one is already running."""
        if self.busy:
            return False
        self.kind = kind
        self.queue, self.control = engine.EventQueue(), engine.Control()
        self.thread = JobThread(job, self.queue, self.control)
        self.thread.finished.connect(self._finished)
        self.timer.start()
        self.switch_before = sys.getswitchinterval()
        sys.setswitchinterval(min(self.switch_before, SWITCH_S))
        self.thread.start()
        self.started.emit(kind)
        return True

    def pause(self) -> None:
        if self.control is not None:
            self.control.pause()

    def resume(self) -> None:
        if self.control is not None:
            self.control.resume()

    def stop(self) -> None:
        if self.control is not None:
            self.control.stop()

    def drain(self) -> None:
        if self.queue is None:
            return
        batch = self.queue.drain()
        if batch:
            self.events.emit(batch)

    def wait(self, ms: int = 30000) -> bool:
        """Stop the job and wait for its thread; the ending is delivered before returning."""
        if self.thread is None:
            return True
        self.stop()
        if not self.thread.wait(ms):
            return False
        self._finished()
        return True

    def _finished(self) -> None:
        thread, sender = self.thread, self.sender()
        if thread is None or (isinstance(sender, JobThread) and sender is not thread):
            return           # a late signal from a thread already handled by wait()
        thread.wait()
        self.timer.stop()
        if self.switch_before is not None:
            sys.setswitchinterval(self.switch_before)
            self.switch_before = None
        self.drain()
        self.thread = None
        outcome = thread.outcome or Outcome(self.kind, "failed", "the worker ended without "
                                                                 "an answer")
        thread.deleteLater()
        self.ended.emit(outcome)
