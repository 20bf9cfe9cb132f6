"""LivePlot's legend fits the plot: columns by width, hidden when it would bury a short plot."""
from __future__ import annotations

from gui.training.plots import LEGEND_COLUMN_PX, LivePlot


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
