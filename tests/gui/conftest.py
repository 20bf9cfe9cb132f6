"""GUI test fixtures: a main window that is closed without prompts at the end."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from gui import collector


@pytest.fixture(autouse=True, scope="session")
def _garbage_collected_in_the_gui_thread(qapp):
    """As in the app (gui.app.make_app): worker threads never run the cyclic collector, so Qt
    objects left by earlier tests are never destroyed in a training or Lab thread."""
    collector.install()
    yield
    collector.uninstall()


@pytest.fixture
def window(qtbot):
    from gui.main_window import MainWindow
    win = MainWindow(autosave_ms=50)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.doc.mark_saved()          # no question at the end, whatever the test left unsaved
    win.close()
    win.deleteLater()
    QApplication.processEvents()
