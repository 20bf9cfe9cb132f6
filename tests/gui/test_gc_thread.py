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


def test_frozen_start_up_objects_are_left_out_and_later_cycles_still_collected(qtbot):
    installed = collector.install()
    kept = [[] for _ in range(5000)]                # alive at "start-up"
    before = gc.get_freeze_count()
    collector.freeze()
    try:
        assert gc.get_freeze_count() >= before + len(kept)
        log: list[str] = []
        Cycle(log)                                   # made after the freeze
        for _ in range(3):
            [[] for _ in range(installed.thresholds[0] + 1)]
            installed.check()
        gc.collect()
        assert log == [threading.current_thread().name]
    finally:
        gc.unfreeze()                                # other tests see a normal heap


def test_the_app_freezes_once_torch_the_panels_and_the_warm_up_are_loaded(qtbot, window,
                                                                       monkeypatch):
    from gui import app
    frozen = []
    monkeypatch.setattr(collector, "freeze",
                        lambda: frozen.append(window.training is not None))
    app._after_paint(window, [], None)
    qtbot.waitUntil(lambda: bool(frozen), timeout=20000)     # after the warm-up imports
    assert frozen == [True]


def test_uninstalling_collects_what_piled_up_before_python_collects_again(qtbot):
    """Switching automatic collection back on with garbage pending would let the next
    allocation collect it wherever it happens (inside a Qt object's destruction: the session
    once hung there); it is collected at once instead, and the collector object is kept."""
    installed = collector.install()
    log: list[str] = []
    Cycle(log)
    try:
        collector.uninstall()
        assert log == [threading.current_thread().name]
        assert gc.isenabled() == installed.was_enabled
        assert installed in collector._retired and not installed.timer.isActive()
    finally:
        collector.install()                  # the session's collector, for the tests after
        assert not gc.isenabled()
