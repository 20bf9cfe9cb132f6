"""The panel layout across restarts: the training docks, created after the window is shown,
go back where the user left them (moved, hidden, tabbed, floating); a broken or foreign saved
layout is ignored; View → Reset Layout puts every panel back in its default place.

Settings live in the per-test LAYERWISE_HOME (tests/conftest.py), never the user's."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QEvent, QRect, Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel

from gui import paths

SIZE = (1200, 800)


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    from gui import dialogs
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *a: "discard")


@pytest.fixture
def windows(qtbot):
    """`windows(restore=True, training=True)`: a new main window, as gui.app starts one (saved
    layout restored before it is shown, training docks installed after); all closed at the end."""
    from gui.main_window import MainWindow
    made = []

    def make(restore: bool = True, training: bool = True) -> MainWindow:
        win = MainWindow(autosave_ms=50)
        win.resize(*SIZE)
        made.append(win)
        win.restored = win.restore_layout() if restore else False
        win.resize(*SIZE)      # the off-screen test screen is smaller than the saved window
        win.show()
        qtbot.waitExposed(win)
        if training:
            win.ensure_training()
        settle()
        return win
    yield make
    for win in made:
        close(win)
        win.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.DeferredDelete)     # not in the next test
    QApplication.processEvents()


def settle() -> None:
    for _ in range(5):
        QApplication.processEvents()


def close(win) -> None:
    """Close the window as a user would (it saves its layout); a second close does nothing."""
    if win.isVisible():
        win.doc.undo_stack.setClean()
        win.close()
        settle()


def docks(win) -> dict[str, QDockWidget]:
    return {d.objectName(): d for d in win.findChildren(QDockWidget,
                                                        options=Qt.FindDirectChildrenOnly)}


def on_top(dock: QDockWidget) -> bool:
    """Shown, and not hidden behind another tab."""
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


def layout(win) -> dict[str, tuple]:
    """Where each panel is: area, floating, shown, on top of its tabs, the docks tabbed with it."""
    return {name: (win.dockWidgetArea(d).name, d.isFloating(), d.toggleViewAction().isChecked(),
                   on_top(d), sorted(t.objectName() for t in win.tabifiedDockWidgets(d)))
            for name, d in docks(win).items()}


def sizes(win) -> dict[str, tuple[int, int]]:
    return {name: (d.width(), d.height()) for name, d in docks(win).items() if on_top(d)}


def dash(win, title: str) -> QDockWidget:
    return win.training.dashboard.docks[title]


def rearrange(win) -> None:
    """What a user might do to the panels: every kind of change a dock can have."""
    win.addDockWidget(Qt.LeftDockWidgetArea, dash(win, "Loss"))           # another area
    dash(win, "Accuracy").close()                                          # hidden
    win.tabifyDockWidget(win.inspector_dock, dash(win, "Filters"))          # another tab group
    dash(win, "Filters").raise_()
    dash(win, "Confusion").setFloating(True)                               # floating
    dash(win, "Confusion").setGeometry(QRect(120, 140, 360, 260))
    win.addDockWidget(Qt.TopDockWidgetArea, win.runs_dock)
    dash(win, "Decision boundary").raise_()                                # another tab on top
    win.diagnostics_dock.close()
    settle()
    win.resizeDocks([dash(win, "Pre-training"), dash(win, "Gradients")], [520, 260],
                    Qt.Horizontal)                                         # other sizes
    win.resizeDocks([win.runs_dock], [180], Qt.Vertical)
    settle()


def default_layout(windows) -> dict[str, tuple]:
    fresh = windows(restore=False)
    expected = layout(fresh)
    close(fresh)
    return expected


def test_first_run_has_the_designed_layout(windows):
    win = windows()
    assert not win.restored                     # nothing saved yet
    got = layout(win)
    assert got["dash_loss"][:4] == ("BottomDockWidgetArea", False, True, True)
    assert {"dash_accuracy", "dash_pre_training", "runs_dock"} <= set(got["dash_loss"][4])
    assert got["dash_gradients"][0] == got["dash_activations"][0] == "BottomDockWidgetArea"
    assert on_top(dash(win, "Gradients")) and on_top(dash(win, "Activations"))
    assert got["training_dock"][4] == ["inspector_dock"] and on_top(win.inspector_dock)
    assert sorted(got["diagnostics_dock"][4]) == ["dash_through_time", "problems_dock"]
    assert on_top(win.problems_dock)
    assert got["palette_dock"][:4] == ("LeftDockWidgetArea", False, True, True)
    assert not any(d.isFloating() for d in docks(win).values())


def test_rearranged_training_docks_come_back_after_a_restart(windows):
    first = windows()
    rearrange(first)
    left, sized = layout(first), sizes(first)
    floating = dash(first, "Confusion").geometry()
    close(first)
    second = windows()
    assert second.restored
    assert layout(second) == left
    assert sizes(second) == sized
    assert dash(second, "Confusion").geometry() == floating
    assert second.centralWidget() is second.view and second.view.width() > 100


def test_the_layout_survives_a_session_that_never_installed_training(windows):
    first = windows()
    rearrange(first)
    left, sized = layout(first), sizes(first)
    close(first)
    close(windows(training=False))              # closed before torch was loaded: saves too
    third = windows()
    assert layout(third) == left and sizes(third) == sized


def test_a_panel_moved_before_the_training_docks_exist_stays_where_it_was_put(windows):
    first = windows()
    rearrange(first)
    left = layout(first)
    close(first)
    second = windows(training=False)
    second.addDockWidget(Qt.RightDockWidgetArea, second.palette_dock)
    second.ensure_training()
    settle()
    got = layout(second)
    assert got["palette_dock"][0] == "RightDockWidgetArea"
    for name in ("dash_loss", "dash_accuracy", "dash_confusion", "runs_dock", "dash_filters",
                 "diagnostics_dock"):
        assert got[name][:3] == left[name][:3], name
    assert second.centralWidget() is second.view


@pytest.mark.parametrize("state", [QByteArray(b"not a layout \x00\x01\x02"), "hand-edited",
                                   42, QByteArray()])
def test_an_unreadable_saved_layout_is_ignored(windows, state):
    expected = default_layout(windows)
    settings = paths.settings()
    settings.setValue("window/state", state)
    settings.setValue("window/geometry", state)
    settings.sync()
    win = windows()
    assert not win.restored
    assert layout(win) == expected


def test_a_saved_layout_from_an_older_version_restores_what_still_exists(windows):
    old = windows()
    gone = QDockWidget("Retired panel", old)
    gone.setObjectName("retired_dock")
    gone.setWidget(QLabel("gone"))
    old.addDockWidget(Qt.BottomDockWidgetArea, gone)
    old.tabifyDockWidget(dash(old, "Loss"), gone)
    old.addDockWidget(Qt.LeftDockWidgetArea, dash(old, "Gradients"))
    dash(old, "Accuracy").setFloating(True)
    settle()
    left = layout(old)
    close(old)
    win = windows()
    assert win.restored and "retired_dock" not in docks(win)
    got = layout(win)
    assert got["dash_gradients"][0] == "LeftDockWidgetArea"
    assert got["dash_accuracy"][1] and got["dash_loss"][0] == "BottomDockWidgetArea"
    assert set(got["dash_loss"][4]) == set(left["dash_loss"][4]) - {"retired_dock"}
    close(win)
    assert layout(windows())["dash_gradients"][0] == "LeftDockWidgetArea"     # saved again


def test_a_panel_new_since_the_saved_layout_gets_its_default_place_beside_the_others(windows):
    old = windows()
    old.addDockWidget(Qt.LeftDockWidgetArea, dash(old, "Loss"))
    old.runs_dock.setObjectName("not_yet_invented")       # as if saved before Runs existed
    close(old)
    win = windows()
    got = layout(win)
    assert got["dash_loss"][0] == "LeftDockWidgetArea"                    # restored
    assert got["runs_dock"][0] == "LeftDockWidgetArea" and "dash_loss" in got["runs_dock"][4]
    assert on_top(dash(win, "Loss"))                                       # its default tab


def test_reset_layout_puts_every_panel_back_and_keeps_the_window_size(windows):
    expected = default_layout(windows)
    first = windows()
    rearrange(first)
    close(first)
    win = windows()
    assert layout(win) != expected
    size = win.size()
    assert win.reset_layout_action in win.view_menu.actions()
    win.reset_layout_action.trigger()
    settle()
    assert layout(win) == expected
    assert win.size() == size and win.centralWidget() is win.view
    close(win)
    assert layout(windows()) == expected           # and that is what is saved


def test_reset_layout_before_the_training_docks_exist(windows):
    expected = default_layout(windows)
    win = windows(training=False)
    win.addDockWidget(Qt.RightDockWidgetArea, win.palette_dock)
    win.problems_dock.setFloating(True)
    win.inspector_dock.close()
    win.reset_layout()
    win.ensure_training()
    settle()
    assert layout(win) == expected


def test_the_view_menu_lists_the_runs_panel_before_reset_layout(windows):
    win = windows()
    actions = win.view_menu.actions()
    assert actions.index(win.runs_dock.toggleViewAction()) < actions.index(
        win.reset_layout_action)


def test_settings_are_kept_away_from_the_users_own():
    home = Path(os.environ["LAYERWISE_HOME"])
    assert Path(paths.settings().fileName()).parent == home


def test_the_window_is_laid_out_once_the_panels_filled_later_do_not_move_anything(windows):
    from gui.window_layout import LATER_PANELS, LOADING
    win = windows(training=False)
    before, canvas = layout(win), win.view.geometry()
    assert {name for name, _ in LATER_PANELS} <= set(before)
    assert win.training_dock.widget().text() == LOADING          # says what it waits for
    win.ensure_training()
    settle()
    assert layout(win) == before                   # the same places; sizes bend to the contents
    assert win.view.width() > 0.9 * canvas.width() and win.view.height() == canvas.height()
    assert win.training_dock.widget() is win.training.panel
    assert dash(win, "Loss").widget() is win.training.dashboard.loss
    assert win.runs_dock.widget() is win.runs_panel
    assert not any(label.isVisible() for label in win.findChildren(QLabel, "panel_loading"))


def test_the_window_with_every_panel_fits_a_1024_pixel_wide_screen(windows):
    win = windows()
    assert win.minimumSizeHint().width() <= 1000
    assert win.diagnostics_dock.minimumSizeHint().width() < 300     # long choices do not widen it
