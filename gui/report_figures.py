"""Draw Lab figures (engine.lab.Figure) to PNG with pyqtgraph's exporters, off-screen.

`install()` registers the renderer with engine.lab, so `layerwise lab ...` writes figures; it
starts a QApplication on the off-screen platform when there is no display.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

WIDTH, HEIGHT = 900, 560


def _app():
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    return pg.mkQApp()


def plot_widget(figure):
    """A pyqtgraph PlotWidget showing `figure` (also used by the Lab window)."""
    import numpy as np
    import pyqtgraph as pg
    from pyqtgraph.Qt import QtCore
    widget = pg.PlotWidget(background="w")
    item = widget.getPlotItem()
    item.setTitle(figure.title, color="#222", size="12pt")
    item.setLabel("bottom", figure.x_label, color="#333")
    item.setLabel("left", figure.y_label, color="#333")
    item.showGrid(x=True, y=True, alpha=0.2)
    for side in ("left", "bottom"):
        axis = item.getAxis(side)
        axis.enableAutoSIPrefix(False)
        axis.setTextPen("#333")
        axis.setPen("#888")
    item.setLogMode(x=figure.log_x, y=figure.log_y)
    item.addLegend(offset=(-10, 10), labelTextColor="#222", brush=pg.mkBrush(255, 255, 255, 200))
    coloured = [c for c in figure.curves if not c.get("reference")]
    n = max(3, len(coloured))
    for curve in figure.curves:
        x = np.array([_finite(v, figure.log_x) for v in curve["x"]], dtype=float)
        y = np.array([_finite(v, figure.log_y) for v in curve["y"]], dtype=float)
        if not np.isfinite(x + y).any():
            continue            # nothing to draw (a run stopped before its first probe)
        if curve.get("reference"):
            colour, pen = "#111", pg.mkPen("#111", width=2, style=QtCore.Qt.PenStyle.DashLine)
        else:
            colour = pg.intColor(coloured.index(curve), hues=n, values=1, maxValue=200, sat=220)
            pen = pg.mkPen(colour, width=2)
        symbol = "o" if figure.markers else None
        item.plot(x, y, name=curve["label"], pen=pen, connect="finite", symbol=symbol,
                  symbolSize=6, symbolBrush=colour, symbolPen=colour)
    _integer_ticks(item, figure)
    return widget


def _integer_ticks(item, figure) -> None:
    """Label each value when x takes a few whole numbers (layers, depths, epochs)."""
    xs = sorted({v for c in figure.curves for v in c["x"] if v is not None})
    if figure.log_x or not xs or len(xs) > 12 or any(not float(v).is_integer() for v in xs):
        return
    item.getAxis("bottom").setTicks([[(v, str(int(v))) for v in xs]])


def _finite(value, log: bool) -> float:
    if value is None or not math.isfinite(value) or (log and value <= 0):
        return math.nan
    return float(value)


def render(figure, path: Path) -> None:
    """Write `figure` as a PNG at `path`."""
    from pyqtgraph.exporters import ImageExporter
    app = _app()
    widget = plot_widget(figure)
    widget.resize(WIDTH, HEIGHT)
    widget.show()
    app.processEvents()
    exporter = ImageExporter(widget.getPlotItem())
    exporter.parameters()["width"] = WIDTH
    exporter.export(str(path))
    widget.close()
    widget.deleteLater()


def install() -> bool:
    """Register the renderer; False (and nothing registered) without PySide6 and pyqtgraph."""
    try:
        import pyqtgraph  # noqa: F401
        import PySide6  # noqa: F401
    except ImportError:
        return False
    from engine import lab
    lab.set_figure_renderer(render)
    return True
