"""LivePlot's legend fits the plot: columns by width, hidden when it would bury a short plot.
Its log axes are labelled at whole decades, never with overlapping 2..9 labels."""
from __future__ import annotations

import math

import pytest

from gui.training.plots import LEGEND_COLUMN_PX, LEGEND_MARGIN_PX, DecadeAxis, LivePlot


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
    room = plot.widget.width() - LEGEND_MARGIN_PX         # short names: the least column
    assert plot.legend.columnCount == min(6, room // LEGEND_COLUMN_PX) > 2
    assert plot.legend.boundingRect().height() <= plot.plot.vb.boundingRect().height() / 3


def test_a_legend_that_would_cover_a_third_of_a_short_plot_is_hidden(qtbot):
    plot = six_layers(qtbot, 450, 130)          # a plot of the stacked gradient dock
    qtbot.wait(20)
    plot._fit_legend()
    assert not plot.legend.isVisible()


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


def outside(plot) -> list[str]:
    """The legend entries not wholly inside the plot's view (cut off at its edge), and those
    sharing a place with another."""
    view = plot.plot.vb.sceneBoundingRect()
    places, out = set(), []
    for _, label in plot.legend.items:
        rect = label.mapRectToScene(label.boundingRect())
        place = (round(rect.x()), round(rect.y()))
        if rect.left() < view.left() - 1 or rect.right() > view.right() + 1 or place in places:
            out.append(label.text)
        places.add(place)
    return out


@pytest.mark.parametrize("widths", [[530] * 10, [900, 900, 500, 500, 700, 360, 900, 450, 600,
                                                  620]])
def test_every_legend_entry_is_shown_whole_in_its_own_place(qtbot, widths):
    plot = LivePlot("Pre-training", "step", "loss")
    qtbot.addWidget(plot)
    plot.resize(widths[0], 700)
    plot.show()
    qtbot.waitExposed(plot)
    names = [f"{kind}: Linear {i}" for kind in ("supervised", "unsupervised")
             for i in range(1, 6)]                  # long names: wider than LEGEND_COLUMN_PX
    for width, name in zip(widths, names):
        plot.resize(width, 700)
        plot.set_curve(name, [1, 2], [0.5, 0.4], "#2563eb")
        qtbot.wait(10)
    qtbot.wait(50)
    assert plot.legend.isVisible() and plot.legend.columnCount >= 2
    assert outside(plot) == []


def test_a_key_stands_for_the_curves_and_is_replaced_not_added_to(qtbot):
    from PySide6.QtCore import Qt
    plot = LivePlot("Weight gradient", "step", "norm", log_y=True)
    qtbot.addWidget(plot)
    for run in ("random", "supervised"):
        for layer in ("Linear 1", "Linear 2"):
            plot.set_curve(f"{run}: {layer}", [1, 2], [0.1, 0.2], "#2563eb", legend=False)
    key = [("Linear 1", "#2563eb", Qt.SolidLine), ("Linear 2", "#dc2626", Qt.SolidLine),
           ("random", "#4b5563", Qt.SolidLine), ("supervised", "#4b5563", Qt.DashLine)]
    plot.set_key(key)
    plot.set_key(key)                                   # the same: nothing added
    assert [label.text for _, label in plot.legend.items] == [k[0] for k in key]
    plot.set_key(key[:1] + key[2:])
    assert [label.text for _, label in plot.legend.items] == ["Linear 1", "random",
                                                              "supervised"]
    plot.clear()
    assert plot.legend.items == []


def test_a_legend_can_sit_at_the_bottom_out_of_rising_curves(qtbot):
    plot = LivePlot("Accuracy", "epoch", "accuracy", y_range=(0.0, 1.0), legend_at_bottom=True)
    qtbot.addWidget(plot)
    plot.resize(600, 400)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_curve("validation", [1, 2, 3], [0.9, 0.95, 0.97], "#dc2626")
    qtbot.wait(20)
    legend = plot.legend.mapRectToScene(plot.legend.boundingRect())
    view = plot.plot.vb.sceneBoundingRect()
    assert legend.center().y() > view.center().y()           # in the lower half


def test_the_filters_view_labels_channels_not_pixels(qtbot):
    import numpy as np

    from engine.run.live import FiltersEvent
    from gui.training.images import FiltersView
    view = FiltersView()
    qtbot.addWidget(view)
    rng = np.random.default_rng(0)
    event = FiltersEvent(step=10, filters={"conv2d_1": rng.normal(size=(6, 1, 5, 5)),
                                           "conv2d_2": rng.normal(size=(16, 6, 5, 5))})
    view.show(event, {"conv2d_1": "Conv2d 1", "conv2d_2": "Conv2d 2"})
    assert view.matrix.shape == (11, 17)                       # six filters, 2 x 3
    assert "6 filters of 5x5" in view.readout.text()
    view.choice.setCurrentIndex(1)
    assert view.matrix.shape == (16 * 6 - 1, 6 * 6 - 1)
    ticks = view.plot.getAxis("bottom")._tickLevels[0]
    assert [label for _, label in ticks] == [str(c) for c in range(6)]
    assert ticks[0][0] == 2.5                                  # the centre of a 5-pixel kernel
