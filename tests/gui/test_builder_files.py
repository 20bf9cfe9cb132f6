"""Files through the window: save and re-open, bad files, unsaved-changes prompts, revert,
recent files, examples, dropped files, trained weights kept on save, autosave and recovery."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

import engine
from gui import dialogs, paths

from gui_helpers import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]


def answer_modal(handler) -> dict:
    """Run `handler(box)` on the next modal dialog, from the event loop it runs."""
    seen = {}

    def poll():
        box = QApplication.activeModalWidget()
        if box is None:
            QTimer.singleShot(10, poll)
            return
        seen["text"] = box.text() + "\n" + box.informativeText()
        handler(box)
    QTimer.singleShot(0, poll)
    return seen


def edit(window):
    """Some real change: conv2d_2 gets 20 feature maps."""
    window.scene.select_nodes(["conv2d_2"])
    assert window.inspector.propose("out_channels", 20)


def test_save_and_reopen_through_the_gui(window, tmp_path, monkeypatch):
    assert window.open_path(EXAMPLES / "lenet5.json")
    edit(window)
    assert window.isWindowModified()
    target = tmp_path / "mine.lwnet"
    monkeypatch.setattr(dialogs, "save_file_name", lambda parent, suggested: str(target))
    window.save_action.trigger()               # an example has no path yet: Save asks where
    assert target.is_file() and not window.isWindowModified()
    assert engine.load(EXAMPLES / "lenet5.json").spec != window.spec    # example untouched
    assert window.windowTitle() == "mine.lwnet[*] — Layerwise"
    saved = window.spec.copy()
    window.new_action.trigger()
    assert window.spec.nodes == {}
    monkeypatch.setattr(dialogs, "open_file_name", lambda parent, folder: str(target))
    window.open_action.trigger()
    assert window.spec == saved and window.doc.path == str(target.resolve())
    assert [a.text() for a in window.recent_menu.actions()][0] == "mine.lwnet"
    window.new_action.trigger()
    window.recent_menu.actions()[0].trigger()                   # Open Recent
    assert window.doc.path == str(target.resolve())
    window.scene.select_nodes(["linear_1"])
    assert window.inspector.propose("out_features", 100)
    assert window.isWindowModified()
    window.undo_action.trigger()
    assert window.spec == saved and not window.isWindowModified()


def test_a_network_json_is_saved_as_plain_json(window, tmp_path):
    path = tmp_path / "net.json"
    path.write_text((EXAMPLES / "mlp.json").read_text())
    assert window.open_path(path)
    window.scene.select_nodes(["linear_1"])
    assert window.inspector.propose("out_features", 200)
    window.save_action.trigger()
    data = json.loads(path.read_text())
    assert data["nodes"][2]["params"]["out_features"] == 200
    assert engine.NetworkSpec.from_dict(data) == window.spec
    assert window.files.save_to(str(tmp_path / "copy.json"))
    umask = os.umask(0o022)
    os.umask(umask)
    assert (tmp_path / "copy.json").stat().st_mode & 0o777 == 0o666 & ~umask


def test_bad_file_shows_every_problem_and_keeps_the_document(window, tmp_path):
    assert window.open_path(EXAMPLES / "lenet5.json")
    edit(window)
    before, title = window.spec.copy(), window.windowTitle()
    bad = json.loads((EXAMPLES / "mlp.json").read_text())
    bad["nodes"][2]["params"]["out_features"] = 0
    bad["nodes"][3]["kind"] = "Relu6"
    bad["edges"].append(["nowhere", "linear_1"])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    seen = answer_modal(lambda box: box.accept())
    assert not window.open_path(path, ask=False)
    assert "out_features" in seen["text"] and "Relu6" in seen["text"]
    assert "nowhere" in seen["text"] and "3 problems" in seen["text"]
    assert window.spec == before and window.windowTitle() == title
    assert window.isWindowModified()


def test_closing_with_unsaved_changes_asks_first(window, qtbot):
    assert window.open_path(EXAMPLES / "lenet5.json")
    edit(window)
    seen = answer_modal(lambda box: box.button(QMessageBox.Cancel).click())
    window.close()
    assert "Save the changes to “LeNet-5”" in seen["text"]
    assert window.isVisible() and window.isWindowModified()
    answer_modal(lambda box: box.button(QMessageBox.Discard).click())
    window.close()
    assert not window.isVisible()


def test_new_and_open_ask_and_can_save_first(window, tmp_path, monkeypatch):
    path = tmp_path / "lenet.lwnet"
    engine.save(path, engine.load(EXAMPLES / "lenet5.json").spec)
    assert window.open_path(path)
    edit(window)
    answers = ["cancel", "save"]
    monkeypatch.setattr(dialogs, "ask_save_changes",
                        lambda parent, name, action: answers.pop(0))
    window.new_action.trigger()
    assert "conv2d_2" in window.spec.nodes and window.isWindowModified()
    changed = window.spec.copy()
    window.new_action.trigger()                 # saves, then starts over
    assert window.spec.nodes == {} and engine.load(path).spec == changed


def test_failed_save_keeps_the_changes_and_says_why(window, tmp_path, monkeypatch):
    assert window.open_path(EXAMPLES / "lenet5.json")
    edit(window)
    errors = []
    monkeypatch.setattr(dialogs, "show_error", lambda parent, title, text: errors.append(text))
    assert not window.files.save_to(str(tmp_path / "missing" / "x.lwnet"))
    assert "does not exist" in errors[0] and window.isWindowModified()


def test_revert_goes_back_to_the_saved_file(window, tmp_path, monkeypatch):
    path = tmp_path / "lenet.json"
    path.write_text((EXAMPLES / "lenet5.json").read_text())
    assert window.open_path(path)
    saved = window.spec.copy()
    edit(window)
    assert window.revert_action.isEnabled()
    monkeypatch.setattr(dialogs, "confirm", lambda *a: True)
    window.revert_action.trigger()
    assert window.spec == saved and not window.isWindowModified()


def test_examples_menu_opens_each_example_as_an_untitled_copy(window):
    actions = window.examples_menu.actions()
    assert len(actions) == len(list(EXAMPLES.glob("*.json")))
    lenet = next(a for a in actions if a.text() == "LeNet-5")
    lenet.trigger()
    assert window.doc.path is None and window.doc.analysis.total_params == 61706
    assert window.windowTitle().startswith("LeNet-5")


def test_dropping_a_file_on_the_window_opens_it(window):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(EXAMPLES / "mlp.json"))])
    viewport = window.view.viewport()
    enter = QDragEnterEvent(QPoint(50, 50), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    ev = QDropEvent(QPointF(50, 50), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(viewport, ev)
    assert window.doc.path is None          # a bundled example opens as an untitled copy
    assert window.windowTitle().startswith("MLP")
    assert window.doc.analysis.total_params == 266610


def test_trained_weights_are_kept_until_they_no_longer_fit(window, tmp_path):
    spec = engine.NetworkSpec.sequential((4,), [("Linear", {"out_features": 3}), ("ReLU", {}),
                                                ("Linear", {"out_features": 2})])
    model = engine.build(spec)
    history = {"epochs": [{"epoch": 1, "train_loss": 0.5}], "steps": [], "probes": {}}
    path = tmp_path / "trained.lwnet"
    engine.save(path, spec, model=model, history=history, recipe={"epochs": 1})
    assert window.open_path(path)
    window.scene.select_nodes(["linear_1"])
    assert window.inspector.propose("init", "uniform")       # weights still fit
    window.save_action.trigger()
    again = engine.load(path)
    assert again.model is not None and again.history["epochs"] == history["epochs"]
    for key, value in model.state_dict().items():
        assert (again.model.state_dict()[key] == value).all()
    assert window.inspector.propose("out_features", 5)       # now they cannot
    window.save_action.trigger()
    again = engine.load(path)
    assert again.model is None and again.recipe.train.epochs == 1
    assert "no longer fit" in window.statusBar().currentMessage()


def test_autosave_writes_a_recovery_file_and_removes_it_when_saved(window, tmp_path, qtbot):
    path = tmp_path / "lenet.json"
    path.write_text((EXAMPLES / "lenet5.json").read_text())
    assert window.open_path(path)
    edit(window)
    recovery = window.autosave.file
    qtbot.waitUntil(recovery.exists, timeout=2000)
    data = json.loads(recovery.read_text())
    assert data["path"] == str(path.resolve())
    assert engine.NetworkSpec.from_dict(data["network"]) == window.spec
    window.save_action.trigger()
    assert not recovery.exists()


CRASH = textwrap.dedent("""
    import json, os, sys
    sys.path.insert(0, {root!r})
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    import engine
    from gui.main_window import MainWindow
    w = MainWindow()
    spec = engine.NetworkSpec.from_dict(json.load(open({path!r})))
    w.doc.replace(spec, os.path.realpath({path!r}))     # as Open does, without loading torch
    w.scene.select_nodes(["linear_1"])
    assert w.inspector.propose("out_features", 77)
    assert w.autosave.write()
    os._exit(3)          # a crash: no clean shutdown
""")


def test_recovery_is_offered_after_a_crash(window, tmp_path, monkeypatch):
    path = tmp_path / "lenet.json"
    path.write_text((EXAMPLES / "lenet5.json").read_text())
    script = CRASH.format(root=str(ROOT), path=str(path))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 3, done.stderr
    assert len(list(paths.recovery_dir().glob("*.json"))) == 1
    offered = []
    monkeypatch.setattr(dialogs, "ask_recover",
                        lambda parent, name, when: offered.append(name) or True)
    assert window.offer_recovery()
    assert offered == ["lenet.json"]
    assert window.spec.nodes["linear_1"].params["out_features"] == 77
    assert window.doc.path == str(path.resolve()) and window.isWindowModified()
    assert list(paths.recovery_dir().glob("*.json")) == [window.autosave.file]
    window.doc.undo_stack.setClean()
    assert not window.offer_recovery()          # nothing left to offer


def test_a_running_sessions_file_is_not_offered(window, qtbot):
    from gui.main_window import MainWindow
    other = MainWindow(autosave_ms=10)
    try:
        assert other.open_path(EXAMPLES / "lenet5.json")
        other.scene.select_nodes(["linear_1"])
        assert other.inspector.propose("out_features", 33)
        assert other.autosave.write()
        assert not window.offer_recovery()
        assert other.autosave.file.exists()
    finally:
        other.doc.undo_stack.setClean()
        other.close()
        other.deleteLater()


@pytest.mark.parametrize("argv,code", [(["open"], 2), (["open", "a", "b"], 2)])
def test_open_command_checks_its_arguments(argv, code, capsys):
    sys.path.insert(0, str(ROOT))
    from main import run
    assert run(argv) == code
    assert "open FILE" in capsys.readouterr().err
