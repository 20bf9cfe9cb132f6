"""What keeps the window light while a run trains: live probes shown at most every so often
(the newest kept, none lost at the end), and Python's thread switch interval shortened only
while a job's thread runs."""
from __future__ import annotations

import sys

from gui.training.jobs import Outcome
from gui.training.live_probes import LiveProbes
from gui.training.worker import SWITCH_S, Worker


def test_a_probe_is_shown_at_once_then_the_newest_waits_for_its_turn(qtbot):
    shown = []
    live = LiveProbes(shown.append, every_s=3600)
    live.add("p1")
    assert shown == ["p1"] and live.pending is None
    live.add("p2")
    live.add("p3")                           # p2 is never shown: p3 is newer
    assert shown == ["p1"] and live.pending == "p3" and live.timer.isActive()
    live.flush()                             # the run ended
    assert shown == ["p1", "p3"] and not live.timer.isActive()
    live.add("p4")
    live.stop()                              # the window closes
    assert shown == ["p1", "p3"] and live.pending is None and not live.timer.isActive()


def test_the_waiting_probe_is_shown_when_its_turn_comes_without_a_flush(qtbot):
    shown = []
    live = LiveProbes(shown.append, every_s=0.3)
    live.add("p1")
    live.add("p2")                            # within 0.3 s of p1: its timer shows it
    qtbot.waitUntil(lambda: shown == ["p1", "p2"], timeout=5000)
    assert live.pending is None and not live.timer.isActive()


def test_the_switch_interval_is_short_only_while_a_job_runs(qtbot):
    before = sys.getswitchinterval()
    worker = Worker()
    seen = []

    def job(queue, control):
        seen.append(sys.getswitchinterval())
        return Outcome("test")
    with qtbot.waitSignal(worker.ended, timeout=10000):
        assert worker.start("test", job)
    assert seen == [min(before, SWITCH_S)]
    assert sys.getswitchinterval() == before and not worker.busy


def test_waiting_for_a_job_restores_the_switch_interval_too(qtbot):
    before = sys.getswitchinterval()
    worker = Worker()

    def job(queue, control):
        while not control.stopping:
            control.wait()
        return Outcome("test", "stopped")
    assert worker.start("test", job)
    assert sys.getswitchinterval() == min(before, SWITCH_S)
    assert worker.wait(10000)
    assert sys.getswitchinterval() == before and not worker.busy
