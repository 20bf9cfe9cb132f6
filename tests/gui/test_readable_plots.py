"""Readable plots: the loss's debiased smoothing (its weight set by the person), the gradient
map's "no data" hatch, confusion counts legible on every cell colour, a key to the layer curves
however short the plot, and a message instead of meaningless axes before any data."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from gui.training.images import ConfusionView, HeatMap
from gui.training.plot_widgets import SMOOTHING_KEY, contrast, text_colour
from gui.training.plots import LivePlot
from gui.training.series import RunData, Store, smooth


def direct(values, w: float) -> np.ndarray:
    """TensorBoard's smoothing, one value at a time (its JavaScript, in Python)."""
    last, count, out = 0.0, 0, []
    for v in values:
        if not math.isfinite(v):
            out.append(math.nan)
            continue
        last = last * w + (1 - w) * v
        count += 1
        out.append(last / (1 - w ** count))
    return np.array(out)


# ---------------------------------------------------------------------- smoothing
@pytest.mark.parametrize("w", [0.0, 0.6, 0.9, 0.99, 0.999])
def test_the_smoothed_loss_is_tensorboards_debiased_average_fed_in_batches(w):
    rng = np.random.default_rng(1)
    losses = list(2 + rng.normal(size=700))
    losses[3] = losses[400] = math.nan                  # a failed step: a gap, not counted
    run = RunData(smoothing=w)
    for start in range(0, 700, 37):                     # as the worker hands them over
        chunk = losses[start:start + 37]
        run.add_steps(list(range(start + 1, start + 1 + len(chunk))), chunk)
    _, shown = run.smooth.data()
    assert np.allclose(shown, direct(losses, w), equal_nan=True)
    assert shown[0] == pytest.approx(losses[0])         # starts at the loss, not at 0


@pytest.mark.parametrize("w", [0.6, 0.9, 0.95, 0.99])
def test_a_step_change_is_half_way_after_ln_half_over_ln_w_steps(w):
    values = np.r_[np.zeros(3000), np.ones(400)]
    smoothed, _ = smooth(values, w)
    after = smoothed[3000:]
    reached = int(np.argmax(after >= 0.5)) + 1          # steps after the jump
    assert reached == math.ceil(math.log(0.5) / math.log(w))
    assert np.all(smoothed[:3000] == 0)                 # no lag or bias before the jump


def test_a_new_weight_smooths_the_whole_run_again_including_a_saved_history():
    rng = np.random.default_rng(2)
    losses = list(1 + rng.random(300))
    history = {"steps": [{"step": i + 1, "epoch": 1, "loss": v} for i, v in enumerate(losses)]}
    store = Store()
    store.reset(history)
    before = store.run.changes["steps"]
    store.set_smoothing(0.97)
    _, shown = store.run.smooth.data()
    assert np.allclose(shown, direct(losses, 0.97))
    assert store.run.changes["steps"] > before          # the Loss plot is drawn again
    store.begin_run("supervised")                       # a compared run: the same weight
    assert store.run.smoothing == 0.97


def test_the_smoothing_control_recomputes_the_loss_curve_and_is_remembered(qtbot, window,
                                                                           monkeypatch):
    from gui import dialogs, paths
    from gui.training.plot_widgets import SmoothingControl
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *a: "discard")
    dash = window.ensure_training().dashboard
    losses = list(np.linspace(2, 0.5, 200) + 0.3 * np.sin(np.arange(200)))
    dash.reset({"steps": [{"step": i + 1, "epoch": 1, "loss": v}
                          for i, v in enumerate(losses)]})
    dash.smoothing.slider.setValue(990)                  # as a drag of the slider ends
    assert dash.smoothing.value.text() == "0.99"
    _, shown = dash.loss.curve_data("smoothed")
    assert np.allclose(shown, direct(losses, 0.99))
    assert float(paths.settings().value(SMOOTHING_KEY)) == 0.99
    again = SmoothingControl(0.5)                        # the next window
    qtbot.addWidget(again)
    assert again.weight() == 0.99


# ---------------------------------------------------------------------- gradient map
def shown(qtbot, widget: QWidget, width: int = 640, height: int = 280) -> QWidget:
    qtbot.addWidget(widget)
    widget.resize(width, height)
    QWidget.show(widget)
    qtbot.waitExposed(widget)
    return widget


def pixel(view, item, x: float, y: float) -> QColor:
    """The colour drawn at (x, y) of `item`'s own coordinates."""
    scene = item.mapToScene(QPointF(x, y))
    point = view.widget.mapTo(view, view.widget.mapFromScene(scene))
    return view.grab().toImage().pixelColor(point)


def test_a_cell_without_data_is_hatched_in_no_colour_of_the_map(qtbot):
    heat = shown(qtbot, HeatMap())
    steps = np.arange(0, 400, 5.0)
    late = steps[steps >= 200]                           # a layer added at step 200
    heat.show(["Linear 1", "Linear 2"], [(steps, 10 ** (-1 - steps / 400)),
                                         (late, np.full(len(late), 0.01))])
    qtbot.wait(20)
    assert np.isnan(heat.matrix[1, 0]) and heat.describe(1, 0).endswith("no data")
    assert heat.no_data.isVisible()                      # the key to the hatch
    lut = pg.colormap.get("viridis").getLookupTable(nPts=256)
    for x in np.linspace(1, 35, 12):                     # across the hatch, line and gap
        c = pixel(heat, heat.image, x, 1.5)
        assert np.min(np.abs(lut.astype(int) - [c.red(), c.green(), c.blue()]).sum(1)) > 60
    lowest = pixel(heat, heat.image, 79.5, 0.5)          # the smallest value: the map's end
    assert np.abs(lut[0].astype(int) - [lowest.red(), lowest.green(), lowest.blue()]).sum() < 30


def test_a_gradient_of_exactly_zero_is_the_smallest_colour_not_no_data(qtbot):
    heat = shown(qtbot, HeatMap())
    steps = np.arange(10.0)
    heat.show(["Linear 1"], [(steps, np.r_[np.full(5, 0.1), np.zeros(5)])])
    assert np.isneginf(heat.matrix[0, -1]) and heat.describe(0, 9).endswith("norm 0")
    assert not heat.no_data.isVisible()


# ---------------------------------------------------------------------- confusion counts
def test_the_count_colour_contrasts_4_5_to_1_with_any_colour_of_the_map(qtbot):
    view = ConfusionView()
    qtbot.addWidget(view)
    for fraction in np.linspace(0, 1, 501):
        background = view.colours.map(float(fraction), mode="float")
        foreground = QColor(view.text_colour(fraction)).getRgbF()[:3]
        assert contrast(foreground, background) >= 4.5, fraction


def test_every_drawn_count_is_legible_on_its_cell(qtbot):
    from engine.run.live import ConfusionEvent
    view = shown(qtbot, ConfusionView(), 520, 520)
    counts = np.array([[5, 40, 15, 0, 140], [60, 0, 0, 90, 50], [1, 2, 3, 4, 190],
                       [30, 30, 30, 30, 80], [100, 25, 25, 25, 25]])   # every fraction 0..1
    view.show(ConfusionEvent(3, counts, [str(i) for i in range(5)]))
    qtbot.wait(20)
    image = view.grab().toImage()
    assert len(view.texts) == counts.size
    for text in view.texts:
        col, row = int(text.pos().x()), int(text.pos().y())
        scene = view.image.mapToScene(QPointF(col + 0.12, row + 0.12))   # the cell, not text
        back = image.pixelColor(view.widget.mapTo(view, view.widget.mapFromScene(scene)))
        fore = text.textItem.defaultTextColor()
        assert contrast(fore.getRgbF()[:3], back.getRgbF()[:3]) >= 4.5, (row, col)


def test_black_or_white_whichever_reads_better():
    assert text_colour((0.0, 0.0, 0.3)) == "#ffffff"
    assert text_colour((0.7, 1.0, 0.95)) == "#000000"


# ---------------------------------------------------------------------- layer key
def layer_plot(qtbot, layers: int, width: int, height: int) -> LivePlot:
    from gui.training.plots import PALETTE
    plot = shown(qtbot, LivePlot("Weight gradient", "step", "norm", log_y=True), width, height)
    for i in range(layers):
        plot.set_curve(f"Linear {i + 1}", np.arange(1.0, 50), np.full(49, 10.0 ** -i / 2),
                       PALETTE[i % len(PALETTE)])
    plot.fit_view()
    qtbot.wait(20)
    plot._fit_legend()
    return plot


@pytest.mark.parametrize("layers", [1, 4, 9, 20])
@pytest.mark.parametrize("size", [(450, 130), (960, 110), (700, 500)])
def test_every_layer_is_named_in_its_colour_without_covering_the_curves(qtbot, layers, size):
    plot = layer_plot(qtbot, layers, *size)
    names = [f"Linear {i + 1}" for i in range(layers)]
    view = plot.plot.vb.sceneBoundingRect()
    if plot.legend.isVisible():
        assert [label.text for _, label in plot.legend.items] == names
        legend = plot.legend.mapRectToScene(plot.legend.boundingRect())
        assert legend.height() <= view.height() / 3 + 1
        assert not plot.side_key.isVisible()
    else:
        key = plot.side_key
        assert key.isVisible() and key.x() >= plot.widget.geometry().right()   # beside it
        assert key.width() <= plot.width() / 3
        assert [key.item(i).text() for i in range(key.count())] == names
        for i, name in enumerate(names):
            colour = key.item(i).icon().pixmap(key.iconSize()).toImage().pixelColor(9, 5)
            assert colour.name() == plot.curves[name].opts["pen"].color().name()


def test_the_plots_of_a_short_gradient_dock_list_their_layers_beside_them(qtbot):
    plot = layer_plot(qtbot, 9, 450, 110)       # why no legend was seen: hidden as too tall
    assert not plot.legend.isVisible() and plot.side_key.isVisible()


def test_a_plot_too_narrow_for_a_key_beside_it_keeps_its_width_for_the_curves(qtbot):
    plot = layer_plot(qtbot, 8, 170, 130)               # a narrow Activations dock
    assert not plot.legend.isVisible() and not plot.side_key.isVisible()
    plot.resize(450, 130)                               # widened: the key comes back
    qtbot.waitUntil(plot.side_key.isVisible)


def test_hovering_names_the_nearest_curve_in_its_colour_and_stresses_it(qtbot):
    plot = layer_plot(qtbot, 4, 600, 300)
    curve = plot.curves["Linear 3"]
    at = curve.mapToScene(QPointF(25, math.log10(10.0 ** -2 / 2)))   # on its line (log y)
    plot.widget.scene().sigMouseMoved.emit(at)
    text = plot.readout.text()
    colour = curve.opts["pen"].color().name()
    assert f'<b style="color:{colour}">━ Linear 3 0.005</b>' in text
    assert text.index("Linear 3") < text.index("Linear 1")      # named first
    assert curve.opts["pen"].widthF() > plot.curves["Linear 1"].opts["pen"].widthF()
    plot.widget.scene().sigMouseMoved.emit(QPointF(-50, -50))    # off the plot
    assert curve.opts["pen"].widthF() == plot.curves["Linear 1"].opts["pen"].widthF()


def test_a_long_readout_is_cut_off_and_never_widens_the_window(qtbot):
    plot = layer_plot(qtbot, 20, 450, 300)
    before = plot.minimumSizeHint().width()
    plot.widget.scene().sigMouseMoved.emit(plot.curves["Linear 1"].mapToScene(QPointF(25, 0)))
    assert "Linear 20" in plot.readout.text()            # 20 values: wider than the plot
    qtbot.wait(20)                                       # the layout has taken the text in
    assert plot.minimumSizeHint().width() == before < 450


def test_pointing_at_a_key_entry_stresses_its_curve(qtbot):
    plot = layer_plot(qtbot, 9, 450, 110)
    plot.side_key.pointed.emit("Linear 2")
    assert [name for name, _ in plot.stressed] == ["Linear 2"]
    plot.side_key.pointed.emit(None)
    assert plot.stressed == []


# ---------------------------------------------------------------------- empty plots
def test_an_empty_plot_shows_a_message_and_no_axes_until_it_has_data(qtbot):
    plot = shown(qtbot, LivePlot("Loss", "step", "loss", y_floor=0.0))
    plot.curve("loss", "#93c5fd")                        # prepared before a run: no data
    plot.set_curve("validation", [], [], "#dc2626")
    assert plot.message.isVisible() and "press Train" in plot.message.text()
    assert not plot.plot.getAxis("left").isVisible()
    assert not plot.plot.getAxis("bottom").isVisible()
    assert not plot.legend.isVisible() and not plot.side_key.isVisible()
    plot.set_curve("loss", [1, 2, 3], [0.9, 0.7, 0.6], "#93c5fd")
    assert not plot.message.isVisible() and plot.plot.getAxis("left").isVisible()
    plot.empty()                                         # a new run of the same network
    assert plot.message.isVisible() and not plot.plot.getAxis("bottom").isVisible()


@pytest.mark.parametrize("make", [HeatMap, ConfusionView])
def test_an_empty_image_view_shows_a_message_and_no_axes(qtbot, make):
    view = shown(qtbot, make())
    assert view.message.isVisible() and "press Train" in view.message.text()
    assert not view.plot.getAxis("left").isVisible()
    assert not view.plot.getAxis("bottom").isVisible()
    if isinstance(view, HeatMap):
        assert not view.bar.isVisible() and not view.no_data.isVisible()
        view.show(["Linear 1"], [(np.arange(3.0), np.ones(3))])
        assert view.bar.isVisible() and view.plot.getAxis("left").isVisible()
        view.clear()
        assert view.message.isVisible() and not view.bar.isVisible()
