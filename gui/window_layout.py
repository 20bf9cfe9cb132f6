"""Where the window's panels go: the default places, the layout saved when the window closes
and restored at the next start, and View → Reset Layout.

The panels whose contents need PyTorch (training, diagnostics, the dashboard plots, the runs)
are filled in a few seconds after the window first paints, but their docks exist from the
start, in their places, saying that they are loading: the window is laid out once, and the
saved layout is restored for every panel at once. `fill(name, widget)` puts a panel's contents
in its dock.
"""
from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QLayout, QMainWindow

from . import paths

LAYOUT_VERSION = 0     # raise when the panels change so much that saved layouts should be dropped
LATER_PANELS = (       # (dock object name, title) of the panels filled after the first paint
    ("dash_loss", "Loss"), ("dash_accuracy", "Accuracy"), ("dash_gradients", "Gradients"),
    ("dash_gradient_map", "Gradient map"), ("dash_activations", "Activations"),
    ("dash_pre_training", "Pre-training"), ("dash_decision_boundary", "Decision boundary"),
    ("dash_filters", "Filters"), ("dash_confusion", "Confusion"),
    ("training_dock", "Training"), ("diagnostics_dock", "Diagnostics"), ("runs_dock", "Runs"))
DASHBOARD_TABS = (("dash_loss", "dash_accuracy"), ("dash_loss", "dash_pre_training"),
                  ("dash_gradients", "dash_gradient_map"),
                  ("dash_activations", "dash_decision_boundary"),
                  ("dash_activations", "dash_filters"), ("dash_activations", "dash_confusion"))
LOADING = "Loading PyTorch…"


def dock_widget(window: QMainWindow, title: str, name: str, widget) -> QDockWidget:
    """A movable, closable, floatable dock named `name` (the name its place is saved under)."""
    d = QDockWidget(title, window)
    d.setObjectName(name)
    d.setWidget(widget)
    d.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetClosable
                  | QDockWidget.DockWidgetFloatable)
    return d


class DockPlacer:
    """Puts the docks in `new` in their default places: a step for any other dock does
    nothing, so a dock restored from the saved layout stays where the user left it."""

    def __init__(self, window: QMainWindow, new):
        self.window, self.new = window, list(new)

    def add(self, area, dock: QDockWidget) -> None:
        if dock in self.new:
            self.window.addDockWidget(area, dock)

    def split(self, first: QDockWidget, dock: QDockWidget, orientation) -> None:
        if dock in self.new:
            self.window.splitDockWidget(first, dock, orientation)

    def tabify(self, first: QDockWidget, dock: QDockWidget, owner=None) -> None:
        """Tab `dock` behind `first`; `owner`, when given, is the new dock the step is for."""
        if (dock if owner is None else owner) in self.new:
            self.window.tabifyDockWidget(first, dock)

    def raise_(self, dock: QDockWidget, owner=None) -> None:
        if (dock if owner is None else owner) in self.new:
            dock.raise_()

    def resize(self, docks: list, sizes: list, orientation) -> None:
        pairs = [(d, n) for d, n in zip(docks, sizes) if d in self.new]
        if pairs:
            self.window.resizeDocks([d for d, _ in pairs], [n for _, n in pairs], orientation)


def _layout_bytes(value) -> QByteArray | None:
    """A saved geometry or state as bytes; None for anything else (a hand-edited file)."""
    if isinstance(value, QByteArray) and not value.isEmpty():
        return value
    if isinstance(value, (bytes, bytearray)) and value:
        return QByteArray(bytes(value))
    return None


class PanelLayout:
    """The dock layout of `window`, whose own panels (palette_dock, inspector_dock,
    problems_dock) exist before this is made; the later panels' docks are made here."""

    def __init__(self, window: QMainWindow):
        self.window = window
        self.docks = {name: dock_widget(window, title, name, _loading())
                      for name, title in LATER_PANELS}
        self.restored = False
        self._default_state = QByteArray()

    def arrange_default(self) -> None:
        """Every panel in its default place; kept for Reset Layout."""
        place = DockPlacer(self.window, self._all())
        self._place(place)
        self._size(place)
        self._default_state = self.window.saveState(LAYOUT_VERSION)

    def shown(self) -> None:
        """The window is shown for the first time: the default sizes hold now (not before,
        when the window had no size), unless the saved layout was restored."""
        if not self.restored:
            self._size(DockPlacer(self.window, self._all()))

    def fill(self, name: str, widget) -> QDockWidget:
        """Put a later panel's contents in its dock (where it already is)."""
        dock = self.docks[name]
        old = dock.widget()
        dock.setWidget(widget)
        if old is not None:
            old.deleteLater()
        return dock

    def unavailable(self, text: str) -> None:
        """The later panels will not be filled: each that still waits says `text` instead."""
        for dock in self.docks.values():
            label = dock.widget()
            if isinstance(label, QLabel) and label.objectName() == "panel_loading":
                label.setText(text)
                label.setWordWrap(True)
                label.setStyleSheet("color: #b91c1c; padding: 12px;")

    def save(self) -> None:
        """Keep the window's geometry and panel layout for the next start."""
        settings, w = paths.settings(), self.window
        settings.setValue("window/geometry", w.saveGeometry())
        settings.setValue("window/state", w.saveState(LAYOUT_VERSION))

    def restore(self) -> bool:
        """Put the window and its panels back where they were when it last closed; True if the
        saved panel layout was used. A panel that the saved layout does not know (new since)
        goes to its default place beside the others; an unreadable saved layout is ignored."""
        settings, w = paths.settings(), self.window
        geometry = _layout_bytes(settings.value("window/geometry"))
        state = _layout_bytes(settings.value("window/state"))
        if geometry is not None:
            w.restoreGeometry(geometry)
        if state is None or not w.restoreState(state, LAYOUT_VERSION):
            return False
        self.restored = True
        saved = bytes(state.data())        # a dock's name is stored as UTF-16 in the state
        new = [d for name, d in self.docks.items() if name.encode("utf-16-be") not in saved]
        if new:
            place = DockPlacer(w, new)
            self._place(place)
            self._size(place)
        return True

    def reset(self) -> None:
        """Every panel docked, shown and in its default place; the window keeps its size."""
        w = self.window
        layout = w.layout()
        constraint = layout.sizeConstraint()
        layout.setSizeConstraint(QLayout.SetNoConstraint)     # no growing on the way there
        w.restoreState(self._default_state, LAYOUT_VERSION)
        for dock in w.findChildren(QDockWidget, options=Qt.FindDirectChildrenOnly):
            if dock.isFloating():
                dock.setFloating(False)
            if dock.isHidden():
                dock.show()
        place = DockPlacer(w, self._all())
        self._place(place)
        self._size(place)
        layout.setSizeConstraint(constraint)

    def _all(self) -> list[QDockWidget]:
        w = self.window
        return [w.palette_dock, w.inspector_dock, w.problems_dock, *self.docks.values()]

    def _place(self, place: DockPlacer) -> None:
        """The default places: the palette on the left; the Inspector on the right with
        Training as its tab, Diagnostics below them with Problems as its tab; loss,
        gradients and activations side by side along the bottom with the other plots and
        the runs tabbed behind them."""
        w, d = self.window, self.docks
        place.add(Qt.LeftDockWidgetArea, w.palette_dock)
        place.add(Qt.RightDockWidgetArea, w.inspector_dock)
        place.add(Qt.BottomDockWidgetArea, w.problems_dock)
        place.add(Qt.BottomDockWidgetArea, d["dash_loss"])
        place.split(d["dash_loss"], d["dash_gradients"], Qt.Horizontal)
        place.split(d["dash_gradients"], d["dash_activations"], Qt.Horizontal)
        for a, b in DASHBOARD_TABS:
            place.tabify(d[a], d[b])
        place.add(Qt.BottomDockWidgetArea, d["runs_dock"])
        place.tabify(d["dash_loss"], d["runs_dock"])
        for name in ("dash_loss", "dash_gradients", "dash_activations"):
            place.raise_(d[name])
        place.raise_(d["dash_loss"], owner=d["runs_dock"])
        diagnostics = d["diagnostics_dock"]
        place.add(Qt.RightDockWidgetArea, diagnostics)
        place.split(w.inspector_dock, diagnostics, Qt.Vertical)
        place.tabify(w.inspector_dock, d["training_dock"])
        place.tabify(diagnostics, w.problems_dock, owner=diagnostics)
        place.raise_(w.inspector_dock, owner=d["training_dock"])
        place.raise_(w.problems_dock, owner=diagnostics)

    def _size(self, place: DockPlacer) -> None:
        """The default sizes (the right column as wide as the Training panel's form wants)."""
        w, d = self.window, self.docks
        place.resize([w.palette_dock, w.inspector_dock], [210, 380], Qt.Horizontal)
        place.resize([d["dash_loss"]], [330], Qt.Vertical)
        place.resize([d["training_dock"], d["diagnostics_dock"]], [560, 240], Qt.Vertical)


def _loading() -> QLabel:
    label = QLabel(LOADING)
    label.setAlignment(Qt.AlignCenter)
    label.setObjectName("panel_loading")
    label.setStyleSheet("color: #6b7280;")
    return label
