"""Live training in the window: buttons, states, endings, the dashboard, continue after edits."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

import engine
from gui_helpers import field
from gui.commands import SetParamCommand
from gui.training import files as tfiles

XOR_NET = [("Linear", {"out_features": 8}), ("Tanh", {}), ("Linear", {"out_features": 2})]


def settings(**changes):
    from gui_helpers import recipe
    return recipe(**{"dataset": {"name": "xor", "options": {"samples": 200, "noise": 0.05,
                                                             "seed": 0}},
                     "epochs": 3, "batch_size": 16, "probe_every": 2, "lr": 0.01, **changes})


def load(win, layers=XOR_NET, shape=(2,), **changes):
    session = win.ensure_training()
    spec = engine.NetworkSpec.sequential(shape, layers, name="test")
    win.doc.replace(spec, None, "test", recipe=settings(**changes))
    return session


def train(qtbot, win, timeout=60000) -> str:
    with qtbot.waitSignal(win.training_finished, timeout=timeout) as blocker:
        assert win.start_training()
    return blocker.args[0]


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    asked = []
    monkeypatch.setattr(tfiles, "confirm", lambda *a: asked.append(a[1]) or True)
    from gui import dialogs
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *a: "discard")
    torch.set_num_threads(1)
    return asked


def test_train_through_the_button_and_the_dashboard_equals_the_history(qtbot, window):
    s = load(window)
    with qtbot.waitSignal(window.training_finished, timeout=60000) as blocker:
        qtbot.mouseClick(s.panel.train_button, Qt.LeftButton)
    assert blocker.args == ["finished"]
    history = window.doc.history
    assert len(history["epochs"]) == 3 and window.doc.model is not None
    assert window.doc.is_modified() and "*" in window.windowTitle() or window.isWindowModified()
    x, y = s.dashboard.loss.curve_data("loss")        # the shown plots: drawn at the end
    assert x.tolist() == [st["step"] for st in history["steps"]]
    assert np.allclose(y, [st["loss"] for st in history["steps"]])
    gx, gy = s.dashboard.weight_grad.curve_data("Linear 1")
    assert gx.tolist() == history["probes"]["step"]
    shown = s.dashboard.grad_stat.currentData()           # the per-weight RMS at first
    assert shown == "grad_rms"
    assert np.allclose(gy, history["probes"]["layers"]["linear_1"][shown])
    s.dashboard.grad_stat.setCurrentIndex(s.dashboard.grad_stat.findData("grad_norm"))
    assert np.allclose(s.dashboard.weight_grad.curve_data("Linear 1")[1],
                       history["probes"]["layers"]["linear_1"]["grad_norm"])
    assert s.dashboard.weight_grad.plot.getAxis("left").labelText == "‖∂L/∂W‖"
    s.dashboard.docks["Accuracy"].raise_()                # a tab behind: drawn when shown
    qtbot.waitUntil(lambda: len(s.dashboard.accuracy.curve_data("validation")[1]) == 3)
    _, acc = s.dashboard.accuracy.curve_data("validation")
    assert np.allclose(acc, [e["val_acc"] for e in history["epochs"]])
    assert s.dashboard.store.run.boundary is not None          # 2-D data: the boundary
    assert s.dashboard.store.run.confusion.epoch == 3          # classes: confusion matrix
    assert "Training finished" in s.panel.status.text()
    assert s.panel.train_button.isEnabled() and not s.panel.stop_button.isEnabled()


def test_pause_resume_stop_and_the_buttons_follow(qtbot, window):
    s = load(window, epochs=5000)
    assert window.start_training()
    qtbot.waitUntil(lambda: s.dashboard.store.run.step > 5, timeout=30000)
    assert not s.panel.train_button.isEnabled() and s.panel.pause_button.isEnabled()
    assert not window.start_training()                           # one run at a time
    assert "already in progress" in s.panel.status.text()
    qtbot.mouseClick(s.panel.pause_button, Qt.LeftButton)
    assert s.state() == "paused" and s.panel.pause_button.text() == "Resume"
    qtbot.wait(200)
    step = s.dashboard.store.run.step
    qtbot.wait(300)
    assert s.dashboard.store.run.step <= step + 1                # nothing moves while paused
    qtbot.mouseClick(s.panel.pause_button, Qt.LeftButton)
    assert s.state() == "training" and s.panel.pause_button.text() == "Pause"
    qtbot.waitUntil(lambda: s.dashboard.store.run.step > step + 3, timeout=30000)
    with qtbot.waitSignal(window.training_finished, timeout=30000) as blocker:
        qtbot.mouseClick(s.panel.stop_button, Qt.LeftButton)
    assert blocker.args == ["stopped"]
    assert window.doc.model is not None and window.doc.history["status"] == "stopped"
    assert s.panel.reset_button.isEnabled() and not s.panel.pause_button.isEnabled()


def test_the_status_line_says_training_once_the_data_set_is_loaded(qtbot, window):
    """A job that reads its data set itself says so, then says what it does again (it said
    "Loading mnist-5k…" for the whole run)."""
    from types import SimpleNamespace
    from gui.training import jobs
    queue = engine.EventQueue()
    jobs.load_data(SimpleNamespace(dataset=None, recipe=settings()), queue, engine.Control())
    phases = [e for e in queue.drain() if isinstance(e, engine.PhaseEvent)]
    assert [(e.phase, e.title) for e in phases] == [("data", "loading xor"), ("data", "")]
    s = load(window, epochs=5000)
    assert window.start_training()
    for event in phases:
        s._phase(event)
        if event.title:
            assert s.panel.status.text() == "Loading xor…"
    assert s.panel.status.text() == "Training…"
    with qtbot.waitSignal(window.training_finished, timeout=30000):
        qtbot.mouseClick(s.panel.stop_button, Qt.LeftButton)


def test_events_reach_the_window_at_most_twenty_times_a_second(qtbot, window):
    s = load(window, epochs=40)
    batches = []
    s.worker.events.connect(lambda b: batches.append(len(b)))
    import time
    t0 = time.monotonic()
    train(qtbot, window)
    seconds = time.monotonic() - t0
    assert sum(batches) > len(batches)                          # several events per batch
    assert len(batches) <= seconds * 20 + 3


def test_closing_during_training_asks_stops_and_leaves_no_thread(qtbot, window, _quiet):
    s = load(window, epochs=5000)
    assert window.start_training()
    qtbot.waitUntil(lambda: s.dashboard.store.run.step > 3, timeout=30000)
    thread = s.worker.thread
    assert window.close()
    assert _quiet == ["Training is running"]
    assert not s.busy and thread.isFinished()
    assert not s.worker.timer.isActive()


def test_opening_another_network_during_training_stops_it_first(qtbot, window, _quiet):
    s = load(window, epochs=5000)
    assert window.start_training()
    qtbot.waitUntil(lambda: s.dashboard.store.run.step > 3, timeout=30000)
    assert window.files.new()
    assert _quiet == ["Training is running"] and not s.busy
    assert window.doc.model is None and s.dashboard.store.run.step == 0


def test_declining_to_stop_keeps_training(qtbot, window, monkeypatch):
    s = load(window, epochs=5000)
    assert window.start_training()
    monkeypatch.setattr(tfiles, "confirm", lambda *a: False)
    assert not window.files.new()
    assert s.busy and window.doc.spec.name == "test"
    with qtbot.waitSignal(window.training_finished, timeout=30000):
        window.stop_training()


def test_a_diverging_run_shows_its_message_and_keeps_finite_weights(qtbot, window):
    layers = [("Linear", {"out_features": 16}), ("ReLU", {}), ("Linear", {"out_features": 1})]
    s = load(window, layers, (1,), dataset={"name": "sine", "options": {}}, optimizer="sgd",
             lr=10.0, epochs=20)
    assert train(qtbot, window) == "failed"
    text = s.panel.status.text()
    assert text.startswith("Training failed:") and "lower learning rate" in text
    assert text.count("The weights kept are") == 1 and "from before the failure" not in text
    assert all(torch.isfinite(p).all() for p in window.doc.model.parameters())
    assert s.panel.progress.format() == "Failed" and s.panel.train_button.isEnabled()


def test_a_dataset_that_does_not_fit_is_refused_clearly(qtbot, window):
    s = load(window, shape=(3,))
    qtbot.waitUntil(lambda: bool(window.data_fit.problems))     # once the data set is read
    assert not window.start_training()
    assert "The data set does not fit the network" in s.panel.status.text()
    window.data_fit.set_data(None)            # not read yet: the job finds it and refuses
    assert train(qtbot, window) == "failed"
    assert "the network's Input has shape [3]" in s.panel.status.text()
    assert "did not start" in s.panel.status.text() and s.panel.progress.format() == \
        "Not started"
    assert window.doc.model is None


def test_an_invalid_network_or_no_dataset_does_not_start(qtbot, window):
    s = load(window, dataset={"name": "", "options": {}})
    assert not window.start_training() and "Choose a data set" in s.panel.status.text()
    window.doc.replace(engine.NetworkSpec(), None, "empty")
    assert not window.start_training() and "fix them" in s.panel.status.text()


def test_continue_after_an_edit_keeps_the_unchanged_weights(qtbot, window):
    layers = [("Linear", {"out_features": 8}), ("Tanh", {}), ("Linear", {"out_features": 6}),
              ("Tanh", {}), ("Linear", {"out_features": 2})]
    load(window, layers)
    train(qtbot, window)
    trained = {k: v.clone() for k, v in window.doc.model.state_dict().items()}
    steps = len(window.doc.history["steps"])
    window.doc.undo_stack.push(SetParamCommand(window.doc, "linear_2", "out_features", 5))
    model = window.doc.model
    assert torch.equal(model.layers["linear_1"].weight, trained["layers.linear_1.weight"])
    assert model.layers["linear_2"].weight.shape == (5, 8)
    assert model.layers["linear_3"].weight.shape == (2, 5)
    assert window.doc.optimizer_state is None                  # moments no longer fit
    window.doc.undo_stack.undo()                               # undo gives every weight back
    for k, v in window.doc.model.state_dict().items():
        assert torch.equal(v, trained[k]), k
    assert window.doc.optimizer_state is not None
    window.doc.undo_stack.redo()
    train(qtbot, window)
    history = window.doc.history
    assert history["steps"][steps]["step"] == steps + 1        # the history goes on
    assert len(history["runs"]) == 2


def test_reset_weights_starts_afresh(qtbot, window, _quiet):
    s = load(window)
    train(qtbot, window)
    assert s.panel.reset_button.isEnabled()
    qtbot.mouseClick(s.panel.reset_button, Qt.LeftButton)
    assert _quiet == ["Reset weights"]
    assert window.doc.model is None and window.doc.history is None
    assert s.dashboard.loss.curve_data("loss")[0].size == 0
    train(qtbot, window)
    assert window.doc.history["steps"][0]["step"] == 1


def test_save_and_reopen_keeps_settings_weights_optimizer_and_plots(qtbot, window, tmp_path):
    s = load(window)
    field(s.panel, "epochs").setValue(2)
    assert window.doc.recipe.train.epochs == 2 and window.doc.is_modified()
    train(qtbot, window)
    path = tmp_path / "xor.lwnet"
    assert window.files.save_to(str(path))
    assert not window.doc.is_modified()
    history = window.doc.history
    window.files.new()
    assert window.open_path(str(path), ask=False)
    assert window.doc.optimizer_state is not None and window.doc.model is not None
    assert field(s.panel, "epochs").value() == 2
    assert s.panel.dataset.reference()["name"] == "xor"
    x, y = s.dashboard.loss.curve_data("loss")        # the shown plots: drawn at the end
    assert x.tolist() == [st["step"] for st in history["steps"]]
    assert "From the saved history" in s.diag_panel.source.text()
    saved = engine.load(path)
    assert saved.recipe == window.doc.recipe          # the settings shown, as they were
    assert saved.recipe.pretrain.mode == "none" and saved.recipe.train.epochs == 2


def test_hover_readout_and_export_csv_and_png(qtbot, window, tmp_path, monkeypatch):
    s = load(window)
    train(qtbot, window)
    s.dashboard.refresh(force=True)
    out = iter([str(tmp_path / "loss.csv"), str(tmp_path / "loss.png"),
                str(tmp_path / "heat.csv")])
    monkeypatch.setattr(tfiles, "ask_save_path", lambda *a: next(out))
    s.dashboard.loss.ask_csv()
    s.dashboard.loss.ask_png()
    s.dashboard.docks["Gradient map"].raise_()
    s.dashboard.refresh(force=True)
    s.dashboard.heat._ask_csv()
    steps = window.doc.history["steps"]
    text = s.dashboard.loss.readout_at(steps[4]["step"] + 0.2)
    assert text.startswith(f"step {steps[4]['step']}:") and f"loss {steps[4]['loss']:.4g}" in text
    rows = (tmp_path / "loss.csv").read_text().splitlines()
    assert rows[0] == "series,step,loss"
    assert len(rows) == 1 + 2 * len(window.doc.history["steps"]) + 3
    assert (tmp_path / "loss.png").stat().st_size > 1000
    heat = (tmp_path / "heat.csv").read_text().splitlines()
    assert len(heat) == 2                                      # two weighted layers


def test_check_trainability_colours_nodes_and_warns(qtbot, window):
    s = window.ensure_training()
    window.open_example("resources/examples/deep_sigmoid.json")
    assert s.panel.dataset.reference()["name"] == "mnist-5k"   # suggested by the input shape
    with qtbot.waitSignal(window.training_finished, timeout=60000):
        qtbot.mouseClick(s.diag_panel.check, Qt.LeftButton)
    warnings = [s.diag_panel.list.item(i).text() for i in range(s.diag_panel.list.count())]
    assert any("vanishing gradient" in w and "Linear 1" in w for w in warnings)
    item = window.scene.nodes["linear_1"]
    assert item.tint is not None and item.badge[0].startswith("1/")
    assert window.scene.nodes["linear_6"].badge[0] == "1"
    s.diag_panel.colour_by.setCurrentIndex(s.diag_panel.colour_by.findData("sparsity"))
    assert window.scene.nodes["linear_1"].badge is None
    assert window.scene.nodes["sigmoid_1"].badge[0] == "0%"


def test_download_progress_and_a_users_csv_file(qtbot, window, tmp_path, monkeypatch):
    from gui.training import jobs
    s = load(window)
    s.panel.dataset.set_reference({"name": "mnist", "options": {}})
    if not s.panel.dataset.needs_download():
        pytest.skip("mnist is already in this machine's cache")
    seen = []
    real_load = engine.load_dataset
    xor = real_load("xor")

    def fake_load(name, progress=None, **options):
        for done in (0, 50, 100):
            progress("train-images-idx3-ubyte.gz", done, 100)
        return xor
    monkeypatch.setattr(jobs.engine, "load_dataset", fake_load)
    s.panel.dataset.show_progress = lambda done, total: seen.append((done, total))
    with qtbot.waitSignal(window.training_finished, timeout=30000) as blocker:
        qtbot.mouseClick(s.panel.dataset.download, Qt.LeftButton)
    assert blocker.args == ["finished"] and seen[-1] == (100, 100)
    assert "is ready" in s.panel.status.text()
    monkeypatch.setattr(jobs.engine, "load_dataset", real_load)
    path = tmp_path / "points.csv"
    path.write_text("a,b,label\n" + "".join(f"{i % 7},{i % 5},{i % 2}\n" for i in range(40)))
    monkeypatch.setattr(tfiles, "ask_data_path", lambda *a: str(path))
    box = s.panel.dataset
    box._activated(box.combo.findData("__open_file__"))
    assert box.reference()["name"] == str(path)
    assert window.doc.recipe.data.name == str(path)
    assert box.summary.text().startswith("40 samples · input 2 · 2 classes")


def test_the_summary_counts_the_steps_the_fp16_loss_scaler_skipped():
    from gui.training.endings import summary
    epochs = [{"epoch": 2, "train_loss": 0.5, "val_acc": 0.9, "val_loss": 0.3}]
    history = {"epochs": epochs, "runs": [{"skipped_steps": 3}]}
    assert "3 steps skipped by the fp16 loss scaler" in summary(history)
    history["runs"] = [{"skipped_steps": 0}]
    assert "skipped" not in summary(history)


@pytest.mark.parametrize("example, stat", [("deep_sigmoid", "saturation"),
                                           ("deep_relu_he", "sparsity"), ("toy_2d", "saturation"),
                                           ("lenet5", "sparsity")])
def test_the_activation_plot_shows_what_the_networks_units_are_about(window, example, stat):
    from gui_helpers import EXAMPLES
    s = window.ensure_training()
    assert window.open_example(str(EXAMPLES / f"{example}.json"))
    assert s.dashboard.act_stat.currentText() == stat
