"""A long history on the dashboard: each curve is drawn as its per-pixel-column envelope (no
spike hidden, the newest point kept, finer when zoomed in), a saved history is read as
columns (the same plot data from plain lists and from the engine's compact columns) and its
arrays are never written to, and the probe statistics share one x."""
from __future__ import annotations

import math

import numpy as np
import pytest

from engine.run.history import continue_history
from gui.training.plots import LivePlot
from gui.training.series import RunData, Table, envelope


def shown(qtbot, plot: LivePlot, width: int = 600, height: int = 300) -> LivePlot:
    qtbot.addWidget(plot)
    plot.resize(width, height)
    plot.show()
    qtbot.waitExposed(plot)
    return plot


# ---------------------------------------------------------------------- the envelope
def test_the_envelope_is_each_columns_lowest_and_highest_value_then_the_last_point():
    x = np.arange(12)                 # columns from x = 0, 11/3, 22/3: points 0-3, 4-7, 8-11
    y = np.array([3, 1, 4, 1, 5, np.nan, 2, 6, np.nan, np.nan, np.nan, np.nan])
    xs, ys = envelope(x, y, 3)
    assert xs.tolist() == [0, 0, 4, 4, 8, 8, 11]
    assert ys[:4].tolist() == [1, 4, 2, 6]                 # a NaN among values is left out
    assert np.isnan(ys[4:]).all()                          # a column of NaNs: a gap


def test_on_a_log_axis_the_columns_are_equal_in_log_x():
    x = np.arange(1, 1001)
    xs, ys = envelope(x, x.astype(float), 3, log_x=True)   # decades 1-9, 10-99, 100-1000
    assert xs.tolist() == [1, 1, 10, 10, 100, 100, 1000]
    assert ys.tolist() == [1, 9, 10, 99, 100, 1000, 1000]


def test_a_series_with_few_points_a_column_is_drawn_as_it_is():
    x, y = np.arange(10.0), np.arange(10.0) ** 2
    xs, ys = envelope(x, y, 5)
    assert xs is x and ys is y


def test_a_single_spike_among_a_million_points_is_drawn_and_so_is_the_newest(qtbot):
    plot = shown(qtbot, LivePlot("Loss", "step", "loss"))
    rng = np.random.default_rng(0)
    x = np.arange(1, 1_000_001)
    y = (1 + 0.1 * rng.random(len(x))).astype(np.float32)
    y[654_321], y[-1] = 40.0, 0.5
    plot.set_curve("loss", x, y, "#2563eb")
    plot.fit_view()
    dx, dy = plot.curves["loss"].xData, plot.curves["loss"].yData
    assert len(dx) <= 4 * plot.plot.vb.width() + 1          # about two points a pixel
    assert 40.0 in dy and (dx[-1], dy[-1]) == (1_000_000, 0.5)
    assert np.nanmin(dy) == y.min()
    cx, cy = plot.curve_data("loss")                        # the readout and CSV: all of it
    assert cx is x and cy is y


def test_zooming_in_draws_the_points_in_view_at_the_finer_columns(qtbot):
    plot = shown(qtbot, LivePlot("Loss", "step", "loss"))
    x = np.arange(1, 200_001)
    y = np.sin(x / 50.0)
    plot.set_curve("loss", x, y, "#2563eb")
    plot.fit_view()
    assert len(plot.curves["loss"].xData) < 5000
    plot.plot.vb.setXRange(100_000, 100_400, padding=0)
    plot._manual()                                          # as a wheel or a drag ends
    dx = plot.curves["loss"].xData
    assert ((dx >= 100_000) & (dx <= 100_400)).sum() == 401   # every point in view
    plot.plot.autoBtn.clicked.emit(plot.plot.autoBtn)       # "A": follow the data again
    assert plot.follow and len(plot.curves["loss"].xData) < 5000


def test_on_a_log_axis_a_column_with_zeros_shows_its_lowest_positive_value(qtbot):
    plot = shown(qtbot, LivePlot("Weight gradient", "step", "norm", log_y=True))
    x = np.arange(1, 100_001)
    y = np.full(len(x), 0.5)
    y[::2], y[50_000] = 0.0, 0.01
    plot.set_curve("Linear 1", x, y, "#2563eb")
    drawn = plot.curves["Linear 1"].yData
    finite = drawn[np.isfinite(drawn)]
    assert finite.min() == 0.01 and (finite > 0).all()


# ---------------------------------------------------------------------- from a history
def small_history(plain: bool) -> dict:
    """Three epochs of 4 steps, 2 layers probed every 2 steps ("delta_rms" from the 4th
    probe on, as a statistic added by a later version), one diverged step."""
    loss = [2.0, 1.5, math.nan, 1.2, 1.0, 0.9, 0.8, 0.85, 0.7, 0.6, 0.65, 0.5]
    steps = [{"step": i + 1, "epoch": i // 4 + 1, "loss": v} for i, v in enumerate(loss)]
    grad = [0.1, 0.2, 0.15, 0.12, 0.11, 0.1]
    layers = {"linear_1": {"grad_rms": grad, "delta_rms": [None] * 3 + [0.3, 0.2, 0.1]},
              "relu_1": {"sparsity": [0.5, 0.4, 0.45, 0.5, 0.55, 0.6]}}
    history = {"steps": steps, "probes": {"step": [2, 4, 6, 8, 10, 12], "layers": layers},
               "epochs": [{"epoch": e, "train_loss": 1.0 / e, "train_acc": 0.5 + e / 10,
                           "val_loss": 1.1 / e, "val_acc": 0.4 + e / 10, "seconds": 1.0}
                          for e in (1, 2, 3)], "stages": [], "runs": []}
    return history if plain else continue_history(history)


def plotted(run: RunData) -> dict:
    out = {"loss": run.loss.data(), "smoothed": run.smooth.data(),
           "validation": run.val_loss.data(), "accuracy": run.val_acc.data()}
    for key in run.probes:
        out[key] = run.series(*key).data()
    return out


def test_plain_lists_and_compact_columns_give_the_same_plot_data():
    plain, compact = (RunData.from_history(small_history(p)) for p in (True, False))
    a, b = plotted(plain), plotted(compact)
    assert a.keys() == b.keys() and plain.layers == compact.layers == ["linear_1", "relu_1"]
    for key in a:
        assert np.array_equal(a[key][0], b[key][0]), key
        assert np.allclose(a[key][1], b[key][1], equal_nan=True), key
    assert a["validation"][0].tolist() == [4, 8, 12]        # each epoch's last step
    x, y = plain.series("linear_1", "delta_rms").data()     # from its first value on
    assert x.tolist() == [8, 10, 12] and np.allclose(y, [0.3, 0.2, 0.1])
    assert plain.step == compact.step == 12


def test_a_run_continued_from_a_history_never_writes_into_its_arrays():
    history = small_history(plain=False)
    before = {k: np.array(v, copy=True) for k, v in plotted(RunData.from_history(history))
              .items()}
    run = RunData.from_history(history)
    run.add_steps([13, 14], [0.4, 0.3])
    run.add_probe(14, {"linear_1": {"grad_rms": 0.05}, "relu_1": {"sparsity": 0.7}})
    assert run.loss.data()[1][-2:].tolist() == pytest.approx([0.4, 0.3])
    x, y = run.series("linear_1", "grad_rms").data()
    assert x[-1] == 14 and y[-1] == pytest.approx(0.05)
    assert np.isnan(run.series("linear_1", "delta_rms").data()[1][-1])   # not given: NaN
    again = plotted(RunData.from_history(history))
    for key, (x, y) in before.items():
        assert np.array_equal(again[key][0], x) and np.allclose(again[key][1], y,
                                                                equal_nan=True), key


def test_probe_statistics_share_one_x_and_a_late_one_starts_at_its_first_value():
    table = Table()
    table.add(10, {("a", "norm"): 1.0, ("a", "rms"): 0.5})
    table.add(20, {("a", "norm"): 2.0})
    table.add(30, {("a", "norm"): 3.0, ("a", "rms"): 0.25, ("b", "norm"): 7.0})
    assert list(table) == [("a", "norm"), ("a", "rms"), ("b", "norm")]
    rms = table.series(("a", "rms")).data()
    assert rms[0].tolist() == [10, 20, 30] and np.isnan(rms[1][1])
    assert table.series(("b", "norm")).data()[0].tolist() == [30]
    assert table.series(("a", "norm")).x.base is table.series(("b", "norm")).x.base
    assert table.series(("c", "norm")) is None
