"""Every view shows the open network or nothing: switching clears them, reopening a trained
file restores them, and an edit made while paused takes effect on resume."""
from __future__ import annotations

import numpy as np
import pytest

import engine
from gui import dialogs
from gui.commands import SetParamCommand
from gui.training import files as tfiles, jobs
from gui_helpers import EXAMPLES, recipe

XOR_NET = [("Linear", {"out_features": 8}), ("Tanh", {}), ("Linear", {"out_features": 2})]


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *a: "discard")
    monkeypatch.setattr(tfiles, "confirm", lambda *a: True)


def start(win, epochs=3, probe_every=2, layers=XOR_NET):
    session = win.ensure_training()
    spec = engine.NetworkSpec.sequential((2,), layers, name="xor net")
    win.doc.replace(spec, None, "xor net", recipe=recipe(
        dataset={"name": "xor", "options": {"samples": 200, "noise": 0.05, "seed": 0}},
        epochs=epochs, batch_size=16, probe_every=probe_every, lr=0.01))
    return session


def train(qtbot, win) -> str:
    with qtbot.waitSignal(win.training_finished, timeout=60000) as blocker:
        assert win.start_training()
    return blocker.args[0]


def shown(dashboard) -> dict:
    """What the image views and the loss plot show (every dock drawn, hidden ones too)."""
    dashboard.refresh(force=True)
    return {"boundary": dashboard.boundary.matrix.size,
            "confusion": dashboard.confusion.matrix.size,
            "filters": len(dashboard.filters.filters),
            "loss": dashboard.loss.curve_data("loss")[0].size}


def test_opening_another_network_leaves_nothing_of_the_first(qtbot, window):
    s = start(window)
    assert train(qtbot, window) == "finished"
    assert all(shown(s.dashboard)[k] for k in ("boundary", "confusion", "loss"))
    assert "Training finished" in s.panel.status.text() and s.diagnostics.stats
    assert any(item.badge for item in window.scene.nodes.values())
    assert window.open_path(str(EXAMPLES / "lenet5.json"), ask=False)
    assert shown(s.dashboard) == {"boundary": 0, "confusion": 0, "filters": 0, "loss": 0}
    assert "finished" not in s.panel.status.text() and s.panel.progress.format() == "Ready"
    assert not s.diagnostics.stats and not any(i.badge for i in window.scene.nodes.values())
    assert s.dashboard.heat.matrix.size == 0 and not s.dashboard.store.run.layers


def test_reopening_a_trained_file_restores_its_views(qtbot, window, tmp_path):
    s = start(window)
    assert train(qtbot, window) == "finished"
    before = s.dashboard.store.run
    boundary, confusion = before.boundary.probs.copy(), before.confusion.counts.copy()
    path = tmp_path / "xor.lwnet"
    assert window.files.save_to(str(path))
    window.files.new()
    assert shown(s.dashboard)["boundary"] == 0
    assert window.open_path(str(path), ask=False)
    qtbot.waitUntil(lambda: s.dashboard.store.run.confusion is not None, timeout=10000)
    run = s.dashboard.store.run
    assert np.allclose(run.boundary.probs, boundary, atol=1e-6)   # the same weights and data
    assert np.array_equal(run.confusion.counts, confusion) and run.confusion.epoch == 3
    s.dashboard.docks["Confusion"].raise_()
    qtbot.waitUntil(lambda: s.dashboard.confusion.matrix.size > 0)
    assert "Trained weights from the file" in s.panel.status.text()
    assert s.panel.progress.format() == "Trained 3 epochs"


def test_a_convolution_file_shows_its_filters_without_data(qtbot, window, tmp_path):
    s = window.ensure_training()
    spec = engine.NetworkSpec.sequential((1, 8, 8), [
        ("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("Flatten", {}),
        ("Linear", {"out_features": 10})], name="conv")
    model = engine.build(spec)
    path = tmp_path / "conv.lwnet"
    engine.save(path, spec, model=model)
    assert window.open_path(str(path), ask=False)
    qtbot.waitUntil(lambda: s.dashboard.store.run.filters is not None, timeout=10000)
    weights = s.dashboard.store.run.filters.filters["conv2d_1"]
    assert np.allclose(weights, model.layers["conv2d_1"].weight.detach().numpy())


class PauseAt(engine.Callback):
    """Pauses the run from its own thread after step `step`: as a click on Pause would, but
    at a known step however fast the machine is."""

    def __init__(self, session, step: int):
        self.session, self.step = session, step

    def on_batch_start(self, run, step: int) -> None:     # training steps only
        if step == self.step:        # the loop pauses before the next step
            self.session.worker.control.pause()


def pause_early(qtbot, s, monkeypatch, step: int = 5) -> None:
    real = jobs._callbacks
    monkeypatch.setattr(jobs, "_callbacks", lambda *a: real(*a) + [PauseAt(s, step)])
    s.start("train")
    qtbot.waitUntil(lambda: s.state() == "paused", timeout=20000)
    s.update_state()
    monkeypatch.setattr(jobs, "_callbacks", real)


def test_an_edit_made_while_paused_takes_effect_on_resume(qtbot, window, monkeypatch):
    s = start(window, epochs=4, probe_every=1)
    pause_early(qtbot, s, monkeypatch)
    window.scene.select_nodes(["tanh_1"])
    linear = window.append_kind("Linear")
    window.doc.undo_stack.push(SetParamCommand(window.doc, linear, "out_features", 8))
    window.append_kind("ReLU")
    assert s.edits.pending()
    with qtbot.waitSignal(window.training_finished, timeout=60000) as blocker:
        s.toggle_pause()                 # resume: the edited network trains from here
    assert blocker.args == ["finished"]
    history = window.doc.history
    (edit,) = engine.network_edits(history)
    assert edit == 5 and len(history["epochs"]) == 4   # the run's target, not 4 more
    probes = history["probes"]
    steps = np.array(probes["step"])
    grads = np.array([np.nan if v is None else v for v in probes["layers"][linear]["grad_rms"]])
    assert np.isnan(grads[steps <= edit]).all() and np.isfinite(grads[steps > edit]).all()
    assert window.doc.model.spec.nodes.keys() == window.doc.spec.nodes.keys()
    assert s.dashboard.edit_steps == [edit]
    x, _ = s.dashboard.weight_grad.curve_data(window.doc.spec.label(linear))
    assert x.size and x.min() > edit
    for node in ("linear_1", linear, "linear_2"):     # each curve in its layer's new colour
        curve = s.dashboard.weight_grad.curves[window.doc.spec.label(node)]
        assert curve.opts["pen"].color().name() == s.diagnostics.colours[node]
    assert window.scene.nodes[linear].badge is not None


def test_an_edit_that_loses_trained_weights_is_asked_first(qtbot, window, monkeypatch):
    s = start(window, epochs=4, probe_every=0)
    pause_early(qtbot, s, monkeypatch)
    window.doc.undo_stack.push(SetParamCommand(window.doc, "linear_1", "out_features", 6))
    asked = []
    monkeypatch.setattr(dialogs, "choose", lambda *a, **k: asked.append(a[2]) or "stay")
    s.toggle_pause()
    assert s.state() == "paused" and "Linear 1, Linear 2" in asked[0]
    monkeypatch.setattr(dialogs, "choose", lambda *a, **k: "resume")
    with qtbot.waitSignal(window.training_finished, timeout=60000) as blocker:
        s.toggle_pause()
    assert blocker.args == ["finished"] and len(engine.network_edits(window.doc.history)) == 1
    assert window.doc.model.layers["linear_1"].weight.shape[0] == 6


def test_progress_counts_epochs_over_the_whole_history():
    from gui.training.progress import Progress
    progress = Progress(epochs=60)        # 60 more epochs after 24 done
    progress.step(engine.StepEvent(241, 25, 1, 10, 0.5, 0.01, 16), now=0.0)
    assert progress.text(paused=True) == "Epoch 25/84 · paused"


def test_an_edit_during_pretraining_waits_for_the_next_train(qtbot, window, monkeypatch):
    s = start(window, epochs=2, probe_every=0)
    s.panel.load(window.doc.recipe.replace(pretrain=engine.PretrainConfig(
        mode="supervised", epochs=3)))
    s.start("train")
    s.worker.pause()                                      # held before its first batch
    qtbot.waitUntil(lambda: s.state() == "paused")
    s.progress.pretraining = True                         # as a stage's event would set it
    window.doc.undo_stack.push(SetParamCommand(window.doc, "linear_1", "out_features", 6))
    asked = []
    monkeypatch.setattr(dialogs, "choose", lambda *a, **k: asked.append(a[2]) or "resume")
    with qtbot.waitSignal(window.training_finished, timeout=60000):
        s.toggle_pause()
    assert "during pre-training" in asked[0]
    assert engine.network_edits(window.doc.history) == []     # trained as it started
    assert window.doc.model.layers["linear_1"].weight.shape[0] == 6   # the edit, carried over


def test_a_run_label_follows_its_latest_settings_unless_renamed(qtbot, window):
    s = start(window, epochs=1, probe_every=0)
    assert train(qtbot, window) == "finished"
    assert [r["label"] for r in window.doc.runs] == ["run 1: adam, lr 0.01 on xor"]
    s.panel.load(window.doc.recipe.replace(train=window.doc.recipe.train.replace(lr=0.05)))
    assert train(qtbot, window) == "finished"              # continues run 1
    assert [r["label"] for r in window.doc.runs] == ["run 1: adam, lr 0.05 on xor"]
    window.doc.rename_run(window.doc.runs[0]["id"], "my run")
    assert train(qtbot, window) == "finished"
    assert [r["label"] for r in window.doc.runs] == ["my run"]


def test_layers_are_coloured_by_the_rms_and_old_statistics_by_the_norm(window):
    s = start(window)
    assert s.diag_panel.colour_by.currentData() == "gradient_rms"
    s.diagnostics.show({"linear_1": {"grad_rms": 0.1}, "linear_2": {"grad_rms": 0.001}}, "new")
    assert window.scene.nodes["linear_2"].badge[0] == "1/100"
    s.diagnostics.show({"linear_1": {"grad_norm": 0.1}, "linear_2": {"grad_norm": 0.01}}, "old")
    assert s.diag_panel.colour_by.currentData() == "gradient"
    assert window.scene.nodes["linear_2"].badge[0] == "1/10"
    s.diagnostics.show({"linear_1": {"grad_rms": 0.1, "grad_norm": 0.2}}, "a new run")
    assert s.diag_panel.colour_by.currentData() == "gradient_rms"     # back to the first


def test_each_plot_gives_its_layers_distinct_colours(window):
    layers = [part for _ in range(8) for part in (("Linear", {"out_features": 4}),
                                                  ("Tanh", {}))]
    s = start(window, layers=layers + [("Linear", {"out_features": 2})])
    weighted, activations = s._probed()
    for group in (weighted, activations):           # 9 and 8 layers, one plot each
        assert len({s.diagnostics.colours[n] for n in group}) == len(group)


def test_an_edit_in_the_fine_tuning_of_a_pretrained_run_goes_on_without_pretraining_again(
        qtbot, window, monkeypatch):
    s = start(window, epochs=3, probe_every=0)
    s.panel.load(window.doc.recipe.replace(pretrain=engine.PretrainConfig(
        mode="supervised", epochs=1)))
    pause_early(qtbot, s, monkeypatch, step=3)            # step 3 of fine-tuning
    qtbot.waitUntil(lambda: s.edits.fine_tuning)          # its PhaseEvent, drained
    window.scene.select_nodes(["tanh_1"])
    window.append_kind("ReLU")
    with qtbot.waitSignal(window.training_finished, timeout=60000) as blocker:
        s.toggle_pause()
    assert blocker.args == ["finished"]
    history = window.doc.history
    assert engine.network_edits(history) == [3] and len(history["epochs"]) == 3
    assert len(history["stages"]) == 1                    # its one block, pre-trained once


def test_stop_while_an_edit_is_applied_ends_the_run(qtbot, window, monkeypatch):
    s = start(window, epochs=4, probe_every=0)
    pause_early(qtbot, s, monkeypatch)
    window.scene.select_nodes(["tanh_1"])
    window.append_kind("ReLU")
    with qtbot.waitSignal(window.training_finished, timeout=60000) as blocker:
        s.toggle_pause()                                  # applying the edit…
        s.stop()                                          # …and Stop after all
    assert blocker.args == ["stopped"] and not s.busy
    assert engine.network_edits(window.doc.history) == [] and len(window.doc.history["epochs"]) < 4


def test_new_while_an_edit_is_applied_keeps_nothing_of_the_run(qtbot, window, monkeypatch):
    s = start(window, epochs=4, probe_every=0)
    pause_early(qtbot, s, monkeypatch)
    window.scene.select_nodes(["tanh_1"])
    window.append_kind("ReLU")
    s.toggle_pause()
    assert window.files.new()
    qtbot.wait(100)
    assert not s.busy and window.doc.runs == [] and window.doc.history is None


def test_an_edit_that_breaks_the_data_fit_keeps_the_run_paused(qtbot, window, monkeypatch):
    s = start(window, epochs=4, probe_every=0)
    qtbot.waitUntil(lambda: window.data_fit.data is not None)     # the data set was read
    pause_early(qtbot, s, monkeypatch)
    monkeypatch.setattr(dialogs, "choose", lambda *a, **k: "resume")   # weights lost: go on
    window.doc.undo_stack.push(SetParamCommand(window.doc, "linear_2", "out_features", 3))
    s.toggle_pause()
    assert s.state() == "paused" and "does not fit" in s.panel.status.text()
    window.doc.undo_stack.undo()                          # the person undoes the edit
    with qtbot.waitSignal(window.training_finished, timeout=60000) as blocker:
        s.toggle_pause()                                  # a plain resume
    assert blocker.args == ["finished"] and engine.network_edits(window.doc.history) == []


def test_reset_weights_drops_the_views_still_being_restored(qtbot, window, tmp_path):
    s = start(window, epochs=1, probe_every=0)
    assert train(qtbot, window) == "finished"
    path = tmp_path / "xor.lwnet"
    assert window.files.save_to(str(path))
    assert window.open_path(str(path), ask=False)
    assert s.reset_weights()                              # before the views arrive
    qtbot.wait(300)
    assert s.dashboard.store.run.confusion is None and s.dashboard.store.run.boundary is None


def test_a_file_stopped_within_its_first_epoch_reopens_as_trained_not_ready(qtbot, window):
    class StopAt(engine.Callback):
        def __init__(self, control):
            self.control = control

        def on_batch_start(self, run, step):
            if step == 4:
                self.control.stop()
    control = engine.Control()
    spec = engine.NetworkSpec.sequential((2,), XOR_NET, name="xor net")
    run = engine.train(spec, engine.load_dataset("xor", samples=400), engine.TrainConfig(
        epochs=2, batch_size=16, probe_every=0), callbacks=[StopAt(control)], control=control)
    assert run.status == "stopped" and not engine.finished_epochs(run.history)
    s = window.ensure_training()
    window.doc.replace(run.model.spec, "/tmp/x.lwnet", "x", run.model, run.history)
    assert s.panel.progress.format() == "Trained 4 steps"
    assert s.panel.status.text() == ("Trained weights from the file. After 4 steps of the "
                                     "first epoch. Train continues from them.")
