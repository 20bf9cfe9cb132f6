"""Where the window's panels go: the default places, the layout saved when the window closes
and restored at the next start, docks created after the start (the training docks) put back
in their saved places, and View → Reset Layout.
"""
from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtWidgets import QDockWidget, QLayout, QMainWindow

from . import paths

LAYOUT_VERSION = 0     # raise when the panels change so much that saved layouts should be dropped


class DockPlacer:
    """Puts docks created after `restore_layout()` in their default places, but only those in
    `new` (the docks the saved layout did not know): a step for any other dock does nothing,
    so a dock restored from the saved layout stays where the user left it."""

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


def _names(value) -> list[str]:
    """A saved list of names (QSettings gives a lone name as a string)."""
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [v for v in values if isinstance(v, str)]


def _layout_bytes(value) -> QByteArray | None:
    """A saved geometry or state as bytes; None for anything else (a hand-edited file)."""
    if isinstance(value, QByteArray) and not value.isEmpty():
        return value
    if isinstance(value, (bytes, bytearray)) and value:
        return QByteArray(bytes(value))
    return None


class PanelLayout:
    """The dock layout of `window`. `arrange_base()` puts the panels that exist from the start
    in their default places; `remember_default()` keeps that state for Reset Layout."""

    def __init__(self, window: QMainWindow, arrange_base):
        self.window, self.arrange_base = window, arrange_base
        self._lazy_layouts: list = []     # (docks, arrange) of docks added after the start
        self._raised: list[str] = []      # the saved layout's docks on top of their tabs
        self._unplaced: list = []         # (docks, arrange) waiting for place_lazy_docks()
        self._default_state = QByteArray()

    def remember_default(self) -> None:
        self._default_state = self.window.saveState(LAYOUT_VERSION)

    def save(self) -> None:
        """Keep the window's geometry and panel layout for the next start."""
        settings, w = paths.settings(), self.window
        settings.setValue("window/geometry", w.saveGeometry())
        settings.setValue("window/state", w.saveState(LAYOUT_VERSION))
        settings.setValue("window/raised", self._tabs_on_top())

    def restore(self) -> bool:
        """Put the window and its panels back where they were when it last closed; True if the
        saved panel layout was used. Panels created later (the training docks) go back to
        their saved places through `add_lazy_docks`. An unreadable saved layout is ignored."""
        settings, w = paths.settings(), self.window
        geometry = _layout_bytes(settings.value("window/geometry"))
        state = _layout_bytes(settings.value("window/state"))
        if geometry is not None:
            w.restoreGeometry(geometry)
        if state is None or not w.restoreState(state, LAYOUT_VERSION):
            return False
        self._raised = _names(settings.value("window/raised"))
        return True

    def add_lazy_docks(self, docks: list, arrange) -> None:
        """Dock widgets created after `restore()`, to be put in place by the next
        `place_lazy_docks()`. `arrange(place)` gives their default places through a
        DockPlacer; it runs again, for all of them, on View → Reset Layout."""
        self._unplaced.append((list(docks), arrange))

    def place_lazy_docks(self) -> None:
        """Each dock added since the last call that the saved layout knew goes back where it
        was (floating, hidden, tabbed, its size; all of them at once, before any layout pass,
        so that the saved sizes hold); the others go to their default places."""
        w = self.window
        batch, self._unplaced = self._unplaced, []
        w.layout().setEnabled(False)             # a layout pass per dock would lose sizes
        try:
            restored = [d for docks, _ in batch for d in docks if w.restoreDockWidget(d)]
        finally:
            w.layout().setEnabled(True)
        w.layout().activate()                    # the tab bars, before raising a tab
        for docks, arrange in batch:
            arrange(DockPlacer(w, [d for d in docks if d not in restored]))
        self._raise_saved_tabs(restored)
        self._lazy_layouts += batch

    def reset(self) -> None:
        """Every panel docked, shown and in its default place; the window keeps its size."""
        w = self.window
        layout = w.layout()
        constraint = layout.sizeConstraint()
        layout.setSizeConstraint(QLayout.SetNoConstraint)     # no growing on the way there
        w.restoreState(self._default_state, LAYOUT_VERSION)
        self._raised = []
        for dock in self._docks_here():
            if dock.isFloating():
                dock.setFloating(False)
            if dock.isHidden():
                dock.show()
        self.arrange_base()
        for docks, arrange in self._lazy_layouts:
            arrange(DockPlacer(w, docks))
        layout.setSizeConstraint(constraint)

    def _docks_here(self) -> list[QDockWidget]:
        return self.window.findChildren(QDockWidget, options=Qt.FindDirectChildrenOnly)

    def _tabs_on_top(self) -> list[str]:
        """The tabbed docks shown on top of their tabs (saveState keeps this too, but
        restoreDockWidget cannot use it for a dock created later), and the saved ones of the
        docks not created in this session."""
        docks = self._docks_here()
        names = {d.objectName() for d in docks}
        return [d.objectName() for d in docks if self.window.tabifiedDockWidgets(d)
                and not d.visibleRegion().isEmpty()] + [n for n in self._raised if n not in names]

    def _raise_saved_tabs(self, rejoined: list) -> None:
        """In each tab group that the `rejoined` docks are back in, put the tab that was on
        top when the window closed on top again."""
        for dock in rejoined:
            for d in (dock, *self.window.tabifiedDockWidgets(dock)):
                if d.objectName() in self._raised:
                    d.raise_()
                    break
