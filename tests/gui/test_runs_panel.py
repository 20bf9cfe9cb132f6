"""Every run is kept with its settings; the Runs panel overlays, compares, renames, exports."""
from __future__ import annotations

import csv

import pytest
import torch

import engine
from gui.training import files as tfiles

XOR_NET = [("Linear", {"out_features": 8}), ("Tanh", {}), ("Linear", {"out_features": 2})]


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setattr(tfiles, "confirm", lambda *a: True)
    from gui import dialogs
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *a: "discard")
    torch.set_num_threads(1)


def load(win, **changes):
    from gui_helpers import recipe
    session = win.ensure_training()
    cfg = recipe(**{"dataset": {"name": "xor", "options": {"samples": 200, "noise": 0.05,
                                                            "seed": 0}},
                    "epochs": 2, "batch_size": 16, "probe_every": 4, "lr": 0.01,
                    "optimizer": "adam", **changes})
    win.doc.replace(engine.NetworkSpec.sequential((2,), XOR_NET, name="xor"), None, "xor",
                    recipe=cfg)
    return session


def train(qtbot, win) -> str:
    with qtbot.waitSignal(win.training_finished, timeout=60000) as blocker:
        assert win.start_training()
    return blocker.args[0]


def test_runs_are_kept_overlaid_compared_saved_and_exported(qtbot, window, tmp_path):
    session = load(window)
    assert train(qtbot, window) == "finished"
    assert window.device_status.text().startswith("cpu · ")      # where it trained
    assert not window.device_status.timer.isActive()
    assert len(window.doc.runs) == 1
    first = window.doc.runs[0]
    assert [r["id"] for r in window.runs_panel.selected()] == [first["id"]]   # shown at once
    assert window.runs_panel.curve_data("val_acc")
    assert first["config"]["optimizer"] == "adam" and len(first["history"]["epochs"]) == 2
    assert train(qtbot, window) == "finished"            # continuing updates the same run
    assert len(window.doc.runs) == 1 and len(window.doc.runs[0]["history"]["epochs"]) == 4
    session.reset_weights()
    session.panel.load(session.panel.recipe().with_settings(train={"optimizer": "sgd",
                                                                   "lr": 0.1}))
    assert train(qtbot, window) == "finished"
    runs = window.doc.runs
    assert len(runs) == 2 and runs[1]["config"]["optimizer"] == "sgd"
    panel = window.runs_panel
    assert panel.table.rowCount() == 2
    panel.select_ids([r["id"] for r in runs])
    curves = panel.curve_data("val_acc")
    assert [c[1] for c in curves] == [[e["val_acc"] for e in r["history"]["epochs"]]
                                      for r in runs]
    dialog = panel.compare_selected()
    assert ("optimizer", "adam", "sgd") in dialog.diff and ("lr", 0.01, 0.1) in dialog.diff
    dialog.close()
    panel.table.item(0, 0).setText("my first run")
    assert window.doc.runs[0]["label"] == "my first run"
    assert panel.write_csv(str(tmp_path / "runs.csv"))
    rows = list(csv.DictReader(open(tmp_path / "runs.csv")))
    assert [r["label"] for r in rows] == ["my first run", runs[1]["label"]]
    assert (tmp_path / "runs-curves.csv").read_text().count("val_acc") >= 6
    path = tmp_path / "kept.lwnet"
    assert window.files.save_to(str(path))
    assert [r["label"] for r in engine.load(path).runs] == ["my first run", runs[1]["label"]]
    window.doc.replace(engine.NetworkSpec(), None, "new")
    assert panel.table.rowCount() == 0
    assert window.open_path(str(path), ask=False)
    assert panel.table.rowCount() == 2
    panel.select_ids([window.doc.runs[0]["id"]])
    panel.delete_selected()
    assert len(window.doc.runs) == 1 and window.doc.is_modified()


def test_a_run_continued_after_reopening_its_file_stays_one_run(qtbot, window, tmp_path):
    from gui_helpers import recipe
    session = window.ensure_training()
    spec = engine.NetworkSpec.sequential((2,), [("Linear", {"out_features": 8}), ("Tanh", {}),
                                                ("Linear", {"out_features": 2})], name="xor")
    window.doc.replace(spec, None, "xor", recipe=recipe(
        dataset={"name": "xor", "options": {"samples": 200, "seed": 0}}, epochs=1,
        batch_size=16, probe_every=0, lr=0.01))
    for _ in range(2):
        with qtbot.waitSignal(window.training_finished, timeout=60000):
            assert window.start_training()
    assert [r["label"] for r in window.doc.runs] == ["run 1: adam, lr 0.01 on xor"]
    path = tmp_path / "a.lwnet"
    assert window.files.save_to(str(path)) and window.open_path(str(path), ask=False)
    with qtbot.waitSignal(window.training_finished, timeout=60000):
        assert window.start_training()
    runs = window.doc.runs
    assert [r["label"] for r in runs] == ["run 1: adam, lr 0.01 on xor"]
    assert len(runs[0]["history"]["epochs"]) == 3
    assert session.busy is False
