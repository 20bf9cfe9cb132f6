"""GUI test helpers: real mouse events on the canvas, example paths."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def recipe(**changes):
    """The window's settings for a 2-input network, with `changes` given as a flat recipe's
    fields (training fields, "dataset", "pretrain"), as engine.Recipe.from_dict reads them."""
    from gui.training.panel import default_recipe
    import engine
    return engine.Recipe.from_dict({**default_recipe((2,)).flat(), **changes})


def field(panel, name: str, part: str = "train"):
    """The Training panel's editor widget of one setting."""
    return panel.editors[(part, name)].field


def view_point(win, scene_pos: QPointF) -> QPoint:
    return win.view.mapFromScene(scene_pos)


def mouse(win, kind: str, scene_pos: QPointF, button=Qt.LeftButton, held=None,
          modifiers=Qt.NoModifier) -> None:
    """Send a real mouse event to the canvas viewport at a scene position."""
    viewport = win.view.viewport()
    local = QPointF(view_point(win, scene_pos))
    types = {"press": QEvent.MouseButtonPress, "move": QEvent.MouseMove,
             "release": QEvent.MouseButtonRelease, "double": QEvent.MouseButtonDblClick}
    if held is None:
        held = Qt.NoButton if kind == "release" else button
    ev = QMouseEvent(types[kind], local, QPointF(viewport.mapToGlobal(local.toPoint())),
                     Qt.NoButton if kind == "move" else button, held, modifiers)
    QApplication.sendEvent(viewport, ev)


def drag(win, start: QPointF, end: QPointF, steps: int = 5, modifiers=Qt.NoModifier) -> None:
    mouse(win, "press", start, modifiers=modifiers)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        mouse(win, "move", p, held=Qt.LeftButton, modifiers=modifiers)
    mouse(win, "release", end, modifiers=modifiers)


def node_pos(win, node_id: str) -> QPointF:
    return win.scene.nodes[node_id].scenePos()


def double_click_widget(widget, pos: QPoint) -> None:
    """A real double click (press, release, double-click, release) on a widget."""
    p = QPointF(pos)
    for kind in (QEvent.MouseButtonPress, QEvent.MouseButtonRelease,
                 QEvent.MouseButtonDblClick, QEvent.MouseButtonRelease):
        held = Qt.NoButton if kind == QEvent.MouseButtonRelease else Qt.LeftButton
        QApplication.sendEvent(widget, QMouseEvent(kind, p, QPointF(widget.mapToGlobal(pos)),
                                                   Qt.LeftButton, held, Qt.NoModifier))
