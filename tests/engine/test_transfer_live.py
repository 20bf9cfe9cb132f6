"""engine.run.diagnostics (levels, warnings) and engine.run.live (boundary, confusion, filters, helpers)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

import engine
from engine.run import diagnostics as insight, live

LABELS = {f"linear_{i}": f"Linear {i}" for i in range(1, 7)}


def test_vanishing_gradient_warning_names_layers_and_ratio():
    stats = {"linear_1": {"grad_norm": 0.0002}, "sigmoid_1": {"sparsity": 0.0},
             "linear_5": {"grad_norm": 0.6}}
    out = insight.warnings(stats, LABELS, ["linear_1", "sigmoid_1", "linear_5"],
                           {"sigmoid_1": "Sigmoid"})
    assert out == ["The gradient reaching Linear 1 is 1/3,000 of that reaching Linear 5: "
                   "vanishing gradient; try a rectifier (ReLU) with He init, batch norm, or "
                   "layer-wise pre-training."]


def test_balanced_gradients_and_live_units_give_no_warning():
    stats = {"linear_1": {"grad_norm": 0.5}, "relu_1": {"dead": 0.01, "sparsity": 0.5},
             "linear_2": {"grad_norm": 0.7}}
    assert insight.warnings(stats, LABELS) == []


def test_dead_and_saturated_units_are_reported_in_percent():
    stats = {"relu_3": {"dead": 0.62, "sparsity": 0.8},
             "sigmoid_2": {"saturation": 0.7, "sparsity": 0.0}}
    out = insight.warnings(stats, {"relu_3": "ReLU 3", "sigmoid_2": "Sigmoid 2"})
    assert out[0].startswith("62% of ReLU 3's units are dead")
    assert out[1].startswith("70% of Sigmoid 2's outputs are saturated")


def test_gradient_levels_are_relative_on_a_log_scale():
    levels = insight.node_levels({"a": {"grad_norm": 1.0}, "b": {"grad_norm": 0.001},
                                  "c": {"sparsity": 0.5}}, "gradient")
    assert set(levels) == {"a", "b"}
    assert levels["a"].level == 1.0 and levels["a"].text == "1"
    assert levels["b"].level == pytest.approx(0.5) and levels["b"].text == "1/1,000"
    sparsity = insight.node_levels({"c": {"sparsity": 0.5}}, "sparsity")
    assert sparsity["c"].text == "50%" and sparsity["c"].level == 0.5
    with pytest.raises(ValueError):
        insight.node_levels({}, "colour")


def test_latest_stats_read_the_last_probe_of_a_history():
    run = engine.train(engine.NetworkSpec.sequential((2,), [
        ("Linear", {"out_features": 4}), ("ReLU", {}), ("Linear", {"out_features": 2})]),
        "xor", engine.TrainConfig(epochs=1, probe_every=5))
    stats = insight.latest_stats(run.history)
    layers = run.history["probes"]["layers"]
    assert stats["linear_1"]["grad_norm"] == layers["linear_1"]["grad_norm"][-1]
    assert insight.latest_stats(None) == {}


def test_live_views_send_boundary_filters_and_confusion():
    spec = engine.NetworkSpec.sequential((2,), [
        ("Linear", {"out_features": 8}), ("Tanh", {}), ("Linear", {"out_features": 2})])
    data = engine.load_dataset("moons")
    got = []
    cfg = engine.TrainConfig(epochs=2, probe_every=0)
    _, val = data.split(cfg.val_fraction, cfg.seed)
    engine.train(spec, data, cfg, callbacks=[live.LiveViews(data, got.append, val, 0.0)])
    bounds = [e for e in got if isinstance(e, live.BoundaryEvent)]
    conf = [e for e in got if isinstance(e, live.ConfusionEvent)]
    assert len(bounds) > 2 and bounds[-1].probs.shape == (live.GRID, live.GRID, 2)
    assert np.allclose(bounds[-1].probs.sum(-1), 1.0, atol=1e-5)
    assert [c.epoch for c in conf] == [1, 2] and conf[-1].counts.sum() == len(val)


def test_trained_views_equal_the_last_views_of_the_run():
    """A file reopened shows what the run showed at its end: the same boundary and confusion
    (from the same weights and validation part), and the filters without any data."""
    spec = engine.NetworkSpec.sequential((2,), [
        ("Linear", {"out_features": 8}), ("Tanh", {}), ("Linear", {"out_features": 2})])
    data = engine.load_dataset("moons")
    got = []
    cfg = engine.TrainConfig(epochs=2, probe_every=0, val_fraction=0.3, seed=4)
    _, val = data.split(cfg.val_fraction, cfg.seed)
    run = engine.train(spec, data, cfg, callbacks=[live.LiveViews(data, got.append, val, 0.0)])
    views = engine.trained_views(run.model, data, cfg.val_fraction, cfg.seed, epoch=2, step=9)
    boundary = next(e for e in views if isinstance(e, live.BoundaryEvent))
    confusion = next(e for e in views if isinstance(e, live.ConfusionEvent))
    last = [e for e in got if isinstance(e, live.BoundaryEvent)][-1]
    assert np.allclose(boundary.probs, last.probs) and boundary.step == 9
    assert np.array_equal(confusion.counts, [e for e in got if isinstance(
        e, live.ConfusionEvent)][-1].counts) and confusion.epoch == 2
    assert engine.trained_views(run.model, None) == []          # no convolution, no data
    conv = engine.build(engine.NetworkSpec.sequential((1, 8, 8), [
        ("Conv2d", {"out_channels": 3, "kernel_size": 3}), ("Flatten", {}),
        ("Linear", {"out_features": 2})]))
    (filters,) = engine.trained_views(conv, None, step=5)
    assert list(filters.filters) == ["conv2d_1"] and filters.step == 5


def test_edits_between_runs_are_found_in_the_history():
    spec = engine.NetworkSpec.sequential((2,), [
        ("Linear", {"out_features": 4}), ("Tanh", {}), ("Linear", {"out_features": 2})])
    cfg = engine.TrainConfig(epochs=1, probe_every=0, batch_size=100)
    run = engine.train(spec, "moons", cfg)
    again = engine.train(run, "moons", cfg)                      # the same network goes on
    edited = spec.copy()
    edited.set_param("linear_1", "out_features", 6)
    moved = engine.transfer(again.model, edited)
    third = engine.train(SimpleNamespace(model=moved.model, spec=edited, history=again.history,
                                         optimizer_state=None), "moons", cfg)
    runs = third.history["runs"]
    assert runs[0]["network"] == runs[1]["network"] == engine.network_signature(spec)
    assert runs[2]["network"] == engine.network_signature(edited) != runs[1]["network"]
    assert engine.network_edits(third.history) == [runs[2]["start_step"]] == [
        2 * len(run.history["steps"])]
    assert engine.network_edits({"runs": [{"start_step": 0}, {"start_step": 5}]}) == []


def test_epochs_left_counts_an_interrupted_epoch_as_not_done():
    history = {"runs": [{"start_epoch": 3, "epochs": 10}], "epochs": [{}] * 7}
    assert engine.epochs_left(history) == 6
    assert engine.epochs_left({"runs": [{"start_epoch": 0, "epochs": 2}], "epochs": [{}] * 2}) \
        == 0 == engine.epochs_left({})


def test_confusion_matrix_counts_true_by_predicted():
    class Fixed(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.one_hot(x[:, 0].long(), 3).float()
    x = torch.tensor([[0.0], [1.0], [2.0], [2.0]])
    y = torch.tensor([0, 2, 2, 1])
    m = Fixed()
    m.dummy = torch.nn.Parameter(torch.zeros(1))
    counts = live.confusion_matrix(m, x, y, 3)
    assert counts.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 1]]


def test_filter_tiles_and_conv_weights():
    model = engine.build(engine.load("resources/examples/lenet5.json").spec)
    filters = live.conv_filters(model)
    assert list(filters) == ["conv2d_1", "conv2d_2"]
    assert filters["conv2d_1"].shape == (6, 1, 5, 5)
    tiles = live.filter_tiles(filters["conv2d_2"])
    assert tiles.shape == (16 * 6 - 1, 6 * 6 - 1)          # output x input channels
    assert np.nanmin(tiles) == 0.0 and np.nanmax(tiles) == 1.0
    w = filters["conv2d_2"]
    k = w[3, 4]
    assert np.allclose(tiles[3 * 6:3 * 6 + 5, 4 * 6:4 * 6 + 5], (k - k.min()) / np.ptp(k))
    # a Conv1d's filters are rows of height 1, a transposed convolution's output-first
    other = engine.build(engine.load("resources/examples/conv_autoencoder.json").spec)
    grown = live.conv_filters(other)["convtranspose2d_1"]
    deconv = other.layers["convtranspose2d_1"].weight          # (8 in, 16 out, 2, 2)
    assert grown.shape == (16, 8, 2, 2)
    assert np.array_equal(grown[5, 3], deconv[3, 5].detach().numpy())
    signal = engine.build(engine.load("resources/examples/cnn1d_adding.json").spec)
    rows = live.conv_filters(signal)["conv1d_2"]
    assert rows.shape == (16, 16, 1, 5) and live.filter_tiles(rows).shape == (16 * 2 - 1,
                                                                                16 * 6 - 1)
    first = live.filter_tiles(filters["conv2d_1"])           # one input channel: a 2 x 3 grid
    assert live.filter_grid(filters["conv2d_1"]) == (2, 3)
    assert first.shape == (2 * 6 - 1, 3 * 6 - 1)
    k = filters["conv2d_1"][4, 0]                             # filter 4: row 1, column 1
    assert np.allclose(first[6:11, 6:11], (k - k.min()) / np.ptp(k))
    assert np.isnan(first[5]).all() and np.isnan(first[:, 5]).all()      # the gaps


def test_helpers_for_the_window():
    assert live.devices()[:2] == ["auto", "cpu"]
    assert live.suggest_dataset((1, 28, 28)) == ("mnist-5k", {})
    assert live.suggest_dataset((8,)) == ("parity", {"bits": 8})
    assert live.suggest_dataset((3, 32, 32)) == ("cifar-10", {})
    assert live.suggest_dataset((30, 1)) == ("sequence-parity", {"steps": 30})
    assert live.suggest_dataset((50, 2)) == ("adding", {"steps": 50})
    assert live.suggest_dataset((3, 31, 32)) == ("", {})
    info = live.preview(engine.load_dataset("mnist-5k"), 4)
    assert len(info["images"]) == 4 and info["images"][0].shape == (28, 28)
    x = torch.rand(3, 3, 4, 5)                  # colour images: (height, width, red/green/blue)
    colour = engine.data.dataset.make_dataset("rgb", x.numpy(), np.arange(3), "classification")
    img = live.preview(colour)["images"][0]
    assert img.shape == (4, 5, 3) and np.allclose(
        img, (colour.x[0] - colour.x[0].min()).permute(1, 2, 0) / np.ptp(colour.x[0].numpy()))
    assert info["classes"] == 10
    assert live.preview(engine.load_dataset("xor"))["points"].shape == (300, 2)
