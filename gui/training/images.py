"""Image views of the dashboard: the gradient heat map (layers x time), the decision boundary
of 2-D data, convolution filters, and the confusion matrix. Each is one ImageItem created once
and refreshed with `setImage`; each exports its data (CSV) and image (PNG). Until it has data
a view shows a message and no axes."""
from __future__ import annotations

import csv
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (QComboBox, QGraphicsRectItem, QGridLayout, QHBoxLayout, QLabel,
                               QSizePolicy, QToolButton, QVBoxLayout, QWidget)

from engine import filter_tiles

from . import files
from .plot_widgets import (NO_DATA, NO_DATA_BACK, EmptyMessage, NoDataKey, hatch_brush,
                           show_data, text_colour)
from .plots import PALETTE, _stem

HEAT_COLUMNS = 400


class ImageView(QWidget):
    """A plot holding one ImageItem, with a readout line and CSV/PNG buttons."""

    def __init__(self, title: str, x_label: str = "", y_label: str = "",
                 empty_text: str = NO_DATA, parent=None):
        super().__init__(parent)
        self.title = title
        self.message = EmptyMessage(empty_text)
        self.has_data = True
        self.widget = pg.PlotWidget()
        self.plot = self.widget.getPlotItem()
        self.plot.setLabel("bottom", x_label)
        self.plot.setLabel("left", y_label)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.matrix = np.zeros((0, 0))
        self.readout = QLabel(" ")
        self.readout.setStyleSheet("color: #4b5563; font-size: 11px;")
        # a long line (many curves) is cut off at the plot's width, never widening the window
        self.readout.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.readout.setMinimumWidth(40)
        self.tools = QHBoxLayout()
        self.tools.setContentsMargins(4, 0, 4, 0)
        self.tools.addWidget(self.readout, 1)
        for text, slot in (("CSV", self._ask_csv), ("PNG", self._ask_png)):
            b = QToolButton()
            b.setText(text)
            b.setAutoRaise(True)
            b.clicked.connect(slot)
            self.tools.addWidget(b)
        grid = QGridLayout()                            # the message lies over the plot
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.widget, 0, 0)
        grid.addWidget(self.message, 0, 0)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addLayout(grid, 1)
        box.addLayout(self.tools)
        ImageView._show_data(self, False)           # a subclass's parts are not made yet
        self.widget.scene().sigMouseMoved.connect(self._hover)

    def _show_data(self, on: bool) -> None:
        """Axes once there is data; before, the message alone."""
        show_data(self, on)

    def clear(self) -> None:
        """Back to no data: the message, no image."""
        self.matrix = np.zeros((0, 0))
        self.image.clear()
        self.readout.setText(" ")
        self._show_data(False)

    def _hover(self, pos) -> None:
        if self.matrix.size and self.plot.vb.sceneBoundingRect().contains(pos):
            p = self.image.mapFromScene(pos)
            r, c = int(p.y()), int(p.x())
            if 0 <= r < self.matrix.shape[0] and 0 <= c < self.matrix.shape[1]:
                self.readout.setText(self.describe(r, c))

    def describe(self, row: int, col: int) -> str:
        return f"row {row}, column {col}: {self.matrix[row, col]:.4g}"

    def _ask_csv(self) -> None:
        files.ask_export(self, self.title, _stem(self.title), "csv", self.export_csv)

    def _ask_png(self) -> None:
        files.ask_export(self, self.title, _stem(self.title), "png", self.export_png)

    def export_csv(self, path: str) -> None:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([[f"{v:.8g}" for v in row] for row in self.matrix])

    def export_png(self, path: str) -> None:
        from pyqtgraph.exporters import ImageExporter
        exporter = ImageExporter(self.plot)
        exporter.parameters()["width"] = max(600, int(self.widget.width()))
        if not exporter.export(path):
            raise OSError(f"could not write {path}")


class HeatMap(ImageView):
    """log10 of a per-layer statistic, one row per layer, binned over time. A cell without a
    value (the layer not probed there yet, or not at all) is hatched grey, a look no value of
    the colour map has; a value of exactly 0 takes the lowest colour."""

    def __init__(self, title: str = "Gradient map"):
        super().__init__(title, "step", "")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.bar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), interactive=False,
                                   width=12, label="log10 norm")
        self.bar.setImageItem(self.image, insert_in=self.plot)
        self.plot.invertY(True)
        self.back = [QGraphicsRectItem(), QGraphicsRectItem()]   # behind the transparent NaNs
        for item, brush, z in zip(self.back, (pg.mkBrush(NO_DATA_BACK), hatch_brush()),
                                  (-2, -1)):
            item.setPen(pg.mkPen(None))
            item.setBrush(brush)
            item.setZValue(z)
            self.plot.addItem(item)
        self.no_data = NoDataKey("no data", "Hatched cells: no value recorded for that layer "
                                 "at those steps (not probed yet, or the layer was added "
                                 "later). They are not small gradients.")
        self.tools.insertWidget(1, self.no_data)
        self.rows: list[str] = []
        self.span = (0.0, 1.0)
        self.has_data = True
        self.clear()

    def _show_data(self, on: bool) -> None:
        super()._show_data(on)
        self.bar.setVisible(on)
        for item in self.back:
            item.setVisible(on)

    def show(self, rows: list[str], series: list[tuple[np.ndarray, np.ndarray]]) -> None:
        self.rows = rows
        if not series or not any(len(x) for x, _ in series):
            self.clear()
            return
        x0 = min(float(x[0]) for x, _ in series if len(x))
        x1 = max(float(x[-1]) for x, _ in series if len(x))
        cols = int(min(HEAT_COLUMNS, max(1, max(len(x) for x, _ in series))))
        self.matrix = np.vstack([_binned(x, y, x0, x1, cols) for x, y in series])
        finite = self.matrix[np.isfinite(self.matrix)]
        levels = (float(finite.min()), float(finite.max()) + 1e-9) if finite.size else (0, 1)
        shown = np.where(np.isneginf(self.matrix), levels[0], self.matrix)   # NaN: see-through
        self.image.setImage(shown, levels=levels)
        self.bar.setLevels(levels)
        self.span = (x0, max(x1, x0 + 1))
        rect = QRectF(x0, 0, self.span[1] - x0, len(rows))
        self.image.setRect(rect)
        for item in self.back:
            item.setRect(rect)
        self.no_data.setVisible(bool(np.isnan(self.matrix).any()))
        axis = self.plot.getAxis("left")
        axis.setTicks([[(i + 0.5, name) for i, name in enumerate(rows)]])
        self._show_data(True)

    def clear(self) -> None:
        super().clear()
        self.no_data.setVisible(False)

    def describe(self, row: int, col: int) -> str:
        cols = self.matrix.shape[1]
        step = self.span[0] + (col + 0.5) / cols * (self.span[1] - self.span[0])
        value = self.matrix[row, col]
        return f"{self.rows[row]} near step {step:,.0f}: " + (
            "no data" if np.isnan(value) else "norm 0" if np.isneginf(value)
            else f"norm {10 ** value:.3g}")


def _binned(x: np.ndarray, y: np.ndarray, x0: float, x1: float, cols: int) -> np.ndarray:
    """Mean of log10(y) in `cols` equal bins over [x0, x1]; NaN where a bin has no value,
    -inf where its values are 0. A long series is read every k-th point (still about 50
    points a column)."""
    stride = max(1, len(x) // (50 * cols))
    x, y = x[::stride], y[::stride]
    out = np.full(cols, np.nan)
    ok = np.isfinite(y) & (y >= 0)
    if not ok.any():
        return out
    idx = np.clip(((x[ok] - x0) / max(x1 - x0, 1e-9) * cols).astype(int), 0, cols - 1)
    with np.errstate(divide="ignore"):
        logs = np.log10(y[ok])
    sums = np.bincount(idx, weights=logs, minlength=cols)
    counts = np.bincount(idx, minlength=cols)
    filled = counts > 0
    out[filled] = sums[filled] / counts[filled]
    return out


class BoundaryView(ImageView):
    """The class chosen at each point of the input plane (colour; paler where unsure) and a
    sample of the data points in their class colours."""

    def __init__(self):
        super().__init__("Decision boundary", "x₁", "x₂", NO_DATA + "\n\nDrawn during "
                         "training for data with two inputs.")
        self.points = pg.ScatterPlotItem(size=5, pen=pg.mkPen("#ffffff", width=0.6))
        self.plot.addItem(self.points)
        self.plot.setAspectLocked(False)
        self.step = 0
        self.extent = (0.0, 1.0, 0.0, 1.0)

    def show(self, event) -> None:
        if event is None:
            return
        probs = event.probs
        colours = np.array([QColor(PALETTE[i % len(PALETTE)]).getRgbF()[:3]
                            for i in range(probs.shape[-1])])
        rgb = 0.45 + 0.55 * (probs @ colours)           # blended class colours, pale
        self.matrix = probs.argmax(-1).astype(float)
        self.image.setImage((np.clip(rgb, 0, 1) * 255).astype(np.uint8), levels=(0, 255))
        x0, x1, y0, y1 = event.extent
        self.extent = event.extent
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        brushes = [pg.mkBrush(QColor(PALETTE[int(c) % len(PALETTE)]).darker(115))
                   for c in event.labels]
        self.points.setData(event.points[:, 0], event.points[:, 1], brush=brushes)
        self.step = event.step
        self.readout.setText(f"after step {event.step:,}")
        self._show_data(True)

    def clear(self) -> None:
        super().clear()
        self.points.clear()

    def describe(self, row: int, col: int) -> str:
        return f"predicted class {int(self.matrix[row, col])} (step {self.step:,})"


class FiltersView(ImageView):
    """Each Conv2d layer's kernels as a grid: rows = output channels, columns = inputs (one
    input channel: the filters row by row)."""

    def __init__(self):
        super().__init__("Convolution filters", "input channel", "output channel",
                         NO_DATA + "\n\nShown for networks with Conv2d layers.")
        self.image.setColorMap(pg.colormap.get("CET-L1"))
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.choice = QComboBox()
        self.choice.setToolTip("The convolution layer whose filters are shown")
        self.choice.setSizeAdjustPolicy(QComboBox.AdjustToContents)   # filled after shown
        self.choice.currentIndexChanged.connect(lambda *_: self._draw())
        self.tools.insertWidget(0, self.choice)
        self.filters: dict[str, np.ndarray] = {}
        self.labels: dict[str, str] = {}

    def show(self, event, labels: dict[str, str]) -> None:
        if event is None:
            return
        self.filters, self.labels = event.filters, labels
        names = list(event.filters)
        if [self.choice.itemData(i) for i in range(self.choice.count())] != names:
            self.choice.blockSignals(True)
            self.choice.clear()
            for n in names:
                self.choice.addItem(labels.get(n, n), n)
            self.choice.blockSignals(False)
        self._draw()

    def clear(self) -> None:
        super().clear()
        self.filters = {}
        self.choice.clear()

    def _draw(self) -> None:
        node = self.choice.currentData()
        if node not in self.filters:
            return
        weights = self.filters[node]
        tiles = filter_tiles(weights)
        self.matrix = tiles
        self.image.setImage(np.nan_to_num(tiles, nan=1.0), levels=(0, 1))
        self._show_data(True)
        o, i, kh, kw = weights.shape
        name = self.labels.get(node, node)
        if i == 1:                       # one input channel: the filters in a grid
            self.readout.setText(f"{name}: {o} filters of {kh}x{kw}, row by row")
            self._label_axes("", "", [], [])
        else:
            self.readout.setText(f"{name}: {o} x {i} kernels of {kh}x{kw}")
            self._label_axes("input channel", "output channel", _centres(i, kw),
                             _centres(o, kh))

    def _label_axes(self, x_label: str, y_label: str, x_ticks: list, y_ticks: list) -> None:
        """Channel numbers at the kernels' centres (not pixel coordinates)."""
        self.plot.setLabel("bottom", x_label)
        self.plot.setLabel("left", y_label)
        self.plot.getAxis("bottom").setTicks([x_ticks])
        self.plot.getAxis("left").setTicks([y_ticks])


def _centres(count: int, size: int, most: int = 12) -> list[tuple[float, str]]:
    """(pixel centre, channel number) of `count` kernels of `size` pixels and a 1-pixel gap,
    at most `most` of them labelled (every k-th)."""
    step = max(1, math.ceil(count / most))
    return [(j * (size + 1) + size / 2, str(j)) for j in range(0, count, step)]


class ConfusionView(ImageView):
    """Counts of (true class, predicted class) on the validation data at an epoch's end."""

    def __init__(self):
        super().__init__("Confusion matrix", "predicted class", "true class",
                         NO_DATA + "\n\nShown for classification data, after each epoch.")
        self.colours = pg.colormap.get("CET-L6")
        self.image.setColorMap(self.colours)
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.texts: list[pg.TextItem] = []
        self.classes: list[str] = []
        self.epoch = 0

    def show(self, event) -> None:
        if event is None or event.epoch == self.epoch and self.matrix.shape == event.counts.shape:
            return
        counts = event.counts.astype(float)
        self.matrix, self.classes, self.epoch = counts, event.classes, event.epoch
        rows = counts.sum(1, keepdims=True)
        self.image.setImage(counts / np.where(rows > 0, rows, 1), levels=(0, 1))
        self.image.setRect(QRectF(0, 0, counts.shape[1], counts.shape[0]))
        ticks = [[(i + 0.5, c) for i, c in enumerate(self.classes)]]
        self.plot.getAxis("bottom").setTicks(ticks)
        self.plot.getAxis("left").setTicks(ticks)
        self._texts(counts)
        right = np.trace(counts) / max(1.0, counts.sum())
        self.readout.setText(f"epoch {event.epoch}: {right:.1%} on the diagonal")
        self._show_data(True)

    def clear(self) -> None:
        super().clear()
        self._texts(np.zeros((0, 0)))
        self.classes, self.epoch = [], 0

    def _texts(self, counts: np.ndarray) -> None:
        for t in self.texts:
            self.plot.removeItem(t)
        self.texts = []
        if counts.shape[0] > 12:
            return
        rows, bold = counts.sum(1, keepdims=True), QFont()
        bold.setBold(True)
        for r in range(counts.shape[0]):
            for c in range(counts.shape[1]):
                frac = counts[r, c] / rows[r, 0] if rows[r, 0] else 0
                t = pg.TextItem(f"{int(counts[r, c])}", anchor=(0.5, 0.5),
                                color=self.text_colour(frac))
                t.setFont(bold)
                t.setPos(c + 0.5, r + 0.5)
                self.plot.addItem(t)
                self.texts.append(t)

    def text_colour(self, fraction: float) -> str:
        """Black or white, whichever reads better on the cell's colour (WCAG contrast)."""
        return text_colour(self.colours.map(float(fraction), mode="float"))

    def describe(self, row: int, col: int) -> str:
        names = self.classes or [str(i) for i in range(self.matrix.shape[0])]
        return (f"true {names[row]}, predicted {names[col]}: "
                f"{int(self.matrix[row, col])} samples")
