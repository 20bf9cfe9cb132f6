"""Shared test setup: Qt runs off-screen, settings go to a temporary folder, and any test that
leaves a thread, a thread-pool task or an active QTimer running fails."""
from __future__ import annotations

import os
import sys
import threading
import time

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True, scope="session")
def _empty_clipboard_at_exit():
    """Qt's off-screen clipboard crashes at interpreter exit if it still holds data."""
    yield
    if "PySide6.QtWidgets" in sys.modules:
        from PySide6.QtWidgets import QApplication
        if QApplication.instance() is not None:
            QApplication.clipboard().clear()


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("LAYERWISE_HOME", str(tmp_path_factory.mktemp("layerwise-home")))


@pytest.fixture(autouse=True)
def _default_decoding():
    """Each test starts with streamed batches decoded as by default: a window opened by an
    earlier test switches its process to a fork server (engine.data.set_decode_workers),
    whose workers would not see a later test's monkeypatches."""
    yield
    stream = sys.modules.get("engine.data.stream")
    if stream is not None:
        stream.set_decode_workers()


def _active_qt_timers() -> list[str]:
    if "PySide6.QtWidgets" not in sys.modules:
        return []
    from PySide6.QtCore import QThreadPool, QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance()
    if app is None:
        return []
    found = []
    owners = [app, *app.topLevelWidgets()]
    for owner in owners:
        for timer in owner.findChildren(QTimer):
            if timer.isActive():
                found.append(f"QTimer {timer.objectName() or ''} of {type(owner).__name__}")
    pool = QThreadPool.globalInstance()
    if not pool.waitForDone(2000):
        found.append(f"{pool.activeThreadCount()} QThreadPool task(s)")
    return found


@pytest.fixture(autouse=True)
def _no_leftover_threads_or_timers():
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2.0
    leaked = [t for t in threading.enumerate() if t not in before
              and not isinstance(t, threading._DummyThread)]   # a QThread that logged: not ours
    for t in leaked:
        t.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in leaked if t.is_alive()]
    timers = _active_qt_timers()
    if alive or timers:
        pytest.fail(f"test left running: threads {alive}, timers {timers}", pytrace=False)
