"""The palette: generated from engine.LAYERS; drags onto the canvas; double-click appends."""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

import engine
from engine.network.layout import DY

from gui_helpers import EXAMPLES, double_click_widget, view_point


def drop_kind(win, kind: str, scene_pos: QPointF) -> None:
    """Drag `kind` out of the palette (its real mime data) and drop it on the canvas."""
    tree = win.palette.tree
    mime = tree.mimeData([win.palette.items[kind]])
    viewport = win.view.viewport()
    pos = view_point(win, scene_pos)
    for cls in (QDragEnterEvent, QDragMoveEvent):
        ev = cls(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)  # noqa
        QApplication.sendEvent(viewport, ev)
        assert ev.isAccepted()
    ev = QDropEvent(QPointF(pos), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(viewport, ev)
    assert ev.isAccepted()


def test_palette_lists_every_kind_by_category_with_its_help(window):
    for name, kind in engine.LAYERS.items():
        item = window.palette.items[name]
        assert item.parent().text(0) == kind.category
        assert kind.doc in item.toolTip(0)


def test_filter_hides_what_does_not_match(window, qtbot):
    qtbot.keyClicks(window.palette.filter, "pool")
    assert window.palette.visible_kinds() == ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
                                              "MaxPool1d", "AvgPool1d", "Upsample"]
    window.palette.filter.setText("saturates")       # matches the one-line help too
    assert set(window.palette.visible_kinds()) == {"Sigmoid", "Tanh", "Softsign"}
    window.palette.filter.clear()
    assert len(window.palette.visible_kinds()) == len(engine.LAYERS)


def test_drop_from_palette_creates_the_kind_where_dropped(window):
    drop_kind(window, "Input", QPointF(120, 40))
    assert list(window.spec.nodes) == ["input_1"]
    x, y = window.spec.nodes["input_1"].position
    assert abs(x - 120) <= 1 and abs(y - 40) <= 1
    assert window.scene.selected_node_ids() == ["input_1"]
    window.doc.undo_stack.undo()
    assert window.spec.nodes == {}


def test_drop_on_an_edge_inserts_the_layer_there(window):
    assert window.open_path(EXAMPLES / "lenet5.json")
    before = window.spec.copy()
    edge = window.scene.edges[("linear_1", "relu_3")]
    drop_kind(window, "Dropout", edge.path().pointAtPercent(0.5))
    assert ("linear_1", "dropout_1") in window.spec.edges
    assert ("dropout_1", "relu_3") in window.spec.edges
    assert ("linear_1", "relu_3") not in window.spec.edges
    assert window.doc.analysis.ok
    window.doc.undo_stack.undo()
    assert window.spec == before


def test_double_click_appends_after_the_selected_node(window, qtbot):
    assert window.open_path(EXAMPLES / "lenet5.json")
    window.scene.select_nodes(["conv2d_1"])
    relu_y = window.spec.nodes["relu_1"].position[1]
    tree = window.palette.tree
    item = window.palette.items["BatchNorm2d"]
    tree.scrollToItem(item)
    rect = tree.visualItemRect(item)
    double_click_widget(tree.viewport(), rect.center())
    assert window.spec.inputs_of("batchnorm2d_1") == ["conv2d_1"]
    assert window.spec.outputs_of("batchnorm2d_1") == ["relu_1"]
    assert window.spec.nodes["relu_1"].position[1] == relu_y + DY     # made room below
    assert window.scene.selected_node_ids() == ["batchnorm2d_1"]
    assert window.doc.analysis.ok and window.doc.analysis.total_params == 61706 + 12


def test_lenet5_built_from_the_palette_and_inspector_alone(window):
    """The acceptance path: palette double-clicks and inspector edits, no code edits."""
    steps = [("Input", {}), ("Conv2d", {"padding": 2}), ("ReLU", {}),
             ("MaxPool2d", {}), ("Conv2d", {"out_channels": 16}), ("ReLU", {}),
             ("MaxPool2d", {}), ("Flatten", {}), ("Linear", {"out_features": 120}),
             ("ReLU", {}), ("Linear", {"out_features": 84}), ("ReLU", {}),
             ("Linear", {"out_features": 10})]
    for kind, params in steps:
        window.palette.kind_activated.emit(kind)
        for name, value in params.items():
            assert window.inspector.propose(name, value)
    a = window.doc.analysis
    assert a.ok and a.total_params == 61706 and a.output_shape == (10,)
    assert window.params_label.text() == "Parameters: 61,706"
    assert "Valid" in window.valid_label.text()
    assert window.doc.undo_stack.count() == len(steps) + 5


def test_typing_in_the_filter_is_not_taken_as_shortcuts(window, qtbot):
    assert window.open_path(EXAMPLES / "lenet5.json")
    window.scene.select_nodes(["relu_1"])
    window.view.resetTransform()
    window.palette.filter.setFocus()
    qtbot.keyClicks(window.palette.filter, "f")
    qtbot.keyClick(window.palette.filter, Qt.Key_Backspace)
    qtbot.keyClicks(window.palette.filter, "fl")
    assert window.palette.filter.text() == "fl" and window.view.zoom() == 1.0
    assert "relu_1" in window.spec.nodes            # Backspace edited the text, deleted nothing
    assert window.palette.visible_kinds() == ["Flatten", "Reshape"]    # "reverse of Flatten"
