"""LivePlot's legend fits the plot: columns by width, hidden when it would bury a short plot.
Its log axes are labelled at whole decades, never with overlapping 2..9 labels."""
from __future__ import annotations

import math

from gui.training.plots import LEGEND_COLUMN_PX, DecadeAxis, LivePlot


def six_layers(qtbot, width: int, height: int) -> LivePlot:
    plot = LivePlot("Weight gradient", "step", "norm", log_y=True)
    qtbot.addWidget(plot)
    plot.resize(width, height)
    plot.show()
    qtbot.waitExposed(plot)
    for i in range(6):
        plot.set_curve(f"Linear {i + 1}", [1, 2, 3], [0.1, 0.2, 0.3], "#2563eb")
    return plot


def test_a_wide_tall_plot_shows_its_legend_in_as_many_columns_as_fit(qtbot):
    plot = six_layers(qtbot, 700, 500)
    assert plot.legend.isVisible()
    assert plot.legend.columnCount == min(6, plot.widget.width() // LEGEND_COLUMN_PX) > 2


def test_a_short_plot_hides_its_legend_and_shows_it_again_when_taller(qtbot):
    plot = six_layers(qtbot, 300, 160)
    assert not plot.legend.isVisible()
    plot.resize(300, 600)
    qtbot.waitUntil(lambda: plot.legend.isVisible())
    assert plot.legend.columnCount == 2


def labels(axis, low: float, high: float, size: float) -> dict[float, str]:
    """{tick value: its label} on a log axis viewing 10**low .. 10**high over `size` px."""
    out = {}
    for spacing, values in axis.logTickValues(low, high, size, []):
        for v, text in zip(values, axis.logTickStrings(values, 1.0, spacing)):
            out[v] = text
    return out


def test_a_short_log_axis_over_two_decades_labels_the_decades_only(qtbot):
    shown = {v: t for v, t in labels(DecadeAxis("left"), -2.08, 0.08, 77).items() if t}
    assert sorted(shown) == [-2.0, -1.0, 0.0]
    ticks = labels(DecadeAxis("left"), -2.08, 0.08, 77)
    assert any(abs(v - math.log10(5) + 2) < 1e-9 for v in ticks)      # 0.05: a tick, no text


def test_many_decades_on_a_short_axis_are_thinned_to_fit(qtbot):
    shown = [v for v, t in labels(DecadeAxis("left"), -12, 0, 70).items() if t]
    assert len(shown) <= 70 // DecadeAxis.LABEL_PX["left"]
    assert all(v == int(v) for v in shown) and 0.0 in shown


def test_inside_one_decade_the_ticks_between_are_labelled(qtbot):
    shown = [t for t in labels(DecadeAxis("left"), -1.9, -1.1, 200).values() if t]
    assert len(shown) >= 2                   # zoomed in: pyqtgraph's own labels


def test_the_plots_use_the_decade_axis(qtbot):
    plot = LivePlot("Weight gradient", "step", "norm", log_y=True)
    qtbot.addWidget(plot)
    assert isinstance(plot.plot.getAxis("left"), DecadeAxis)
    assert isinstance(plot.plot.getAxis("bottom"), DecadeAxis)
