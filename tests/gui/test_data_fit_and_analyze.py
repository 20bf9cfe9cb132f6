"""Data and network fit each other, and the Analyze table: choosing a data set the Input does not
fit offers the fix (and Problems and the status bar say so, before and after); a new Input takes
the data's shape; a Linear after an image gets "Insert Flatten"; an absurd Input is refused;
the Analyze table shows engine's numbers and copies and exports them."""
from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

import engine
from engine import describe as D
from gui.commands import SetParamCommand
from gui.problems import OK_TEXT

CONV_LINEAR = [("Conv2d", {"out_channels": 4, "kernel_size": 5}), ("ReLU", {}),
               ("Linear", {"out_features": 10})]


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    from gui import dialogs
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *a: "discard")


def open_net(win, shape, layers, data=""):
    from gui_helpers import recipe
    session = win.ensure_training()
    spec = engine.NetworkSpec.sequential(shape, layers, name="t")
    win.doc.replace(spec, None, "t", recipe=recipe(dataset={"name": data, "options": {}}))
    return session


def choose(qtbot, session, name: str) -> None:
    """Choose a data set in the Training panel's list, as a click there does."""
    box = session.panel.dataset
    box.combo.activated.emit(box.combo.findData(name))
    qtbot.waitUntil(lambda: (session.data.info or {}).get("name") == name, timeout=5000)


def problem_rows(win) -> list[str]:
    return [win.problems.row_text(i) for i in range(win.problems.count())]


def test_choosing_moons_for_a_28x28_input_offers_the_fix_and_everything_agrees(qtbot, window):
    s = open_net(window, (1, 28, 28), [("Flatten", {}), ("Linear", {"out_features": 2})])
    assert window.valid_label.text() == "✓ Valid network" and problem_rows(window) == [OK_TEXT]
    choose(qtbot, s, "moons")
    assert window.valid_label.text() == "✗ 1 problem"
    assert "1 problem" in window.inspector.facts.text()         # the Inspector agrees
    (row,) = problem_rows(window)
    assert row.startswith("Input 1:") and "'moons'" in row and "[2]" in row
    assert window.problems.fix_of(0).title == "Set Input 1 to 2"
    fit_hint = s.panel.findChild(object, "fit_hint")
    assert fit_hint.isVisible() and "'moons'" in fit_hint.labels[0].text()
    (button,) = fit_hint.buttons
    qtbot.mouseClick(button, Qt.LeftButton)
    assert window.spec.nodes["input_1"].params["shape"] == (2,)
    assert window.valid_label.text() == "✓ Valid network" and problem_rows(window) == [OK_TEXT]
    assert not fit_hint.isVisible()                      # the hint went with the problem
    assert "valid" in window.inspector.facts.text()
    assert window.doc.undo_stack.undoText() == "Set Input 1 to 2"
    window.doc.undo_stack.undo()
    assert window.valid_label.text() == "✗ 1 problem" and fit_hint.isVisible()


def test_a_new_network_takes_the_chosen_data_shape(qtbot, window):
    s = open_net(window, (1, 28, 28), [("Flatten", {}), ("Linear", {"out_features": 2})])
    choose(qtbot, s, "moons")
    window.files.new()
    assert s.panel.dataset.reference()["name"] == "moons"      # New keeps the data set
    qtbot.waitUntil(lambda: window.doc.data_shape == (2,), timeout=5000)
    node = window.view.drop_kind("Input", window.view.mapToScene(50, 50))
    assert window.spec.nodes[node].params["shape"] == (2,)
    linear = window.append_kind("Linear")
    window.doc.undo_stack.push(SetParamCommand(window.doc, linear, "out_features", 2))
    assert window.valid_label.text() == "✓ Valid network"
    second = window.append_kind("Input")                 # a second Input keeps the default
    assert window.spec.nodes[second].params["shape"] == (1, 28, 28)


def test_a_linear_after_a_conv2d_gets_an_insert_flatten_fix(qtbot, window):
    open_net(window, (1, 28, 28), CONV_LINEAR)
    assert window.valid_label.text() == "✗ 1 problem"
    assert "1 problem" in window.inspector.facts.text()         # the Inspector agrees
    (row,) = problem_rows(window)
    assert row.startswith("Linear 1:") and "insert a Flatten" in row
    rect = window.problems.fix_rect(0)
    assert window.problems.fix_of(0).title == "Insert Flatten"
    qtbot.mouseClick(window.problems.viewport(), Qt.LeftButton, pos=rect.center())
    spec = window.spec
    assert [spec.nodes[n].kind for n in window.doc.analysis.order] == [
        "Input", "Conv2d", "ReLU", "Flatten", "Linear"]
    assert window.doc.analysis.ok and window.valid_label.text() == "✓ Valid network"
    assert window.doc.analysis.shapes["flatten_1"] == (4 * 24 * 24,)
    assert window.doc.undo_stack.undoText() == "Insert Flatten"
    window.doc.undo_stack.undo()
    assert "flatten_1" not in window.spec.nodes and window.valid_label.text() == "✗ 1 problem"


def test_an_absurd_input_is_refused_with_its_size(qtbot, window):
    s = open_net(window, (2,), [("Linear", {"out_features": 2})], data="moons")
    qtbot.waitUntil(lambda: s.data.info is not None, timeout=5000)
    window.scene.select_nodes(["input_1"])
    assert window.inspector.propose("shape", [100000, 100000, 100000])
    assert window.valid_label.text().startswith("✗")
    text = " ".join(problem_rows(window))
    assert "1,000,000,000,000,000 values" in text and "3.6 PiB" in text
    assert "cannot be built" in text
    assert not window.start_training()
    assert "problems" in s.panel.status.text()


def test_a_heavy_network_is_valid_with_a_warning(window):
    open_net(window, (3, 512, 512), [
        ("Conv2d", {"out_channels": 64, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
        ("AdaptiveAvgPool2d", {}), ("Flatten", {}), ("Linear", {"out_features": 10})])
    assert window.valid_label.text() == "✓ Valid network · 1 warning"
    (row,) = problem_rows(window)
    assert row.startswith("⚠ Network: One sample's activations take 131.0 MiB")


def test_the_analyze_table_shows_engine_numbers_copies_and_exports(qtbot, window, tmp_path):
    open_net(window, (1, 28, 28), CONV_LINEAR)
    window.analyze_action.trigger()
    dialog = window.analyze_dialog
    qtbot.waitExposed(dialog)
    a, spec, table = window.doc.analysis, window.spec, dialog.table
    assert table.rowCount() == len(spec.nodes) + 1
    cell = lambda r, c: table.item(r, c).text()          # noqa: E731
    assert [cell(r, 0) for r in range(4)] == ["Input 1", "Conv2d 1", "ReLU 1", "Linear 1"]
    assert cell(1, 3) == "(4, 24, 24)" and cell(1, 4) == D.count(a.params["conv2d_1"])
    assert cell(1, 5) == D.flops(a.node_flops["conv2d_1"])
    assert cell(1, 6) == D.memory(a.memory["conv2d_1"]) == "9.0 KiB"
    assert "Flatten" in cell(3, 7) and cell(3, 3) == ""
    assert [cell(4, c) for c in (0, 4, 5, 6)] == [
        "Total", D.count(a.total_params), D.flops(a.flops), D.memory(a.activation_bytes)]
    text = dialog.copy(all_rows=True)
    assert QApplication.clipboard().text() == text
    lines = [line.split("\t") for line in text.splitlines()]
    assert lines[0] == list(D.TABLE_COLUMNS) and lines[2][4:7] == [
        str(a.params["conv2d_1"]), str(a.node_flops["conv2d_1"]), "9216"]
    path = tmp_path / "analysis.csv"
    assert dialog.export_csv(str(path))
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows == [list(D.TABLE_COLUMNS)] + [D.table_cells(r) for r in
                                              D.table(spec, a)]
    assert rows[-1][:1] == ["Total"] and rows[-1][6] == str(a.activation_bytes)
    assert not dialog.export_csv(str(tmp_path / "missing" / "a.csv"))
    assert "Cannot write" in dialog.status.text() and "does not exist" in dialog.status.text()
    window.problems.apply_fix(0)                        # the table follows the edit
    assert table.rowCount() == 6 and cell(3, 0) == "Flatten 1" and cell(5, 7) == ""
    table.selectRow(1)
    assert dialog.copy().splitlines()[1].startswith("Conv2d 1\tConv2d")


def test_the_analyze_table_follows_edits_made_while_it_was_closed(qtbot, window, monkeypatch):
    open_net(window, (1, 28, 28), CONV_LINEAR)
    window.analyze_action.trigger()
    dialog = window.analyze_dialog
    qtbot.waitExposed(dialog)
    dialog.close()
    made = []
    real = dialog.refresh
    monkeypatch.setattr(dialog, "refresh", lambda: made.append(1) or real())
    window.doc.undo_stack.push(SetParamCommand(window.doc, "conv2d_1", "out_channels", 7))
    assert made == []                                  # nothing rebuilt while closed
    window.analyze_action.trigger()
    qtbot.waitExposed(dialog)
    assert made and dialog.rows[1]["shape"][0] == 7   # made again when shown
