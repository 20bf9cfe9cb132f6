"""The inspector: a form generated from the schema; refusals carry the schema's message; each
change re-analyses and updates shapes on the canvas, in the inspector and in the status bar."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit

import engine
from gui.editors import FloatSpin, IntSpin

from gui_helpers import EXAMPLES


def select(window, node_id):
    window.scene.select_nodes([node_id])
    assert window.inspector.node_id == node_id
    return window.inspector.editors


def commit_text(qtbot, field: QLineEdit, text: str) -> None:
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key_Return)


def test_form_is_generated_from_the_schema(window):
    assert window.open_path(EXAMPLES / "lenet5.json")
    editors = select(window, "conv2d_1")
    kind = engine.LAYERS["Conv2d"]
    assert list(editors) == [p.name for p in kind.params]
    assert isinstance(editors["out_channels"].field, IntSpin)
    assert isinstance(editors["kernel_size"].field, QLineEdit)
    assert editors["kernel_size"].field.text() == "5"
    assert isinstance(editors["bias"].field, QCheckBox) and editors["bias"].field.isChecked()
    combo = editors["init"].field
    assert isinstance(combo, QComboBox)
    assert [combo.itemText(i) for i in range(combo.count())] == list(kind.param("init").choices)
    spin = editors["out_channels"].field
    spin.stepBy(-100)                 # the arrows stop at the schema's minimum
    assert spin.value() == 1 and window.spec.nodes["conv2d_1"].params["out_channels"] == 1
    assert "feature maps" in spin.toolTip()
    editors = select(window, "maxpool2d_1")
    assert editors["stride"].null_box.isChecked() and not editors["stride"].field.isEnabled()
    editors = select(window, "input_1")
    assert editors["shape"].field.text() == "1, 28, 28"


def test_changing_a_parameter_updates_shapes_everywhere(window, qtbot):
    assert window.open_path(EXAMPLES / "lenet5.json")
    editors = select(window, "conv2d_2")
    spin = editors["out_channels"].field
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "20")
    qtbot.keyClick(spin, Qt.Key_Return)
    assert window.spec.nodes["conv2d_2"].params["out_channels"] == 20
    assert window.scene.nodes["conv2d_2"].texts[1:3] == ("20@5x5", "→ (20, 10, 10)")
    assert window.scene.nodes["flatten_1"].texts[2] == "→ (500,)"
    total = window.doc.analysis.total_params
    assert total == 61706 + 4 * (150 + 1) + 4 * 25 * 120
    assert window.params_label.text() == f"Parameters: {total:,}"
    assert "(20, 10, 10)" in window.inspector.facts.text()
    window.doc.undo_stack.undo()
    assert spin.value() == 16 and window.doc.analysis.total_params == 61706


def test_invalid_value_is_refused_with_the_schemas_message(window, qtbot):
    assert window.open_path(EXAMPLES / "lenet5.json")
    before = window.spec.copy()
    editors = select(window, "conv2d_1")
    field = editors["kernel_size"].field
    commit_text(qtbot, field, "0")
    message = window.inspector.error.text()
    expected = engine.LAYERS["Conv2d"].param("kernel_size").expected()
    assert window.inspector.error.isVisible() and expected in message and "got 0" in message
    assert field.text() == "5" and window.spec == before
    spin = editors["out_channels"].field
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "0")
    qtbot.keyClick(spin, Qt.Key_Return)
    assert "out_channels must be a whole number from 1" in window.inspector.error.text()
    assert spin.value() == 6 and window.spec == before
    commit_text(qtbot, field, "3, 5")          # a valid value clears the message
    assert not window.inspector.error.isVisible()
    assert window.spec.nodes["conv2d_1"].params["kernel_size"] == (3, 5)


def test_shape_field_and_nullable_stride(window, qtbot):
    assert window.open_path(EXAMPLES / "lenet5.json")
    editors = select(window, "input_1")
    commit_text(qtbot, editors["shape"].field, "1, 32, 32")
    assert window.spec.nodes["input_1"].params["shape"] == (1, 32, 32)
    assert window.scene.nodes["conv2d_1"].texts[2] == "→ (6, 32, 32)"
    commit_text(qtbot, editors["shape"].field, "one, two")
    assert "shape must be a list" in window.inspector.error.text()
    editors = select(window, "maxpool2d_1")
    stride = editors["stride"]
    stride.null_box.setChecked(False)
    assert stride.field.isEnabled() and window.spec.nodes["maxpool2d_1"].params["stride"] is None
    commit_text(qtbot, stride.field, "1")
    assert window.spec.nodes["maxpool2d_1"].params["stride"] == 1
    assert window.scene.nodes["maxpool2d_1"].texts[2] == "→ (6, 31, 31)"
    stride.null_box.setChecked(True)
    assert window.spec.nodes["maxpool2d_1"].params["stride"] is None


def test_float_and_choice_edits_are_undoable(window):
    spec = engine.NetworkSpec.sequential((4,), [("Linear", {"out_features": 3}),
                                                ("LeakyReLU", {})])
    window.doc.replace(spec.copy())
    before = window.spec.copy()
    editors = select(window, "leakyrelu_1")
    slope = editors["negative_slope"].field
    assert isinstance(slope, FloatSpin) and slope.text() == "0.01"
    slope.setValue(0.2)
    assert window.spec.nodes["leakyrelu_1"].params["negative_slope"] == 0.2
    editors = select(window, "linear_1")
    editors["init"].field.setCurrentText("uniform")
    assert window.spec.nodes["linear_1"].params["init"] == "uniform"
    assert window.scene.nodes["linear_1"].texts[1] == "3, uniform ±1/√n init"
    window.doc.undo_stack.undo()
    window.doc.undo_stack.undo()
    assert window.spec == before


def test_without_selection_the_inspector_describes_the_network(window):
    assert window.open_path(EXAMPLES / "lenet5.json")
    window.scene.clearSelection()
    assert window.inspector.title.text() == "LeNet-5"
    assert "61,706" in window.inspector.facts.text() and "valid" in window.inspector.facts.text()
    window.scene.select_nodes(["conv2d_1", "conv2d_2"])
    assert window.inspector.title.text() == "2 layers selected"
    assert "2,572" in window.inspector.facts.text()
