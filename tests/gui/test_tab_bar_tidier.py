"""The tidier hides the tab bars Qt leaves behind, and never fights Qt over a bar it shows again
(seen: every dashboard dock hidden, the tidier and Qt's layout hid and showed the "Runs" bar
about 400 times a second, the GUI thread at 92% of a core)."""
from __future__ import annotations

from gui import window_layout


def test_hiding_every_dashboard_dock_leaves_the_window_idle(qtbot, window, monkeypatch):
    calls = []
    real = window_layout.TabBarTidier.tidy
    monkeypatch.setattr(window_layout.TabBarTidier, "tidy",
                        lambda self: calls.append(1) or real(self))
    window.ensure_training()
    qtbot.wait(200)
    for dock in window.training.dashboard.docks.values():
        dock.hide()
    qtbot.wait(300)
    calls.clear()
    qtbot.wait(500)
    assert len(calls) <= 5, f"{len(calls)} tidies in half a second of an idle window"
