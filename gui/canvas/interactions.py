"""Mouse interactions on the canvas that end in an undo command.

`ConnectInteraction`: drag from a port to another node; the line turns green over a node that can
take the connection and red (with the reason) over one that cannot. `MoveTracker`: remembers
where the selected nodes were when the button went down and pushes one `MoveNodesCommand` for the
whole drag when it comes up.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QToolTip

from ..commands import ConnectNodesCommand, MoveNodesCommand
from .items import NodeItem, PortItem, curve


class ConnectInteraction:
    def __init__(self, scene, port: PortItem):
        self.scene, self.port = scene, port
        self.line = QGraphicsPathItem()
        self.line.setZValue(5)
        self.scene.addItem(self.line)
        self.target: NodeItem | None = None
        self.problem: str | None = None

    def _ends(self, node: NodeItem | None) -> tuple[str, str] | None:
        if node is None or node is self.port.node:
            return None
        me = self.port.node.node_id
        return (me, node.node_id) if self.port.output else (node.node_id, me)

    def move(self, pos: QPointF, screen_pos=None) -> None:
        self.target = self.scene.node_at(pos, exclude=self.port.node)
        ends = self._ends(self.target)
        self.problem = self.scene.doc.spec.connection_problem(*ends) if ends else None
        start = self.port.scenePos()
        end = pos
        if self.target is not None and ends:
            end = (self.target.input_point() if self.port.output
                   else self.target.output_point())
        color = ("#94a3b8" if ends is None else "#dc2626" if self.problem else "#16a34a")
        self.line.setPen(QPen(QColor(color), 2.4, Qt.DashLine))
        self.line.setPath(curve(start, end) if self.port.output else curve(end, start))
        if screen_pos is not None:
            if self.problem:
                QToolTip.showText(screen_pos, "Cannot connect: " + self.problem)
            else:
                QToolTip.hideText()

    def release(self, pos: QPointF) -> None:
        self.move(pos)
        self.finish()
        ends = self._ends(self.target)
        if ends is None:
            return
        if self.problem:
            self.scene.connection_refused.emit(f"Cannot connect: {self.problem}.")
            return
        self.scene.doc.undo_stack.push(ConnectNodesCommand(self.scene.doc, *ends))

    def finish(self) -> None:
        QToolTip.hideText()
        if self.line.scene() is not None:
            self.scene.removeItem(self.line)


class MoveTracker:
    def __init__(self, scene):
        self.scene = scene
        self.start: dict[str, QPointF] = {}

    def press(self) -> None:
        self.start = {i.node_id: i.pos() for i in self.scene.selectedItems()
                      if isinstance(i, NodeItem)}

    def release(self) -> None:
        doc, moves = self.scene.doc, {}
        for node_id, was in self.start.items():
            item = self.scene.nodes.get(node_id)
            if item is None or item.pos() == was:
                continue
            new = (round(item.pos().x(), 1), round(item.pos().y(), 1))
            moves[node_id] = (doc.position(node_id), new)
        self.start = {}
        if moves:
            doc.undo_stack.push(MoveNodesCommand(doc, moves))
