"""GUI test fixtures: a main window that is closed without prompts at the end."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication


@pytest.fixture
def window(qtbot):
    from gui.main_window import MainWindow
    win = MainWindow(autosave_ms=50)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.doc.undo_stack.setClean()
    win.close()
    win.deleteLater()
    QApplication.processEvents()
