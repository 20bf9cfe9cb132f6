"""The first minutes: the window fits a 1366×768 laptop screen with nothing cut off, an empty
canvas says what to do, the Inspector applies values as they are typed (one undo step per field
edit), the Help menu lists the real shortcuts and shows the guide, and File → Export offers only
formats this installation can write."""
from __future__ import annotations

import importlib.util

import pytest
from PySide6.QtCore import QEvent, QPoint, QRect, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QAbstractButton, QAbstractScrollArea, QApplication, QDockWidget,
                               QFileDialog, QGraphicsView, QLabel, QMainWindow, QMessageBox,
                               QScrollArea, QTabBar, QTableView, QToolButton)

import engine
from gui import dialogs, help_menu, window_layout
from gui.commands import SetParamCommand

from gui_helpers import EXAMPLES

LAPTOP = QRect(0, 0, 1366, 728)          # a 1366×768 screen less a 40-pixel task bar


def settle(n: int = 8) -> None:
    for _ in range(n):
        QApplication.processEvents()


@pytest.fixture
def on_screen(qtbot, monkeypatch):
    """`on_screen(rect)`: a main window made on a screen whose free area is `rect`, with every
    panel filled, shown at the size it gave itself."""
    from gui.main_window import MainWindow
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *a: "discard")
    made = []

    def make(rect: QRect) -> MainWindow:
        monkeypatch.setattr(window_layout, "available_geometry", lambda w: QRect(rect))
        win = MainWindow(autosave_ms=50)
        made.append(win)
        win.show()
        qtbot.waitExposed(win)
        win.ensure_training()
        settle()
        return win
    yield make
    for win in made:
        win.doc.undo_stack.setClean()
        win.close()
        win.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.DeferredDelete)


def docks(win) -> list[QDockWidget]:
    return win.findChildren(QDockWidget, options=Qt.FindDirectChildrenOnly)


def too_wide(dock: QDockWidget) -> list[str]:
    """The scroll areas in a dock that would need a horizontal scroll bar (tables, which
    scroll by nature, and plots are left out)."""
    found = []
    for area in [dock.widget(), *dock.widget().findChildren(QAbstractScrollArea)]:
        if not isinstance(area, QAbstractScrollArea) or not area.isVisible() or isinstance(
                area, (QTableView, QGraphicsView)):
            continue
        wants = (area.widget().minimumSizeHint().width()
                 if isinstance(area, QScrollArea) and area.widget() is not None else 0)
        if area.horizontalScrollBar().isVisible() or wants > area.viewport().width():
            found.append(f"{dock.objectName()}: {type(area).__name__} wants {wants}, "
                         f"has {area.viewport().width()}")
    return found


def clipped(widget) -> list[str]:
    """Visible one-line labels and buttons in `widget` narrower than their text."""
    found = []
    for w in widget.findChildren(QLabel) + widget.findChildren(QAbstractButton):
        text = w.text()
        if (not w.isVisible() or not text or (isinstance(w, QLabel) and w.wordWrap())
                or isinstance(w, QToolButton)):
            continue
        if w.sizeHint().width() > w.width() + 1:
            found.append(f"{type(w).__name__} {text[:40]!r}: {w.width()} < "
                         f"{w.sizeHint().width()}")
    return found


def cut_tabs(win) -> list[str]:
    found = []
    for bar in win.findChildren(QTabBar, options=Qt.FindDirectChildrenOnly):
        if bar.isVisible():
            found += [bar.tabText(i) for i in range(bar.count())
                      if bar.tabRect(i).width() < bar.tabSizeHint(i).width()]
    return found


def every_panel_on_top(win):
    for dock in docks(win):
        if dock.isVisible():
            dock.raise_()
            settle(3)
            yield dock


def test_the_window_opens_sized_to_a_laptop_screen(on_screen):
    win = on_screen(LAPTOP)
    frame = win.size() + window_layout.FRAME
    assert frame.width() <= LAPTOP.width() and frame.height() <= LAPTOP.height()
    assert win.size().width() >= 1300 and win.size().height() >= 660   # and uses it
    assert win.corner(Qt.BottomRightCorner) == Qt.RightDockWidgetArea   # a full-height column
    assert win.minimumSizeHint().width() <= win.width()


def test_on_a_1024_screen_the_plots_take_the_whole_width_so_the_window_fits(on_screen):
    win = on_screen(QRect(0, 0, 1024, 728))
    assert win.corner(Qt.BottomRightCorner) == Qt.BottomDockWidgetArea
    assert win.minimumSizeHint().width() <= 1000 and win.width() <= 1024


def test_at_1366x768_no_panel_scrolls_sideways_and_no_text_is_cut(on_screen):
    win = on_screen(LAPTOP)
    win.doc.replace(engine.NetworkSpec.sequential((784,), [("Conv2d", {}), ("ReLU", {})]))
    win.scene.select_nodes(["conv2d_1"])      # the Inspector's longest form, and a problem
    settle()
    assert win.problems.count() >= 1
    problems = []
    for dock in every_panel_on_top(win):
        problems += too_wide(dock) + clipped(dock)
    problems += clipped(win.statusBar()) + [f"tab {t!r} cut" for t in cut_tabs(win)]
    assert problems == []
    view = win.problems
    assert view.horizontalScrollBar().maximum() == 0          # rows wrap or elide


def places(win) -> dict[str, tuple]:
    return {d.objectName(): (win.dockWidgetArea(d).name, d.isFloating(),
                             sorted(t.objectName() for t in win.tabifiedDockWidgets(d)))
            for d in docks(win)}


def test_reset_layout_on_a_laptop_screen_and_no_stray_tab_bar_is_left(on_screen):
    win = on_screen(LAPTOP)
    default = places(win)
    loss, confusion = win.training.dashboard.docks["Loss"], win.training.dashboard.docks[
        "Confusion"]
    win.addDockWidget(Qt.LeftDockWidgetArea, loss)
    confusion.setFloating(True)
    win.tabifyDockWidget(win.inspector_dock, win.training.dashboard.docks["Filters"])
    settle()
    assert places(win) != default
    win.reset_layout()
    settle()
    assert places(win) == default
    assert win.corner(Qt.BottomRightCorner) == Qt.RightDockWidgetArea
    win.resize(win.width() - 40, win.height() - 30)     # the groups move: strays would show
    settle()
    assert window_layout.stray_tab_bars(win) == []
    shown = [b for b in win.findChildren(QTabBar, options=Qt.FindDirectChildrenOnly)
             if b.isVisible()]
    assert len(shown) == 5                       # three plot groups, two in the right column


def test_a_dock_tabbed_elsewhere_is_moved_into_the_new_tab_group(qtbot):
    """Qt 6.12's tabifyDockWidget leaves a dock that is a tab of another group where it is;
    the placer takes it out first, so Reset Layout works with every PySide6."""
    win = QMainWindow()
    qtbot.addWidget(win)
    d = {}
    for name in "ABCD":
        d[name] = QDockWidget(name, win)
        d[name].setObjectName(name)
        d[name].setWidget(QLabel(name))
    win.addDockWidget(Qt.BottomDockWidgetArea, d["A"])
    win.tabifyDockWidget(d["A"], d["B"])
    win.addDockWidget(Qt.BottomDockWidgetArea, d["C"])
    window_layout.DockPlacer(win, d.values()).tabify(d["C"], d["B"])
    assert win.tabifiedDockWidgets(d["C"]) == [d["B"]] and win.tabifiedDockWidgets(d["A"]) == []


def dark_pixels(view) -> int:
    """Pixels of text in the middle of the canvas (the grid and background are light)."""
    image = view.viewport().grab().toImage()
    w, h = image.width(), image.height()
    return sum(1 for x in range(w // 4, 3 * w // 4, 3) for y in range(h // 3, 2 * h // 3, 3)
               if image.pixelColor(x, y).lightness() < 140)


def test_an_empty_canvas_says_what_to_do_until_there_is_a_layer(window):
    from gui.canvas.view import empty_hint
    hint = " ".join(empty_hint())
    assert "Layers palette" in hint and "double-click" in hint and "File → Examples" in hint
    assert window.examples_menu.menuAction() in window.menuBar().actions()[0].menu().actions()
    view = window.view
    assert view.is_empty() and dark_pixels(view) > 40
    node = window.append_kind("Input")
    view.centerOn(4000, 4000)                 # the new layer out of sight: only the hint could be
    QApplication.processEvents()
    assert not view.is_empty() and dark_pixels(view) == 0
    window.doc.undo_stack.undo()
    view.centerOn(0, 0)
    QApplication.processEvents()
    assert node not in window.spec.nodes and dark_pixels(view) > 40


def test_the_inspector_applies_as_you_type_in_one_undo_step(window, qtbot, monkeypatch):
    monkeypatch.setattr(SetParamCommand, "MERGE_SECONDS", 0.0)    # not by time: by field edit
    assert window.open_path(EXAMPLES / "lenet5.json")
    window.scene.select_nodes(["conv2d_2"])
    spin = window.inspector.editors["out_channels"].field
    params = window.spec.nodes["conv2d_2"].params
    steps = window.doc.undo_stack.count()
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "2")
    qtbot.waitUntil(lambda: window.spec.nodes["conv2d_2"].params["out_channels"] == 2)
    qtbot.wait(50)
    qtbot.keyClicks(spin, "0")                 # typed on, after the first value applied
    qtbot.waitUntil(lambda: window.spec.nodes["conv2d_2"].params["out_channels"] == 20)
    assert spin.text() == "20"
    assert window.scene.nodes["conv2d_2"].texts[2] == "→ (20, 10, 10)"
    qtbot.keyClick(spin, Qt.Key_Return)
    assert window.doc.undo_stack.count() == steps + 1
    window.doc.undo_stack.undo()
    assert window.spec.nodes["conv2d_2"].params["out_channels"] == params["out_channels"] == 16
    assert spin.value() == 16


def test_a_refused_value_keeps_the_text_being_typed(window, qtbot):
    assert window.open_path(EXAMPLES / "lenet5.json")
    window.scene.select_nodes(["conv2d_1"])
    inspector = window.inspector
    field = inspector.editors["kernel_size"].field
    steps = window.doc.undo_stack.count()
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, "0")
    qtbot.waitUntil(lambda: inspector.error.isVisible())
    assert field.text() == "0" and field.property("problem")
    assert "got 0" in inspector.error.text() and "Not accepted" in inspector.error.text()
    assert window.spec.nodes["conv2d_1"].params["kernel_size"] == 5
    qtbot.keyClick(field, Qt.Key_Backspace)
    qtbot.keyClicks(field, "3, 5")
    qtbot.waitUntil(lambda: window.spec.nodes["conv2d_1"].params["kernel_size"] == (3, 5))
    assert not inspector.error.isVisible() and not field.property("problem")
    assert field.text() == "3, 5"
    qtbot.keyClick(field, Qt.Key_Return)
    assert window.doc.undo_stack.count() == steps + 1
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, "-2")
    qtbot.waitUntil(lambda: inspector.error.isVisible())
    qtbot.keyClick(field, Qt.Key_Return)         # the edit ends: the node's value comes back
    assert field.text() == "3, 5" and not field.property("problem")
    assert window.doc.undo_stack.count() == steps + 1


def test_keyboard_shortcuts_are_listed_from_the_windows_actions(window):
    window.ensure_training()                   # its Training menu's keys are listed too
    dialog = window.help_menu.show_shortcuts()
    table = dialog.table

    def rows():
        t = window.help_menu.show_shortcuts().table
        return {(t.item(i, 1).text(), t.item(i, 2).text()) for i in range(t.rowCount())}
    expected = {(help_menu.plain(a.text()), help_menu.keys_of(a))
                for a in window.findChildren(QAction) if a.shortcuts() and a.text()}
    assert rows() == expected and table.rowCount() == len(expected)
    got = rows()
    assert {("Save As", "Ctrl+Shift+S"), ("Redo", "Ctrl+Shift+Z, Ctrl+Y"),
            ("Keyboard Shortcuts", "Ctrl+/"), ("Layerwise Guide", "F1")} <= got
    assert any(keys == "F5" for _, keys in got)           # Train, from the Training menu
    window.fit_action.setShortcut("Ctrl+Shift+F")         # what the actions say, not a list
    assert ("Fit to Window", "Ctrl+Shift+F") in rows()
    window.help_menu.dialogs["shortcuts"].close()


def test_the_help_menu_shows_the_guide_opens_the_lab_and_says_about(window, monkeypatch):
    menu = window.help_menu
    assert [a.text() for a in menu.menu.actions() if a.text()] == [
        "&Keyboard Shortcuts", "Layerwise &Guide", "&Lab Window…", "&About Layerwise"]
    guide = menu.show_guide()
    text = guide.browser.toPlainText()
    assert "Quick start" in text and "pip install -q torch==2.13.0 -e ." in text
    assert "# Layerwise" not in text                      # rendered, not shown as source
    guide.close()
    monkeypatch.setattr(help_menu, "README", help_menu.ROOT / "no-such-README.md")
    assert "Quick start" in help_menu.guide_text()       # an installed package's description
    menu.lab_action.trigger()
    assert window.lab_window.isVisible()
    window.lab_window.close()


def test_export_offers_onnx_only_where_it_can_be_written(window, monkeypatch, tmp_path):
    offered, warned = [], []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (offered.append(a[3]), ("", ""))[1])
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: warned.append(a[2]))
    window.doc.replace(engine.load(str(EXAMPLES / "toy_2d.json")).spec, None, "toy")
    assert not window.export_network()
    assert "ONNX (*.onnx)" in offered[0]
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxscript" else real(name, *a))
    assert not window.export_network()
    assert "ONNX" not in offered[1] and "TorchScript" in offered[1]
    assert "pip install onnx onnxscript" in window.statusBar().currentMessage()
    assert not window.exporter.export_to(str(tmp_path / "toy.onnx"), "onnx")
    assert "onnxscript" in warned[0]


def test_onnx_export_from_the_window_works_and_says_when_it_is_unchecked(window, qtbot,
                                                                           monkeypatch,
                                                                           tmp_path):
    from gui.export_action import available_formats
    assert "onnx" in [f[0] for f in available_formats()]   # installed with Layerwise
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    window.doc.replace(engine.load(str(EXAMPLES / "toy_2d.json")).spec, None, "toy")
    target = tmp_path / "toy.onnx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target),
                                                                         "ONNX (*.onnx)"))
    window.export_network()
    ended = qtbot.waitSignal(window.exporter.finished, timeout=120_000)
    ended.wait()                          # the export runs in its thread; its end is queued
    assert ended.args[0].status == "finished", ended.args[0].message
    assert target.stat().st_size > 0
    assert "not checked" in window.statusBar().currentMessage()


def test_window_geometry_is_centred_in_the_free_area():
    frame = window_layout.first_frame(QRect(0, 40, 1366, 728))
    assert frame.size() == LAPTOP.size() and frame.topLeft() == QPoint(0, 40)
    big = window_layout.first_frame(QRect(0, 0, 2560, 1400))
    assert big.size() == window_layout.PREFERRED_SIZE + window_layout.FRAME
    assert big.center() == QRect(0, 0, 2560, 1400).center()
