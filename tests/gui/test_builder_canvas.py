"""The canvas: node text, connecting by dragging between ports, refusals, selection, moving,
deleting, clipboard, zoom, red nodes and the Problems list."""
from __future__ import annotations

import json

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QHelpEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QToolTip

from gui.commands import AddNodeCommand

from gui_helpers import EXAMPLES, drag, node_pos


def lenet(window):
    assert window.open_path(EXAMPLES / "lenet5.json")
    return window.spec.copy()


def add(window, kind, pos, params=None):
    cmd = AddNodeCommand(window.doc, kind, params, pos)
    window.doc.undo_stack.push(cmd)
    return cmd.node_id


def port(window, node_id, output=True):
    item = window.scene.nodes[node_id]
    return (item.out_port if output else item.in_port).scenePos()


def test_nodes_show_kind_parameters_shape_and_count(window):
    lenet(window)
    title, summary, shape, params, error = window.scene.nodes["conv2d_1"].texts
    assert (title, summary, shape, params, error) == (
        "Conv2d 1", "6@5x5 pad 2", "→ (6, 28, 28)", "156 params", "")
    assert window.scene.nodes["linear_1"].texts[2:4] == ("→ (120,)", "48,120 params")
    assert len(window.scene.edges) == len(window.spec.edges)


def test_drag_from_output_port_to_a_node_connects(window):
    a = add(window, "Input", (0, 0), {"shape": [4]})
    b = add(window, "Linear", (0, 150))
    drag(window, port(window, a), node_pos(window, b))
    assert window.spec.edges == [(a, b)]
    assert (a, b) in window.scene.edges
    assert window.doc.analysis.ok and window.doc.analysis.total_params == 500
    window.doc.undo_stack.undo()
    assert window.spec.edges == [] and window.scene.edges == {}


def test_drag_from_input_port_to_the_source_connects(window):
    a = add(window, "Input", (0, 0), {"shape": [4]})
    b = add(window, "Linear", (200, 150))
    drag(window, port(window, b, output=False), node_pos(window, a))
    assert window.spec.edges == [(a, b)]


def test_escape_cancels_a_connection_drag(window, qtbot):
    a = add(window, "Input", (0, 0), {"shape": [4]})
    b = add(window, "Linear", (0, 150))
    from gui_helpers import mouse
    mouse(window, "press", port(window, a))
    mouse(window, "move", node_pos(window, b), held=Qt.LeftButton)
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key_Escape)
    mouse(window, "release", node_pos(window, b))
    assert window.spec.edges == []


def test_connection_making_a_cycle_is_refused_with_the_reason(window):
    before = lenet(window)
    drag(window, port(window, "relu_1"), node_pos(window, "conv2d_1"))
    assert window.spec == before
    message = window.statusBar().currentMessage()
    assert "Cannot connect" in message and "cycle" in message


def test_second_input_on_a_one_input_kind_is_refused(window):
    before = lenet(window)
    drag(window, port(window, "input_1"), node_pos(window, "relu_1"))
    assert window.spec == before
    assert "already has its input" in window.statusBar().currentMessage()
    assert window.doc.undo_stack.count() == 0


def test_rubber_band_selects_and_one_drag_moves_as_one_undo_step(window):
    lenet(window)
    window.view.resetTransform()
    a, b = node_pos(window, "conv2d_1"), node_pos(window, "relu_1")
    drag(window, QPointF(a.x() - 150, a.y() - 45), QPointF(b.x() + 150, b.y() + 45))
    assert window.scene.selected_node_ids() == ["conv2d_1", "relu_1"]
    old = [window.spec.nodes[n].position for n in ("conv2d_1", "relu_1")]
    drag(window, a, a + QPointF(60, 20), steps=8)
    assert window.doc.undo_stack.count() == 1
    for n, (x, y) in zip(("conv2d_1", "relu_1"), old):
        assert window.spec.nodes[n].position == (x + 60, y + 20)
    window.doc.undo_stack.undo()
    assert [window.spec.nodes[n].position for n in ("conv2d_1", "relu_1")] == old
    assert node_pos(window, "conv2d_1") == a


def test_editing_keys_act_on_the_canvas_only_while_it_has_the_focus(window, qtbot):
    """Delete or Ctrl+X in the Problems list or the palette leave the selected layers be;
    the Edit menu still names the keys, and they still work on the canvas."""
    lenet(window)
    window.show()
    window.scene.select_nodes(["conv2d_2"])
    count = len(window.spec.nodes)
    for widget in (window.problems, window.palette.filter):
        widget.setFocus()
        for key, mod in ((Qt.Key_Delete, Qt.NoModifier), (Qt.Key_Backspace, Qt.NoModifier),
                         (Qt.Key_X, Qt.ControlModifier), (Qt.Key_D, Qt.ControlModifier)):
            qtbot.keyClick(widget, key, mod)
    assert len(window.spec.nodes) == count and window.doc.undo_stack.count() == 0
    assert window.delete_action.text().endswith("\tDel, Backspace")
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key_D, Qt.ControlModifier)
    assert len(window.spec.nodes) == count + 1
    window.delete_action.trigger()                      # from the menu, wherever the focus
    assert len(window.spec.nodes) == count


def test_delete_then_undo_and_redo_give_back_the_exact_spec(window, qtbot):
    before = lenet(window)
    window.scene.select_nodes(["conv2d_2", "relu_2"])
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key_Delete)
    after = window.spec.copy()
    assert "conv2d_2" not in after.nodes and "relu_2" not in after.nodes
    assert not any("conv2d_2" in e or "relu_2" in e for e in after.edges)
    assert set(window.scene.nodes) == set(after.nodes)
    qtbot.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)
    assert window.spec == before
    assert set(window.scene.edges) == set(before.edges)
    qtbot.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert window.spec == after
    qtbot.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)
    qtbot.keyClick(window.view, Qt.Key_Y, Qt.ControlModifier)
    assert window.spec == after


def test_selected_edge_is_deleted_and_restored_in_place(window):
    before = lenet(window)
    window.scene.edges[("conv2d_1", "relu_1")].setSelected(True)
    window.delete_action.trigger()
    assert ("conv2d_1", "relu_1") not in window.spec.edges
    assert not window.doc.analysis.ok
    window.doc.undo_stack.undo()
    assert window.spec == before


def test_copy_paste_cut_and_duplicate(window, qtbot):
    before = lenet(window)
    window.scene.select_nodes(["linear_2", "relu_4"])
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key_C, Qt.ControlModifier)
    data = json.loads(QApplication.clipboard().text())
    assert [n["id"] for n in data["nodes"]] == ["linear_2", "relu_4"]
    qtbot.keyClick(window.view, Qt.Key_V, Qt.ControlModifier)
    assert window.scene.selected_node_ids() == ["linear_4", "relu_5"]
    assert ("linear_4", "relu_5") in window.spec.edges
    assert window.spec.nodes["linear_4"].params == before.nodes["linear_2"].params
    x, y = before.nodes["linear_2"].position
    assert window.spec.nodes["linear_4"].position == (x + 40, y + 40)
    qtbot.keyClick(window.view, Qt.Key_D, Qt.ControlModifier)
    assert window.scene.selected_node_ids() == ["linear_5", "relu_6"]
    qtbot.keyClick(window.view, Qt.Key_X, Qt.ControlModifier)
    assert "linear_5" not in window.spec.nodes
    assert len(json.loads(QApplication.clipboard().text())["nodes"]) == 2
    for _ in range(3):
        window.doc.undo_stack.undo()
    assert window.spec == before


def test_wheel_zooms_f_fits_and_ctrl_0_resets(window, qtbot):
    lenet(window)
    window.view.resetTransform()
    viewport = window.view.viewport()
    center = QPointF(viewport.rect().center())
    wheel = QWheelEvent(center, QPointF(viewport.mapToGlobal(center.toPoint())), QPoint(0, 0),
                        QPoint(0, 240), Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(viewport, wheel)
    assert window.view.zoom() > 1.2
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key_F)
    visible = window.view.mapToScene(viewport.rect()).boundingRect()
    assert visible.contains(window.scene.nodes_rect())
    qtbot.keyClick(window.view, Qt.Key_0, Qt.ControlModifier)
    assert window.view.zoom() == 1.0


def test_failing_node_is_red_with_reason_and_problems_list_selects_it(window):
    lenet(window)
    window.scene.select_nodes(["conv2d_2"])
    assert window.inspector.propose("kernel_size", 20)
    item = window.scene.nodes["conv2d_2"]
    assert item.has_error
    viewport = window.view.viewport()
    at = window.view.mapFromScene(node_pos(window, "conv2d_2") + QPointF(30, 0))
    QApplication.sendEvent(viewport, QHelpEvent(QEvent.ToolTip, at, viewport.mapToGlobal(at)))
    assert "Problem" in QToolTip.text() and "kernel" in QToolTip.text()
    QToolTip.hideText()
    assert "problem" in window.valid_label.text()
    problems = window.problems
    row = next(i for i in range(problems.count())
               if problems.row_text(i).startswith("Conv2d 2"))
    window.scene.clearSelection()
    rect = problems.row_rect(row)
    from gui_helpers import double_click_widget
    double_click_widget(window.problems.viewport(), rect.center())
    assert window.scene.selected_node_ids() == ["conv2d_2"]
    window.doc.undo_stack.undo()
    assert not item.has_error and window.problems.count() == 1


def test_network_without_positions_is_laid_out_top_to_bottom(window, tmp_path):
    data = json.loads((EXAMPLES / "residual.json").read_text())
    for node in data["nodes"]:
        node.pop("position")
    path = tmp_path / "bare.json"
    path.write_text(json.dumps(data))
    assert window.open_path(path)
    spec = window.spec
    for src, dst in spec.edges:
        assert spec.nodes[src].position[1] < spec.nodes[dst].position[1]
    rows = {}
    for n in spec.nodes.values():
        rows.setdefault(n.position[1], []).append(n.position[0])
    assert all(len(set(xs)) == len(xs) for xs in rows.values())     # no two on one spot
    assert not window.doc.is_modified()


def test_auto_layout_is_one_undoable_step(window):
    from gui.commands import MoveNodesCommand
    before = lenet(window)
    moves = {"relu_1": ((0.0, 200.0), (340.0, 260.0)), "linear_2": ((0.0, 1000.0), (-90.0, 5.0))}
    window.doc.undo_stack.push(MoveNodesCommand(window.doc, moves))
    moved = window.spec.copy()
    window.layout_action.trigger()
    assert window.doc.undo_stack.count() == 2
    assert window.spec == before            # a chain laid out top to bottom, rows 100 apart
    window.doc.undo_stack.undo()
    assert window.spec == moved
    assert node_pos(window, "relu_1") == QPointF(340, 260)


def test_click_selects_and_middle_drag_pans(window):
    lenet(window)
    window.view.resetTransform()
    window.view.centerOn(node_pos(window, "conv2d_1"))
    from gui_helpers import mouse
    mouse(window, "press", node_pos(window, "conv2d_1"))
    mouse(window, "release", node_pos(window, "conv2d_1"))
    assert window.scene.selected_node_ids() == ["conv2d_1"]
    assert window.inspector.title.text() == "Conv2d 1"
    viewport = window.view.viewport()
    before = window.view.mapToScene(viewport.rect().center())
    start = node_pos(window, "relu_1")
    mouse(window, "press", start, button=Qt.MiddleButton)
    mouse(window, "move", start + QPointF(0, -120), button=Qt.MiddleButton,
          held=Qt.MiddleButton)
    mouse(window, "release", start + QPointF(0, -120), button=Qt.MiddleButton)
    after = window.view.mapToScene(viewport.rect().center())
    assert abs((after - before).y() - 120) < 2 and window.spec.nodes["relu_1"].position == \
        (0.0, 200.0)
