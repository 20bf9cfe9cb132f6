"""Pre-training in the window: the stages on the canvas and their plot, then fine-tuning; and
the comparison with random initialisation overlaid on the dashboard."""
from __future__ import annotations

import pytest
import torch

from gui.training import files as tfiles

from test_training_window import load, settings

CHAIN = [("Linear", {"out_features": 8}), ("Tanh", {}), ("Linear", {"out_features": 6}),
         ("Tanh", {}), ("Linear", {"out_features": 2})]
PRE = {"mode": "supervised", "epochs": 1, "lr": None, "noise": 0.25, "tied": False}


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setattr(tfiles, "confirm", lambda *a: True)
    from gui import dialogs
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *a: "discard")
    torch.set_num_threads(1)


def test_pretraining_marks_the_blocks_plots_the_stages_then_fine_tunes(qtbot, window):
    s = load(window, CHAIN, epochs=2, pretrain=PRE)
    marks = []
    original = s.diagnostics.set_stages
    s.diagnostics.set_stages = lambda active, frozen: (marks.append((list(active),
                                                                     list(frozen))),
                                                       original(active, frozen))
    with qtbot.waitSignal(window.training_finished, timeout=60000) as blocker:
        assert window.start_training()
    assert blocker.args == ["finished"]
    staged = [m for m in marks if m[0]]
    assert staged == [(["linear_1", "tanh_1"], []),
                      (["linear_2", "tanh_2"], ["linear_1", "tanh_1"])]
    assert marks[-1] == ([], [])                                   # marks cleared at the end
    assert all(item.mark == "" for item in window.scene.nodes.values())
    history = window.doc.history
    assert [st["layer"] for st in history["stages"]] == ["Linear 1", "Linear 2"]
    assert len(history["epochs"]) == 2                             # fine-tuning followed
    s.dashboard.refresh(force=True)
    assert set(s.dashboard.pretrain.curves) == {"Linear 1", "Linear 2"}
    x, y = s.dashboard.pretrain.curve_data("Linear 1")
    assert len(x) >= 1 and (y > 0).all()
    fx, _ = s.dashboard.loss.curve_data("loss")
    assert fx.tolist() == [st["step"] for st in history["steps"]]


def test_a_branching_network_is_refused_with_the_node_named(qtbot, window):
    import engine
    s = window.ensure_training()
    spec = engine.NetworkSpec.sequential((2,), [("Linear", {"out_features": 4}),
                                                ("ReLU", {}), ("Linear", {"out_features": 4})])
    spec.add("Add", {}, None, "add_1")
    spec.connect("linear_1", "add_1")
    spec.connect("linear_2", "add_1")
    spec.add("Linear", {"out_features": 2}, None, "linear_3")
    spec.connect("add_1", "linear_3")
    window.doc.replace(spec, None, "branch", recipe=settings(pretrain=PRE))
    with qtbot.waitSignal(window.training_finished, timeout=60000) as blocker:
        assert window.start_training()
    assert blocker.args == ["failed"]
    # refused before any step: said as such, not "Failed"
    assert "Training did not start" in s.panel.status.text() and \
        "Linear 1" in s.panel.status.text()
    assert s.panel.progress.format() == "Not started"


def test_compare_with_random_init_overlays_both_runs(qtbot, window):
    s = load(window, CHAIN, epochs=2, pretrain=PRE)
    with qtbot.waitSignal(window.training_finished, timeout=90000) as blocker:
        s.panel.compare_button.click()
    assert blocker.args == ["finished"]
    assert list(s.dashboard.store.runs) == ["random", "supervised"]
    comparison = s.comparison
    s.dashboard.refresh(force=True)
    for name in ("random", "supervised"):
        history = comparison.runs[name].history
        _, acc = s.dashboard.accuracy.curve_data(f"{name}: validation")
        assert acc.tolist() == pytest.approx([e["val_acc"] for e in history["epochs"]])
        gx, _ = s.dashboard.weight_grad.curve_data(f"{name}: Linear 1")
        assert gx.tolist() == history["probes"]["step"]
        assert f"{name}: smoothed" in s.dashboard.loss.curves
    assert "supervised: Linear 1" in s.dashboard.pretrain.curves
    for plot in (s.dashboard.loss, s.dashboard.accuracy, s.dashboard.weight_grad):
        # none left from while the first run was drawn alone ("loss", "Linear 1")
        assert all(name.split(": ")[0] in ("random", "supervised") for name in plot.curves)
    # one legend entry per layer and per run, not one per curve
    legend = [label.text for _, label in s.dashboard.weight_grad.legend.items]
    layers = sorted({name.split(": ", 1)[1] for name in s.dashboard.weight_grad.curves})
    assert sorted(legend) == sorted(layers + ["random", "supervised"])
    stages = [label.text for _, label in s.dashboard.pretrain.legend.items]
    assert "supervised" in stages and not any(": " in t for t in stages)
    assert "Comparison finished" in s.panel.status.text()
    assert window.doc.model is None                                # the network is unchanged
    # no history of its own: no statistics of the comparison's last run left as if live
    assert s.diagnostics.stats == {} and "Live" not in s.diag_panel.source.text()
