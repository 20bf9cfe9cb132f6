"""The Training panel's data preview reads a slow data set in the background: the window keeps
answering, the preview appears when the read ends, a stale read never replaces the data set
chosen since, and a read that fails says why."""
from __future__ import annotations

import gc
import threading
import time

import pytest
from PySide6.QtCore import QTimer

import engine
from gui.training import data_loader

SLOW_S = 1.0


def settings(name: str, samples: int):
    from gui_helpers import recipe
    return recipe(dataset={"name": name, "options": {"samples": samples, "seed": 0}})


def choose(win, name: str, samples: int = 100):
    session = win.ensure_training()
    spec = engine.NetworkSpec.sequential((2,), [("Linear", {"out_features": 2})], name="t")
    win.doc.replace(spec, None, "t", recipe=settings(name, samples))
    return session


@pytest.fixture
def slow_reads(monkeypatch):
    """engine.load_dataset takes SLOW_S for `moons` (the others are read at once); the
    threads it ran in are returned."""
    real, threads = engine.load_dataset, []

    def load(name, **options):
        threads.append(threading.current_thread())
        if name == "moons":
            time.sleep(SLOW_S)
        return real(name, **options)
    monkeypatch.setattr(engine, "load_dataset", load)
    return threads


def summary(session) -> str:
    return session.panel.dataset.summary.text()


def test_a_slow_read_leaves_the_window_answering_and_shows_the_data_when_done(
        qtbot, window, slow_reads):
    beats = []
    timer = QTimer()
    timer.timeout.connect(lambda: beats.append(time.monotonic()))
    window.ensure_training()
    # Late in a test run the process holds every earlier test's objects, and one full garbage
    # collection in the GUI thread (gui.collector) can then take a second by itself; the app
    # freezes what start-up made for the same reason. Freeze what is alive now, so that the beats
    # below measure the read, not the size of the test process.
    gc.collect()
    gc.freeze()
    timer.start(10)
    qtbot.wait(int(SLOW_S * 1000))      # the beats of an idle second on this (shared) machine
    idle = len(beats)
    t0 = time.monotonic()
    s = choose(window, "moons", samples=120)
    returned = time.monotonic() - t0
    shown_at = []

    def shown() -> bool:
        if summary(s).startswith("120 samples") and not shown_at:
            shown_at.append(time.monotonic())
        return bool(shown_at)
    try:
        assert summary(s) == "Reading moons…"
        assert returned < SLOW_S                       # not blocked by the read
        qtbot.waitUntil(shown, timeout=5000)
    finally:
        timer.stop()
        gc.unfreeze()
    assert all(t is not threading.main_thread() for t in slow_reads)
    during = [b for b in beats if t0 + returned < b < shown_at[0]]
    assert len(during) >= min(5, idle // 3)           # the event loop ran meanwhile
    assert s.panel.dataset.samples.count() > 0         # the scatter of the points


def test_a_quick_read_is_shown_at_once(qtbot, window, slow_reads):
    s = choose(window, "circles", samples=80)
    assert summary(s).startswith("80 samples")


def test_a_stale_read_does_not_replace_the_data_set_chosen_since(qtbot, window, slow_reads):
    s = choose(window, "moons", samples=150)
    assert summary(s) == "Reading moons…"
    choose(window, "circles", samples=90)
    assert summary(s).startswith("90 samples")
    qtbot.waitUntil(lambda: not s.data.loader._reads, timeout=5000)   # the moons read has ended
    assert summary(s).startswith("90 samples")
    assert any('"moons"' in key for key in s.data.cache)   # kept for when it is chosen again


def test_a_read_that_fails_late_says_why(qtbot, window, monkeypatch):
    def load(name, **options):
        time.sleep(0.3)
        raise engine.DatasetError(f"{name}: line 7 has 3 values, expected 4")
    monkeypatch.setattr(engine, "load_dataset", load)
    s = choose(window, "moons")
    qtbot.waitUntil(lambda: "line 7" in summary(s), timeout=5000)
    assert "b91c1c" in s.panel.dataset.summary.styleSheet()      # shown as an error


def test_an_unexpected_error_in_a_read_is_reported_not_lost(qtbot, window, monkeypatch):
    def load(name, **options):
        raise ValueError("broken reader")
    monkeypatch.setattr(engine, "load_dataset", load)
    s = choose(window, "moons")
    assert "ValueError: broken reader" in summary(s)


def test_closing_the_window_waits_for_a_read(qtbot, window, slow_reads, monkeypatch):
    monkeypatch.setattr(data_loader, "WAIT_MS", 0)
    s = choose(window, "moons")
    assert s.data.loader._reads
    window.doc.undo_stack.setClean()
    window.close()
    assert not s.data.loader._reads and all(not t.is_alive() for t in slow_reads)


def test_asking_again_while_a_read_is_under_way_does_not_wait_again(qtbot, window, slow_reads):
    s = choose(window, "moons")
    assert summary(s) == "Reading moons…"
    t0 = time.monotonic()
    for _ in range(3):
        s.data.show()                    # the panel asks again (settings changed, …)
    assert time.monotonic() - t0 < data_loader.WAIT_MS / 1000
    assert summary(s) == "Reading moons…" and len(slow_reads) == 1     # one read only
    qtbot.waitUntil(lambda: summary(s).startswith("100 samples"), timeout=5000)


def test_colour_images_preview_in_colour(qtbot):
    """A (height, width, 3) preview image becomes a colour thumbnail (CIFAR-10's)."""
    import numpy as np
    from PySide6.QtGui import QColor
    from gui.training.dataset_box import _thumbnail
    img = np.zeros((6, 6, 3), dtype=np.float32)
    img[..., 0] = 1.0                                   # pure red
    box = _thumbnail(img, "red")
    qtbot.addWidget(box)
    pixel = QColor(box.pixmap().toImage().pixel(10, 10))
    assert (pixel.red(), pixel.green(), pixel.blue()) == (255, 0, 0)
