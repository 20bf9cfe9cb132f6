"""Where the window's panels go: the default places, the layout saved when the window closes
and restored at the next start, and View → Reset Layout.

The panels whose contents need PyTorch (training, diagnostics, the dashboard plots, the runs)
are filled in a few seconds after the window first paints, but their docks exist from the
start, in their places, saying that they are loading: the window is laid out once, and the
saved layout is restored for every panel at once. `fill(name, widget)` puts a panel's contents
in its dock.
"""
from __future__ import annotations

import shiboken6
from PySide6.QtCore import QByteArray, QEvent, QObject, QPoint, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QLabel, QLayout, QMainWindow, QTabBar

from . import paths

LAYOUT_VERSION = 0     # raise when the panels change so much that saved layouts should be dropped
LATER_PANELS = (       # (dock object name, title) of the panels filled after the first paint
    ("dash_loss", "Loss"), ("dash_accuracy", "Accuracy"), ("dash_gradients", "Gradients"),
    ("dash_gradient_map", "Gradient map"), ("dash_activations", "Activations"),
    ("dash_pre_training", "Pre-training"), ("dash_decision_boundary", "Decision boundary"),
    ("dash_filters", "Filters"), ("dash_confusion", "Confusion"),
    ("training_dock", "Training"), ("diagnostics_dock", "Diagnostics"), ("runs_dock", "Runs"),
    ("dash_through_time", "Through time"))
BOTTOM_GROUPS = (   # the plots along the bottom, side by side: each group's docks are tabs
    ("dash_loss", "dash_accuracy", "dash_pre_training", "runs_dock", "dash_confusion"),
    ("dash_gradients", "dash_gradient_map", "dash_filters"),
    ("dash_activations", "dash_decision_boundary"))
TAB_PADDING = 34        # a dock tab's width beyond its title's text
LOADING = "Loading PyTorch…"
PREFERRED_SIZE = QSize(1360, 860)      # the first window's size where the screen has room
FRAME = QSize(8, 40)                   # a title bar and borders, before the window manager says
RIGHT_WIDTH = 380                      # the Inspector/Training column: the Training form's width
WIDE_SCREEN = 1280     # from this screen width on, the right column runs the window's full height


def available_geometry(window: QMainWindow) -> QRect:
    """The free area (less task bars and panels) of the screen the window opens on."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return QRect(QPoint(), PREFERRED_SIZE + FRAME)
    return screen.availableGeometry()


def first_frame(available: QRect, preferred: QSize = PREFERRED_SIZE) -> QRect:
    """Where a first window's frame goes: around the preferred size, no larger than the
    screen's free area, centred in that area."""
    rect = QRect(QPoint(), (preferred + FRAME).boundedTo(available.size()))
    rect.moveCenter(available.center())
    return rect


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
        """Tab `dock` behind `first`; `owner`, when given, is the new dock the step is for.
        A dock tabbed with others is taken out of their group first: since Qt 6.12,
        tabifyDockWidget leaves a dock that is a tab elsewhere where it is."""
        w = self.window
        if (dock if owner is None else owner) not in self.new:
            return
        others = w.tabifiedDockWidgets(dock)
        if first in others:
            return
        if others:
            w.addDockWidget(w.dockWidgetArea(first), dock)
        w.tabifyDockWidget(first, dock)

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
        self.screen_area = available_geometry(window)

    def fit_to_screen(self) -> None:
        """Size and place the window to fit the free area of its screen (a 1366×768 laptop's
        as well as a large monitor's); a saved geometry, restored later, replaces this."""
        frame = first_frame(self.screen_area)
        self.window.resize(frame.size() - FRAME)
        self.window.move(frame.topLeft())

    def arrange_default(self) -> None:
        """Every panel in its default place; kept for Reset Layout (with the corners). On a
        wide screen the right column takes the bottom-right corner, so that the Inspector
        and Training panels have the window's height; on a narrower one (1024 pixels) the
        plots take the whole width, so that the window fits."""
        wide = self.screen_area.width() >= WIDE_SCREEN
        self.window.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea if wide
                              else Qt.BottomDockWidgetArea)
        place = DockPlacer(self.window, self._all())
        self._place(place)
        self._size(place)
        self._default_state = self.window.saveState(LAYOUT_VERSION)

    def shown(self) -> None:
        """The window is shown for the first time: the default sizes hold now (not before,
        when the window had no size), unless the saved layout was restored."""
        if not self.restored:
            self._size(DockPlacer(self.window, self._all()))
        self.tidier = TabBarTidier(self.window)

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
        restored = w.restoreState(self._default_state, LAYOUT_VERSION)
        for dock in w.findChildren(QDockWidget, options=Qt.FindDirectChildrenOnly):
            if dock.isFloating():
                dock.setFloating(False)
            if dock.isHidden():
                dock.show()
        place = DockPlacer(w, self._all())
        if not restored:
            self._place(place)
        self._size(place)
        layout.setSizeConstraint(constraint)

    def _all(self) -> list[QDockWidget]:
        w = self.window
        return [w.palette_dock, w.inspector_dock, w.problems_dock, *self.docks.values()]

    def _place(self, place: DockPlacer) -> None:
        """The default places: the palette on the left; the Inspector on the right with
        Training as its tab, Diagnostics below them with Problems and Through time as its
        tabs; loss, gradients and activations side by side along the bottom with the other
        plots and the runs tabbed behind them."""
        w, d = self.window, self.docks
        place.add(Qt.LeftDockWidgetArea, w.palette_dock)
        place.add(Qt.RightDockWidgetArea, w.inspector_dock)
        place.add(Qt.BottomDockWidgetArea, w.problems_dock)
        tops = [d[group[0]] for group in BOTTOM_GROUPS]
        place.add(Qt.BottomDockWidgetArea, tops[0])
        for left, right in zip(tops, tops[1:]):         # split before tabbing (Qt tabs a
            place.split(left, right, Qt.Horizontal)     # dock split from a tabbed one)
        for top, group in zip(tops, BOTTOM_GROUPS):
            for name in group[1:]:
                place.tabify(top, d[name])
            for name in group[1:]:
                place.raise_(top, owner=d[name])
        diagnostics = d["diagnostics_dock"]
        place.add(Qt.RightDockWidgetArea, diagnostics)
        place.split(w.inspector_dock, diagnostics, Qt.Vertical)
        place.tabify(w.inspector_dock, d["training_dock"])
        place.tabify(diagnostics, w.problems_dock, owner=diagnostics)
        place.tabify(diagnostics, d["dash_through_time"])   # beside the warnings it explains
        place.raise_(w.inspector_dock, owner=d["training_dock"])
        place.raise_(w.problems_dock, owner=diagnostics)
        place.raise_(w.problems_dock, owner=d["dash_through_time"])

    def _size(self, place: DockPlacer) -> None:
        """The default sizes, for the window's size: the right column as wide as the
        Training panel's form wants, the plots along the bottom (at most 38% of the height)
        each as wide as its tabs' titles and an equal share of the rest, the Inspector and
        Training panels 70% of the right column."""
        w, d = self.window, self.docks
        height = max(w.height(), 480)
        place.resize([w.palette_dock, w.inspector_dock], [190, RIGHT_WIDTH], Qt.Horizontal)
        bottom = min(330, int(height * 0.38))
        place.resize([d["dash_loss"]], [bottom], Qt.Vertical)
        full = w.corner(Qt.BottomRightCorner) == Qt.RightDockWidgetArea
        needs = [self._tabs_width(group) for group in BOTTOM_GROUPS]
        spare = max(0, w.width() - (RIGHT_WIDTH if full else 0) - sum(needs)) // len(needs)
        place.resize([d[group[0]] for group in BOTTOM_GROUPS], [n + spare for n in needs],
                     Qt.Horizontal)
        column = height - 60 - (0 if full else bottom)     # less the menu and status bars
        place.resize([d["training_dock"], d["diagnostics_dock"]],
                     [int(column * 0.7), column - int(column * 0.7)], Qt.Vertical)

    def _tabs_width(self, group) -> int:
        """How wide the tabs of a group of docks are, their titles not cut short."""
        fm = self.window.fontMetrics()
        return sum(fm.horizontalAdvance(self.docks[name].windowTitle()) + TAB_PADDING
                   for name in group)


class TabBarTidier(QObject):
    """Hides the tab bars that Qt leaves behind, shown with their old tabs where a group of
    docks was while a program arranged the docks (before the window was shown, or on Reset
    Layout): after each layout of the window, once the events of the moment are handled."""

    INSISTS = 3         # Qt showed a bar again after this many hides in a row: it is used

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window, self.pending = window, False
        self.hides: dict[int, int] = {}     # bar -> hides in a row (tidies that found it stray)
        window.installEventFilter(self)
        self.later()

    def eventFilter(self, obj, event) -> bool:
        if event.type() in (QEvent.LayoutRequest, QEvent.Resize):
            self.later()
        return False

    def later(self) -> None:
        if not self.pending:
            self.pending = True
            QTimer.singleShot(0, self, self.tidy)

    def tidy(self) -> list[QTabBar]:
        """Hide the stray tab bars (stray_tab_bars); the hidden ones are returned. A bar that
        Qt shows again at once, INSISTS times in a row, is one its layout uses (the lone tab
        of a group whose other docks are hidden): it is left alone rather than fought over,
        which would hide and show it at every turn of the event loop."""
        self.pending = False
        found = {shiboken6.getCppPointer(bar)[0]: bar for bar in stray_tab_bars(self.window)}
        self.hides = {key: self.hides.get(key, 0) + 1 for key in found}
        stray = [bar for key, bar in found.items() if self.hides[key] <= self.INSISTS]
        for bar in stray:
            bar.hide()
        return stray


def stray_tab_bars(window: QMainWindow) -> list[QTabBar]:
    """The window's shown dock tab bars that no group of docks uses. A bar in use sits
    against its group (below it, or above), as wide as it, and the group holds docks of the
    bar's tabs; Qt leaves bars that are not, shown with their old tabs where a group was,
    when docks are tabbed before the window is shown or rearranged by a program."""
    docks = {shiboken6.getCppPointer(d)[0]: d
             for d in window.findChildren(QDockWidget, options=Qt.FindDirectChildrenOnly)}
    stray = []
    for bar in window.findChildren(QTabBar, options=Qt.FindDirectChildrenOnly):
        if not bar.isVisible() or bar.count() == 0:
            continue
        tabs = [docks.get(bar.tabData(i)) for i in range(bar.count())]
        if not any(d is not None and not d.isFloating() and _against(bar.geometry(),
                                                                     d.geometry())
                   for d in tabs):
            stray.append(bar)
    return stray


def _against(b: QRect, d: QRect, slack: int = 2) -> bool:
    """Tab bar geometry `b` lies along dock geometry `d`'s bottom or top edge."""
    touching = abs(b.top() - d.bottom() - 1) <= slack or abs(d.top() - b.bottom() - 1) <= slack
    return (touching and abs(b.left() - d.left()) <= slack
            and abs(b.width() - d.width()) <= slack)


def _loading() -> QLabel:
    label = QLabel(LOADING)
    label.setAlignment(Qt.AlignCenter)
    label.setObjectName("panel_loading")
    label.setStyleSheet("color: #6b7280;")
    return label
