"""A live plot: named curves created once, fed with `setData` from buffers, with a hover
readout that names the curve nearest the pointer (drawn thicker meanwhile), a legend (inside
the plot, or beside it when the plot is too short), a log-x switch, a message instead of axes
while there is no data, and export of its data (CSV) and image (PNG).

Each curve is one PlotDataItem made when its series first appears. A refresh hands it the
series' envelope for the plot's pixel columns (series.envelope: each column's lowest and highest
value, so no spike is hidden), worked out again when a zoom or a resize changes the columns:
however long the history, a curve is drawn from about two points a pixel. pyqtgraph's own
'peak' downsampling is not used: it drops the newest points (those past its last whole block),
a block with a NaN (a diverged step) vanishes, and on a log axis it maps every point first.
Clip-to-view then hands the painter only the points in view.
"""
from __future__ import annotations

import html
import itertools
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import (QGraphicsItem, QGridLayout, QHBoxLayout, QLabel, QSizePolicy,
                               QToolButton, QVBoxLayout, QWidget)

from . import files
from .plot_scales import DecadeAxis, bounds, round_up
from .plot_widgets import NO_DATA, EmptyMessage, SideKey, show_data
from .series import csv_line, csv_series, envelope

pg.setConfigOptions(antialias=False, background="w", foreground="#374151")

PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#db2777",
           "#65a30d", "#4f46e5", "#b45309", "#0d9488", "#be123c", "#7c3aed", "#15803d"]
LEGEND_COLUMN_PX, LEGEND_ROW_PX = 110, 18     # least room one legend entry takes at 8 pt
LEGEND_SAMPLE_PX = 34        # an entry's line sample and the gaps beside its label
LEGEND_MARGIN_PX = 72        # the plot's width the legend cannot use (the left axis, margins)
MIN_COLUMNS = 256            # a hidden plot's envelope: as for this many pixels, until shown
STRESS_PX = 2                # how much thicker the curve pointed at is drawn
NEAR_PX = 40                 # the farthest a curve can be from the pointer to be named
RUN_STYLES = {"run": Qt.SolidLine, "random": Qt.SolidLine, "supervised": Qt.DashLine,
              "unsupervised": Qt.DotLine}


def pen(color, width: float = 1.0, style=Qt.SolidLine):
    p = pg.mkPen(QColor(color), width=width)
    p.setStyle(style)
    p.setCosmetic(True)
    return p


class LivePlot(QWidget):
    """A titled pyqtgraph plot with named curves. `set_curve(name, x, y)` creates the curve on
    first use and updates it afterwards; `curve_data(name)` reads it back. Until a curve
    has a point the plot shows `empty_text` and no axes."""

    def __init__(self, title: str, x_label: str, y_label: str, log_y: bool = False,
                 time_axis: bool = True, y_range: tuple | None = None,
                 y_floor: float | None = None, legend_at_bottom: bool = False,
                 empty_text: str = NO_DATA, parent=None):
        super().__init__(parent)
        self.title, self.time_axis = title, time_axis
        self.message, self.side_key = EmptyMessage(empty_text), SideKey()
        self.side_key.pointed.connect(self._point_at_key)
        self.has_data, self.stressed = True, []     # the curves drawn thicker, their pens
        self.widget = pg.PlotWidget(axisItems={side: DecadeAxis(side)
                                               for side in ("left", "bottom")})
        self.widget.setObjectName(title)
        self.plot = self.widget.getPlotItem()
        self.plot.setLabel("bottom", x_label)
        self.plot.setLabel("left", y_label)
        self.plot.showGrid(x=False, y=False)     # grid lines cost a repaint of every axis
        self.plot.setLogMode(x=False, y=log_y)
        self.plot.setDownsampling(auto=False)         # the curves are envelopes already
        self.plot.setClipToView(True)
        self.legend = self.plot.addLegend(offset=(-8, -8 if legend_at_bottom else 8),
                                          labelTextSize="8pt",
                                          brush=pg.mkBrush(255, 255, 255, 200))
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.raw: dict[str, tuple] = {}
        self._columns: dict[str, tuple] = {}  # what each curve's envelope is for (_shape)
        self._legend_grid = (0, 0)          # (entries, columns) the legend is laid out for
        self._key: list[tuple] = []         # set_key's entries, and their sample items
        self._key_items: list[pg.PlotDataItem] = []
        self.readout = QLabel(" ")
        self.readout.setObjectName("readout")
        self.readout.setTextFormat(Qt.RichText)
        self.readout.setStyleSheet("color: #4b5563; font-size: 11px;")
        self.readout.setTextInteractionFlags(Qt.TextSelectableByMouse)
        # a long line (many curves) is cut off at the plot's width, never widening the window
        self.readout.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.readout.setMinimumWidth(40)
        for side in ("left", "bottom"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        if log_y:
            self.plot.getAxis("left").setStyle(maxTextLevel=0)     # decades only
        self.plot.getAxis("left").setWidth(54)          # tick labels never re-layout the plot
        for item in (self.legend, self.plot.getAxis("left"), self.plot.getAxis("bottom")):
            item.setCacheMode(QGraphicsItem.DeviceCoordinateCache)   # text painted once
        # The view follows the data in round steps (1, 2, 5 x 10^k; whole decades on a log
        # axis), set once per refresh: the axes are redrawn only when the data passes a step,
        # and no auto-range pass repaints the plot a second time. A manual zoom or pan stops
        # the following; the plot's "A" button starts it again.
        self.plot.enableAutoRange(x=False, y=False)
        self.y_range, self.y_floor = y_range, y_floor
        self.follow, self._view = True, None
        if y_range is not None:
            self.plot.setYRange(*y_range, padding=0.02)
        elif log_y:
            self.plot.setYRange(-4, 0, padding=0.02)   # empty: decades, not 2..9 crowded
        self.plot.vb.sigRangeChangedManually.connect(self._manual)
        self.plot.vb.sigXRangeChanged.connect(self._reshape)
        self.plot.vb.sigResized.connect(self._reshape)
        self.plot.autoBtn.clicked.connect(self._auto)
        self._layout()
        self._show_data(False)
        self.widget.scene().sigMouseMoved.connect(self._hover)

    def _layout(self) -> None:
        self.tools = bar = QHBoxLayout()
        bar.setContentsMargins(4, 0, 4, 0)
        bar.addWidget(self.readout, 1)
        for text, tip, slot in (("CSV", "Export this plot's data to a CSV file", self.ask_csv),
                                ("PNG", "Export this plot as a PNG image", self.ask_png)):
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.clicked.connect(slot)
            bar.addWidget(b)
        grid = QGridLayout()                  # the message lies over the plot, the key beside
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(0)
        grid.addWidget(self.widget, 0, 0)
        grid.addWidget(self.message, 0, 0)
        grid.addWidget(self.side_key, 0, 1)
        grid.setColumnStretch(0, 1)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addLayout(grid, 1)
        box.addLayout(bar)

    def _show_data(self, on: bool) -> None:
        """Axes and legend once there is data; before, the message alone."""
        if show_data(self, on):
            self._fit_legend()

    # ------------------------------------------------------------------ curves
    def curve(self, name: str, color, width: float = 1.0, style=Qt.SolidLine,
              symbol: str | None = None, legend: bool = True) -> pg.PlotDataItem:
        item = self.curves.get(name)
        if item is None:
            item = pg.PlotDataItem(pen=pen(color, width, style), name=name if legend else None,
                                   symbol=symbol, symbolSize=6, symbolBrush=QColor(color),
                                   symbolPen=None, connect="finite", clipToView=True)
            self.plot.addItem(item)
            self.curves[name] = item
            self._fit_legend()
        return item

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_legend()

    def _fit_legend(self) -> None:
        """As many legend columns (as wide as the longest name) as the plot's width takes, so
        that it needs few rows. When even so it would cover more than a third of the plot's
        height (a short plot in a docked stack) or not fit its width, the entries are listed
        beside the plot instead (scrolling if many), in at most a third of its width: a plot
        too narrow even for that has hovering alone, which names the curve pointed at."""
        entries = len(self.legend.items)
        if not entries or not self.has_data:
            self.legend.setVisible(False)
            self.side_key.setVisible(False)
            return
        widest = max(label.boundingRect().width() for _, label in self.legend.items)
        column = max(LEGEND_COLUMN_PX, widest + LEGEND_SAMPLE_PX)
        room = self.width() - LEGEND_MARGIN_PX        # the key beside it not counted
        columns = max(1, min(entries, int(room // column)))
        rows = -(-entries // columns)
        if self._legend_grid != (entries, columns):
            self._legend_grid = (entries, columns)
            self._lay_out_legend(columns)
        view = self.plot.vb.boundingRect()
        height = view.height() if view.height() > 0 else self.widget.height()
        needed = max(self.legend.boundingRect().height(), rows * LEGEND_ROW_PX)
        inside = needed <= height / 3 and column <= room
        self.legend.setVisible(inside)
        if not inside:
            self.side_key.set_entries([(label.text, sample.item.opts["pen"])
                                       for sample, label in self.legend.items])
        self.side_key.setVisible(not inside and self.side_key.fit(self.width() // 3))

    def _lay_out_legend(self, columns: int) -> None:
        """Entries row by row, `columns` to a row. pyqtgraph's own re-layout (setColumnCount,
        and addItem after it) places entries by the grid's column count, which never shrinks,
        so after a narrowing some entries were put on top of others."""
        legend, grid = self.legend, self.legend.layout
        for i in range(grid.count() - 1, -1, -1):
            grid.removeAt(i)
        for k, (sample, label) in enumerate(legend.items):
            row, col = divmod(k, columns)
            grid.addItem(sample, row, 2 * col, alignment=Qt.AlignVCenter)
            grid.addItem(label, row, 2 * col + 1)
        legend.columnCount, legend.rowCount = columns, -(-len(legend.items) // columns)
        legend.updateSize()

    def set_curve(self, name: str, x, y, color, **style) -> None:
        """Show (x, y) as curve `name`, drawn as its envelope for the plot's pixel columns
        (see the module's docstring); the readout and the CSV export use the series itself."""
        self.curve(name, color, **style)
        self.raw[name] = (np.asarray(x), np.asarray(y))
        if len(x) and not self.has_data:
            self._show_data(True)
        self._draw_curve(name)

    def _draw_curve(self, name: str) -> None:
        x, y = self.raw[name]
        self._columns[name] = columns, log_x = self._shape(x)
        shown = envelope(x, y, columns, log_x)
        if self.plot.ctrl.logYCheck.isChecked() and (shown[1] <= 0).any():
            # no zero on a log axis: each column's lowest positive value
            shown = envelope(x, np.where(y > 0, y, np.nan), columns, log_x)
        self.curves[name].setData(*shown)

    def _shape(self, x) -> tuple[int, bool]:
        """What a curve's envelope depends on: its pixel columns, and whether x is in log."""
        return self.columns_for(x), self.plot.ctrl.logXCheck.isChecked()

    def columns_for(self, x) -> int:
        """The pixel columns that x[0]..x[-1] takes, rounded up to a power of two (so that
        small resizes, pans and a growing run reuse the envelope): the view's width while it
        follows the data, more when zoomed in."""
        width = max(MIN_COLUMNS, self.plot.vb.width())
        if not self.follow and len(x) > 1:
            lo, hi = float(x[0]), float(x[-1])
            if self.plot.ctrl.logXCheck.isChecked() and lo > 0:
                lo, hi = math.log10(lo), math.log10(hi)
            (v0, v1), _ = self.plot.vb.viewRange()
            width *= max(1.0, (hi - lo) / max(v1 - v0, 1e-12))
        return 1 << math.ceil(math.log2(width))

    def _reshape(self, *_) -> None:
        """The view's width in pixels or data changed: curves whose envelope was for other
        columns are drawn again from their series."""
        for name, (x, _) in self.raw.items():
            if self._columns.get(name) != self._shape(x):
                self._draw_curve(name)

    def _auto(self, *_) -> None:
        """The plot's "A" button: follow the data again, now (not at the next refresh)."""
        self.fit_view()

    def _manual(self, *_) -> None:
        self.follow = False
        self._reshape()                        # zoomed in: finer columns

    def fit_view(self) -> None:
        """Set the view to round bounds around every curve's data (see __init__)."""
        if any(self.plot.vb.state["autoRange"]):          # the "A" button: follow again
            self.plot.enableAutoRange(x=False, y=False)
            self.follow, self._view = True, None
        if not self.follow:
            return
        found = bounds([(i.xData, i.yData) for i in self.curves.values()],
                       self.plot.ctrl.logYCheck.isChecked())
        if found is None:
            return
        view = self._round(*found)
        if view != self._view:
            self._view = view
            x0, x1, y0, y1 = view
            log_x = self.plot.ctrl.logXCheck.isChecked()
            self.plot.vb.setXRange(*((np.log10(max(x0, 1)), np.log10(x1)) if log_x
                                     else (x0, x1)), padding=0.02)
            if self.y_range is None:
                self.plot.vb.setYRange(y0, y1, padding=0.04)

    def _round(self, x0, x1, y0, y1) -> tuple:
        if self.plot.ctrl.logYCheck.isChecked():        # whole decades, in log10 units
            return (x0, round_up(x1), float(np.floor(np.log10(y0))),
                    float(np.ceil(np.log10(y1))) if y1 > y0 else float(np.floor(
                        np.log10(y0))) + 1)
        low = self.y_floor if self.y_floor is not None else -round_up(-y0) if y0 < 0 else 0.0
        return (x0, round_up(x1), low, round_up(y1) if y1 > 0 else 1.0)

    def curve_data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The series shown as curve `name`, as given (not decimated, not log-mapped)."""
        x, y = self.raw.get(name, (None, None))
        return (np.asarray(x) if x is not None else np.empty(0),
                np.asarray(y) if y is not None else np.empty(0))

    def set_key(self, entries: list[tuple[str, str, object]]) -> None:
        """A legend of (name, colour, line style) entries standing for what the curves share
        (each layer's colour, each run's line style) instead of one entry per curve: with
        several runs overlaid that is a few entries, not runs x layers. The curves shown then
        have no entry of their own (`set_curve(..., legend=False)`)."""
        if entries == self._key:
            return
        for sample, _ in list(self.legend.items):
            if sample.item in self._key_items:
                self.legend.removeItem(sample.item)
        self._key = list(entries)
        self._key_items = [pg.PlotDataItem(pen=pen(colour, 2, style)) for _, colour, style in
                           entries]
        for item, (name, _, _) in zip(self._key_items, entries):
            self.legend.addItem(item, name)
        self._legend_grid = (0, 0)
        self._fit_legend()

    def empty(self) -> None:
        """Every curve kept (with its legend entry) but without data: cheaper than clear()
        between two runs of the same network."""
        self._stress([])
        for item in self.curves.values():
            item.setData([], [])
        self.raw.clear()
        self._columns.clear()
        self._view = None
        self.readout.setText(" ")
        self._show_data(False)

    def clear(self) -> None:
        self._stress([])
        for item in self.curves.values():
            self.plot.removeItem(item)
            self.legend.removeItem(item)
        for item in self._key_items:
            self.legend.removeItem(item)
        self._key, self._key_items = [], []
        self._legend_grid = (0, 0)
        self.curves.clear()
        self.raw.clear()
        self._columns.clear()
        self._view = None
        self.readout.setText(" ")
        self._show_data(False)

    def set_log_x(self, on: bool) -> None:
        if self.time_axis:
            self.plot.setLogMode(x=on, y=self.plot.ctrl.logYCheck.isChecked())
            self._reshape()                    # columns equal in log x, or again in x
            self._view = None
            self.fit_view()

    # ------------------------------------------------------------------ hover readout
    def _hover(self, pos) -> None:
        vb = self.plot.vb
        if not self.raw or not vb.sceneBoundingRect().contains(pos):
            self._stress([])
            return
        x = vb.mapSceneToView(pos).x()
        if self.plot.ctrl.logXCheck.isChecked():
            x = 10 ** x
        nearest = self.nearest_curve(pos)
        self._stress([nearest] if nearest else [])
        self.readout.setText(self._readout_html(x, nearest))

    def _points(self, x: float) -> tuple[float | None, list[tuple[str, int]]]:
        """(the x shown, [(curve, index of its point nearest to x)])."""
        points, at = [], None
        for name in self.curves:
            xs, _ = self.curve_data(name)
            if not len(xs):
                continue
            i = int(np.clip(np.searchsorted(xs, x), 0, len(xs) - 1))
            if i > 0 and abs(xs[i - 1] - x) < abs(xs[i] - x):
                i -= 1
            at = xs[i] if at is None else at
            points.append((name, i))
        return at, points

    def readout_at(self, x: float) -> str:
        """'x: name value · name value' for the point of each curve nearest to x."""
        at, points = self._points(x)
        if at is None:
            return " "
        parts = [f"{name} {self.raw[name][1][i]:.4g}" for name, i in points
                 if np.isfinite(self.raw[name][1][i])]
        return f"{self.plot.getAxis('bottom').labelText or 'x'} {at:.6g}: " + " · ".join(parts)

    def _readout_html(self, x: float, nearest: str | None) -> str:
        """readout_at's line with the curve pointed at first, in its colour and bold."""
        at, points = self._points(x)
        if at is None:
            return " "
        parts = []
        for name, i in sorted(points, key=lambda p: p[0] != nearest):
            y = self.raw[name][1][i]
            if not np.isfinite(y):
                continue
            text = html.escape(f"{name} {y:.4g}")
            if name == nearest:
                colour = self.curves[name].opts["pen"].color().name()
                text = f'<b style="color:{colour}">━ {text}</b>'
            parts.append(text)
        label = html.escape(self.plot.getAxis("bottom").labelText or "x")
        return f"{label} {at:.6g}: " + " · ".join(parts)

    def nearest_curve(self, pos) -> str | None:
        """The curve whose point at the pointer's x lies nearest to scene point `pos`, if
        within NEAR_PX pixels."""
        vb = self.plot.vb
        log_x = self.plot.ctrl.logXCheck.isChecked()
        log_y = self.plot.ctrl.logYCheck.isChecked()
        x = vb.mapSceneToView(pos).x()
        best, best_px = None, NEAR_PX
        for name, i in self._points(10 ** x if log_x else x)[1]:
            px, py = self.raw[name][0][i], self.raw[name][1][i]
            if not np.isfinite(py) or log_y and py <= 0 or log_x and px <= 0:
                continue
            point = vb.mapViewToScene(QPointF(np.log10(px) if log_x else px,
                                              np.log10(py) if log_y else py))
            distance = math.hypot(point.x() - pos.x(), point.y() - pos.y())
            if distance < best_px:
                best, best_px = name, distance
        return best

    def _stress(self, names: list[str]) -> None:
        """Draw these curves thicker (and the others as they were)."""
        if [n for n, _ in self.stressed] == names:
            return
        for name, original in self.stressed:
            if name in self.curves:
                self.curves[name].setPen(original)
        self.stressed = []
        for name in names:
            item = self.curves[name]
            original = QPen(item.opts["pen"])
            thick = QPen(original)
            thick.setWidthF(original.widthF() + STRESS_PX)
            item.setPen(thick)
            self.stressed.append((name, original))

    def _point_at_key(self, entry: str | None) -> None:
        """An entry of the key beside the plot is pointed at: stress its curves (a layer's
        in every run, or every curve of a run)."""
        self._stress([] if entry is None else [
            n for n in self.curves if n == entry or n.endswith(": " + entry)
            or n.startswith(entry + ": ")])

    def leaveEvent(self, event) -> None:
        super().leaveEvent(event)
        self._stress([])

    # ------------------------------------------------------------------ export
    def ask_csv(self) -> None:
        files.ask_export(self, self.title, _stem(self.title), "csv", self.export_csv)

    def ask_png(self) -> None:
        files.ask_export(self, self.title, _stem(self.title), "png", self.export_png)

    def export_csv(self, path: str) -> None:
        """One row per point: series, x, y (curves of different lengths fit one table),
        formatted and written a few thousand rows at a time (files.write_pieces)."""
        header = csv_line(["series", self.plot.getAxis("bottom").labelText or "x",
                           self.plot.getAxis("left").labelText or "y"])
        files.write_pieces(path, itertools.chain([header], itertools.chain.from_iterable(
            csv_series(name, *self.curve_data(name)) for name in self.curves)))

    def export_png(self, path: str) -> None:
        from pyqtgraph.exporters import ImageExporter
        exporter = ImageExporter(self.plot)
        exporter.parameters()["width"] = max(800, int(self.widget.width()))
        if not exporter.export(path):
            raise OSError(f"could not write {path}")


def _stem(title: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in title.lower()).strip("_")
