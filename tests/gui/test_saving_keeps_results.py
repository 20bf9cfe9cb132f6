"""A save that cannot hold the trained weights says so and leaves them unsaved, so that
closing or opening another network still asks: a network.json holds the network only, and a
network with problems cannot take the weights until it is fixed (or the edit undone)."""
from __future__ import annotations

import pytest
import torch

import engine
from gui import dialogs
from gui.training import files as tfiles
from gui_helpers import recipe

XOR_NET = [("Linear", {"out_features": 8}), ("Tanh", {}), ("Linear", {"out_features": 2})]


@pytest.fixture
def trained(qtbot, window, monkeypatch):
    monkeypatch.setattr(tfiles, "confirm", lambda *a: True)
    torch.set_num_threads(1)
    window.ensure_training()
    spec = engine.NetworkSpec.sequential((2,), XOR_NET, name="xor net")
    window.doc.replace(spec, None, "xor net", recipe=recipe(
        dataset={"name": "xor", "options": {"samples": 200, "noise": 0.05, "seed": 0}},
        epochs=1, batch_size=16, probe_every=0, lr=0.01))
    with qtbot.waitSignal(window.training_finished, timeout=60000) as ended:
        assert window.start_training()
    assert ended.args[0] == "finished" and window.doc.model is not None
    messages: list[str] = []
    window.files.message.connect(messages.append)
    return window, messages


def answering(monkeypatch, answer):
    asked = []
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *a: asked.append(a) or answer)
    return asked


def test_a_json_save_keeps_the_trained_weights_unsaved_and_closing_asks(trained, tmp_path,
                                                                        monkeypatch):
    window, messages = trained
    path = tmp_path / "net.json"
    assert window.files.save_to(str(path))
    assert "use Save As .lwnet to keep them" in messages[-1]
    assert window.doc.is_modified() and window.isWindowModified()
    asked = answering(monkeypatch, "save")
    assert not window.files.maybe_save("closing")      # saved again, still without them
    assert len(asked) == 1 and engine.load(path).model is None
    answering(monkeypatch, "discard")
    assert window.files.maybe_save("closing")           # the person's choice
    lwnet = tmp_path / "net.lwnet"
    assert window.files.save_to(str(lwnet))
    assert not window.doc.is_modified() and engine.load(lwnet).model is not None


def test_a_network_with_problems_is_saved_without_its_weights_which_stay_unsaved(
        trained, tmp_path, monkeypatch):
    window, messages = trained
    trained_weights = {k: v.clone() for k, v in window.doc.model.state_dict().items()}
    window.scene.select_nodes(["tanh_1"])
    window.delete_selection()                 # Linear 2 is left without an input
    assert not window.doc.analysis.ok and window.doc.model is None
    path = tmp_path / "x.lwnet"
    assert window.files.save_to(str(path))
    assert "saved without the trained weights: the network has problems" in messages[-1]
    assert engine.load(path).model is None and window.doc.is_modified()
    answering(monkeypatch, "save")
    assert not window.files.maybe_save("closing")
    window.doc.undo_stack.undo()
    assert window.doc.analysis.ok and window.doc.model is not None
    assert window.files.save_to(str(path))
    assert not window.doc.is_modified()
    saved = engine.load(path).model.state_dict()
    assert all(torch.equal(saved[k], v) for k, v in trained_weights.items())


def test_cancelling_the_choice_of_a_file_to_open_or_import_leaves_the_run_training(
        qtbot, window, monkeypatch):
    """The file is asked for first; only then is a run stopped and the document saved."""
    from gui.import_action import import_dialog
    session = window.ensure_training()
    spec = engine.NetworkSpec.sequential((2,), XOR_NET, name="xor net")
    window.doc.replace(spec, None, "xor net", recipe=recipe(
        dataset={"name": "xor", "options": {"samples": 2000, "noise": 0.05, "seed": 0}},
        epochs=50, batch_size=16, probe_every=0, lr=0.01))
    stops = []
    monkeypatch.setattr(tfiles, "confirm", lambda *a: stops.append(a) or True)
    assert window.start_training()
    qtbot.waitUntil(lambda: session.state() == "training", timeout=20000)
    monkeypatch.setattr(dialogs, "open_file_name", lambda *a: "")
    monkeypatch.setattr(dialogs, "import_file_name", lambda *a: "")
    assert not window.files.open_dialog() and not import_dialog(window)
    assert stops == [] and session.busy
    session.worker.control.stop()
    qtbot.waitUntil(lambda: not session.busy, timeout=20000)


def test_a_close_refused_because_the_run_is_still_stopping_says_so(qtbot, window,
                                                                   monkeypatch):
    import threading
    import time

    from gui.training import jobs
    sleeping = threading.Event()

    class Slow(engine.Callback):
        def on_batch_start(self, run, step):
            if step == 3:
                sleeping.set()
                time.sleep(2)
    session = window.ensure_training()
    spec = engine.NetworkSpec.sequential((2,), XOR_NET, name="xor net")
    window.doc.replace(spec, None, "xor net", recipe=recipe(
        dataset={"name": "xor", "options": {"samples": 200, "noise": 0.05, "seed": 0}},
        epochs=2, batch_size=16, probe_every=0, lr=0.01))
    monkeypatch.setattr(tfiles, "confirm", lambda *a: True)
    real = jobs._callbacks
    monkeypatch.setattr(jobs, "_callbacks", lambda *a: real(*a) + [Slow()])
    assert window.start_training()
    qtbot.waitUntil(sleeping.is_set, timeout=20000)     # inside the slow step
    wait = session.worker.wait
    monkeypatch.setattr(session.worker, "wait", lambda ms=30000: wait(100))
    assert not window.files.maybe_save("closing")
    assert "still stopping" in session.panel.status.text()
    assert session.state() == "stopping"
    qtbot.waitUntil(lambda: not session.busy, timeout=20000)
