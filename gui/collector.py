"""Python's cyclic garbage collector, run from the GUI thread only.

A collection runs in whichever thread happens to allocate when a threshold is crossed. When that
is a worker thread (training, the Lab, exports) and the garbage holds Qt objects, their C++
destructors run outside the GUI thread, which can deadlock against the GUI thread (seen: a Lab
run hanging while its worker imported torch) or crash. So automatic collection is switched off
and a timer in the GUI thread collects the generations whose thresholds were crossed — the recipe
long-lived PyQt/PySide applications use. Reference counting still frees everything else at once.

A full collection walks every tracked object, and with torch imported there are ~200,000 of
them: ~230 ms in which the window does not answer, every minute or so of training. `freeze()`,
once the start-up imports are done, moves the objects alive then (modules, classes, functions:
they live as long as the app) out of the collector's sight, so a full collection only walks
what was made since.
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


class MainThreadCollector(QObject):
    """While it is installed, cyclic garbage is collected only in the thread that made it."""

    def __init__(self, interval_ms: int = INTERVAL_MS):
        super().__init__()
        self.thresholds = gc.get_threshold()
        self.was_enabled = gc.isenabled()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.setObjectName("garbage_collector")
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        """Collect as the automatic collector would have: the youngest generation past its
        threshold, and older ones when their counts are past theirs too."""
        counts = gc.get_count()
        if counts[0] <= self.thresholds[0]:
            return
        generation = 0
        if counts[1] > self.thresholds[1]:
            generation = 2 if counts[2] > self.thresholds[2] else 1
        gc.collect(generation)

    def uninstall(self) -> None:
        """Stop collecting from the timer and give collection back to Python. What piled up
        since the last check is collected here first, from plain code: were automatic
        collection switched on with it still pending, the next allocation would collect it
        wherever that happens — inside a Qt object's destruction, say, whose locks a
        destructor in the garbage may need (seen: the test session hanging at its end)."""
        self.timer.stop()
        gc.collect()
        if self.was_enabled:
            gc.enable()


_installed: list[MainThreadCollector] = []
_retired: list[MainThreadCollector] = []


def install() -> MainThreadCollector:
    """Install the collector once for the process (from the GUI thread)."""
    if not _installed:
        _installed.append(MainThreadCollector())
    return _installed[0]


def freeze() -> None:
    """Leave the objects alive now out of every later collection (after the start-up imports;
    see the module's docstring)."""
    gc.freeze()


def uninstall() -> None:
    """Give collection back to Python; the collector object itself is kept (its destruction,
    a Qt object's, then happens at exit with everything else, never mid-collection)."""
    for installed in _installed:
        installed.uninstall()
    _retired.extend(_installed)
    _installed.clear()
