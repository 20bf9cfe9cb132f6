"""Live probes reach the canvas and the Diagnostics panel at most every `EVERY_S` seconds.

A run probes every few steps, which at full speed is several probes a second; showing each
recolours the canvas and rewrites the panel in the GUI thread, which holds the GIL that the
training thread needs between its PyTorch calls. The newest probe is kept and shown when its
turn comes (by a single-shot timer, so the last one before a pause is shown too); an older one
that was never shown is dropped, as the dashboard's plots keep every probe anyway.
"""
from __future__ import annotations

import math
import time

from PySide6.QtCore import QObject, QTimer

EVERY_S = 0.5


class LiveProbes(QObject):
    """`add(probe)` from the events; `show(probe)` is called with the newest, paced."""

    def __init__(self, show, parent=None, every_s: float = EVERY_S):
        super().__init__(parent)
        self.show, self.every_s = show, every_s
        self.pending = None
        self.shown_at = -math.inf
        self.timer = QTimer(self)
        self.timer.setObjectName("live_probes")
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.flush)

    def add(self, probe) -> None:
        self.pending = probe
        if self.timer.isActive():
            return                          # its turn is on its way
        wait = self.shown_at + self.every_s - time.monotonic()
        if wait <= 0:
            self.flush()
        else:
            self.timer.start(math.ceil(wait * 1000))

    def flush(self) -> None:
        """Show the pending probe now (its turn came, or the run ended)."""
        self.timer.stop()
        probe, self.pending = self.pending, None
        if probe is not None:
            self.shown_at = time.monotonic()
            self.show(probe)

    def stop(self) -> None:
        """Drop the pending probe (the window closes, or the run's results are discarded)."""
        self.timer.stop()
        self.pending = None
