"""The "Through time" plot: the LSTM example, trained in the window, shows how much gradient
reaches each part of its sequence (latest probe against the first); a saved run shows it
again when reopened, another network shows nothing."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import engine
from gui.training import through_time

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def curves(dashboard) -> dict[str, np.ndarray]:
    dashboard.refresh(force=True)
    plot = dashboard.through_time
    return {name: plot.curve_data(name)[1] for name in plot.curves
            if plot.curve_data(name)[1].size}


def test_the_lstm_example_shows_its_gradient_through_time(qtbot, window, monkeypatch, tmp_path):
    from gui import dialogs
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *a: "discard")
    torch.set_num_threads(1)
    session = window.ensure_training()
    assert window.open_example(str(EXAMPLES / "lstm_adding.json"))
    assert curves(session.dashboard) == {}
    assert not session.dashboard.through_time.has_data      # its empty text instead
    recipe = session.panel.recipe()
    session.panel.load(recipe.with_settings(train={"epochs": 1, "probe_every": 4}).replace(
        data=engine.DataRef(recipe.data.name, {**recipe.data.options, "samples": 400})))
    with qtbot.waitSignal(window.training_finished, timeout=120000) as blocker:
        assert window.start_training()
    assert blocker.args == ["finished"], window.doc.history.get("message")
    shown = curves(session.dashboard)
    assert "no activation layer" in session.dashboard.activations.message.text()  # not "press"
    latest = [name for name in shown if name.endswith("latest probe")]
    first = [name for name in shown if name.endswith("first probe")]
    assert len(latest) == len(first) == 1 and len(shown[latest[0]]) == 8
    (node, (values_first, values_latest, _, _)), = through_time.profiles(
        session.dashboard.store.run).items()
    probes = window.doc.history["probes"]["layers"][node]
    assert list(shown[latest[0]]) == [probes[f"step_grad_{k}"][-1] for k in range(1, 9)]
    assert list(shown[first[0]]) == [probes[f"step_grad_{k}"][0] for k in range(1, 9)]

    path = tmp_path / "lstm.lwnet"
    assert window.files.save_to(str(path))
    assert window.open_path(str(EXAMPLES / "lenet5.json"), ask=False)
    assert curves(session.dashboard) == {}
    assert session.dashboard.activations.message.text().endswith("press Train")
    assert window.open_path(str(path), ask=False)
    again = curves(session.dashboard)
    assert again.keys() == shown.keys()
    assert all(np.allclose(again[k], shown[k], rtol=1e-6) for k in shown)   # stored float32
