"""The convolutional autoencoder from the examples trains in the window as it is opened: it is
set to learn its inputs, and the views that need classes (the confusion matrix) stay empty
instead of comparing reconstructions with labels."""
from __future__ import annotations

from pathlib import Path

import torch

import engine

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def test_the_autoencoder_example_learns_its_inputs_in_the_window(qtbot, window, monkeypatch):
    from gui import dialogs
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *a: "discard")
    torch.set_num_threads(1)
    session = window.ensure_training()
    assert window.open_example(str(EXAMPLES / "conv_autoencoder.json"))
    recipe = session.panel.recipe()
    assert recipe.train.target == "inputs" and recipe.data.name == "mnist-5k"
    session.panel.load(recipe.with_settings(train={"epochs": 2, "probe_every": 5}).replace(
        data=engine.DataRef("mnist-5k", {"samples": 300})))
    seen = []
    session.dashboard.add = (lambda real: lambda events: (seen.extend(events),
                                                          real(events))[1])(session.dashboard.add)
    with qtbot.waitSignal(window.training_finished, timeout=120000) as blocker:
        assert window.start_training()
    assert blocker.args == ["finished"], window.doc.history.get("message")
    epochs = window.doc.history["epochs"]
    assert epochs[-1]["val_loss"] < epochs[0]["val_loss"] and epochs[-1]["val_acc"] is None
    assert not any(isinstance(e, engine.ConfusionEvent) for e in seen)
    assert any(isinstance(e, engine.FiltersEvent) for e in seen)
