"""Cyclic garbage is collected in the GUI thread only (gui.collector)."""
import gc
import threading

from gui import collector


class Cycle:
    def __init__(self, log):
        self.me, self.log = self, log

    def __del__(self):
        self.log.append(threading.current_thread().name)


def test_cycles_made_anywhere_are_collected_in_the_gui_thread(qtbot):
    installed = collector.install()
    assert not gc.isenabled()
    log: list[str] = []

    def worker():
        for _ in range(50):
            Cycle(log)
        [[] for _ in range(20_000)]           # tracked allocations: past every threshold

    thread = threading.Thread(target=worker, name="worker")
    thread.start()
    thread.join()
    assert log == []                         # nothing collected in the worker
    for _ in range(10):
        [[] for _ in range(installed.thresholds[0] + 1)]   # tracked objects, counted by gc
        installed.check()
    gc.collect()
    assert len(log) == 50 and set(log) == {threading.current_thread().name}


def test_the_collector_runs_on_its_timer(qtbot):
    installed = collector.install()
    assert installed.timer.isActive() and installed.timer.interval() == collector.INTERVAL_MS
    log: list[str] = []
    Cycle(log)
    alive = [[] for _ in range(installed.thresholds[0] + 10)]   # past the youngest threshold
    qtbot.wait(collector.INTERVAL_MS * 3)
    assert log == [threading.current_thread().name] and len(alive) > 0
