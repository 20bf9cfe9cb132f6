"""The canvas scene: draws the document's NetworkSpec and follows its signals.

It keeps `{node id: NodeItem}` and `{(src, dst): EdgeItem}`; the document never knows about
items. Mouse gestures that edit the network (connect, move) push undo commands; nothing here
writes the spec directly.
"""
from __future__ import annotations

import html

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import QGraphicsScene, QToolTip

import engine
from engine import describe as D

from ..document import Document
from .interactions import ConnectInteraction, MoveTracker
from .items import EdgeItem, NodeItem, PortItem

EXTENT = 100_000.0


class CanvasScene(QGraphicsScene):
    connection_refused = Signal(str)

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[tuple[str, str], EdgeItem] = {}
        self.setSceneRect(-EXTENT, -EXTENT, 2 * EXTENT, 2 * EXTENT)
        self.setItemIndexMethod(QGraphicsScene.NoIndex)
        self._connect: ConnectInteraction | None = None
        self._moves = MoveTracker(self)
        doc.spec_replaced.connect(self.rebuild)
        doc.node_added.connect(self._add_node)
        doc.node_removed.connect(self._remove_node)
        doc.node_moved.connect(self._move_node)
        doc.params_changed.connect(self._refresh_node)
        doc.edge_added.connect(self._add_edge)
        doc.edge_removed.connect(self._remove_edge)
        doc.analysis_changed.connect(self.refresh_all)
        self.rebuild()

    # ------------------------------------------------------------------ following the model
    def rebuild(self) -> None:
        self._cancel_connect()
        self.clear()
        self.nodes.clear()
        self.edges.clear()
        for node_id in self.doc.spec.nodes:
            self._add_node(node_id)
        for src, dst in self.doc.spec.edges:
            self._add_edge(src, dst)
        self.refresh_all()

    def _add_node(self, node_id: str) -> None:
        node = self.doc.spec.nodes[node_id]
        kind = engine.LAYERS[node.kind]
        item = NodeItem(node_id, kind.category, kind.max_inputs != 0)
        item.setPos(QPointF(*self.doc.position(node_id)))
        self.addItem(item)
        self.nodes[node_id] = item
        self._refresh_node(node_id)

    def _remove_node(self, node_id: str) -> None:
        item = self.nodes.pop(node_id)
        self.removeItem(item)

    def _move_node(self, node_id: str) -> None:
        pos = QPointF(*self.doc.position(node_id))
        item = self.nodes[node_id]
        if item.pos() != pos:
            item.setPos(pos)

    def _add_edge(self, src: str, dst: str) -> None:
        edge = EdgeItem(self.nodes[src], self.nodes[dst])
        self.addItem(edge)
        self.edges[(src, dst)] = edge
        self._place_slots(dst)

    def _remove_edge(self, src: str, dst: str) -> None:
        edge = self.edges.pop((src, dst))
        edge.detach()
        self.removeItem(edge)
        if dst in self.nodes:
            self._place_slots(dst)

    def _place_slots(self, dst: str) -> None:
        inputs = self.doc.spec.inputs_of(dst)
        for i, src in enumerate(inputs):
            if (src, dst) in self.edges:
                self.edges[(src, dst)].set_slot(i, len(inputs))

    def refresh_all(self) -> None:
        """After a re-analysis: redo the text of the nodes whose analysis facts changed."""
        a = self.doc.analysis
        shapes, params, errors = a.shapes, a.params, a.errors
        for node_id, item in self.nodes.items():
            facts = (shapes.get(node_id), params.get(node_id, 0), errors.get(node_id, ""))
            if facts != item.facts:
                item.facts = facts
                item.set_texts(*node_texts(self.doc.spec, a, node_id))

    def _refresh_node(self, node_id: str) -> None:
        item = self.nodes[node_id]
        a = self.doc.analysis
        item.facts = (a.shapes.get(node_id), a.params.get(node_id, 0), a.errors.get(node_id, ""))
        item.set_texts(*node_texts(self.doc.spec, a, node_id))

    def tooltip_at(self, pos: QPointF) -> str:
        """Built when asked for (not on every edit): what the node or edge under `pos` is."""
        node = self.node_at(pos)
        if node is not None and not isinstance(self.itemAt(pos, QTransform()), PortItem):
            return node_tooltip(self.doc.spec, self.doc.analysis, node.node_id)
        edge = self.edge_at(pos)
        if edge is not None:
            src, dst = edge.key
            shape = self.doc.analysis.shapes.get(src)
            return (f"{html.escape(self.doc.spec.label(src))} → "
                    f"{html.escape(self.doc.spec.label(dst))}: carries {D.shape(shape)}<br>"
                    f"<i>Select and press Delete to disconnect; drop a layer here to insert "
                    f"it</i>")
        return ""

    def helpEvent(self, event) -> None:
        text = self.tooltip_at(event.scenePos())
        if text:
            QToolTip.showText(event.screenPos(), text, event.widget())
            event.accept()
        else:
            super().helpEvent(event)

    # ------------------------------------------------------------------ selection
    def selected_node_ids(self) -> list[str]:
        chosen = {i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)}
        return [n for n in self.doc.spec.nodes if n in chosen]

    def selected_edges(self) -> list[tuple[str, str]]:
        return [i.key for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def select_nodes(self, node_ids) -> None:
        self.blockSignals(True)
        self.clearSelection()
        for node_id in node_ids:
            if node_id in self.nodes:
                self.nodes[node_id].setSelected(True)
        self.blockSignals(False)
        self.selectionChanged.emit()

    def select_all(self) -> None:
        self.select_nodes(list(self.nodes))

    # ------------------------------------------------------------------ lookups
    def node_at(self, pos: QPointF, exclude: NodeItem | None = None) -> NodeItem | None:
        for item in self.items(pos, Qt.IntersectsItemShape, Qt.DescendingOrder, QTransform()):
            node = item.node if isinstance(item, PortItem) else item
            if isinstance(node, NodeItem) and node is not exclude:
                return node
        return None

    def port_at(self, pos: QPointF) -> PortItem | None:
        """The port at or near `pos` (within a few pixels: ports are small targets)."""
        area = QRectF(pos.x() - 12, pos.y() - 12, 24, 24)
        for item in self.items(area, Qt.IntersectsItemBoundingRect, Qt.DescendingOrder,
                               QTransform()):
            node = item.node if isinstance(item, PortItem) else item
            if isinstance(node, NodeItem):
                port = node.port_near(pos)
                if port is not None:
                    return port
        return None

    def edge_at(self, pos: QPointF) -> EdgeItem | None:
        area = QRectF(pos.x() - 4, pos.y() - 4, 8, 8)
        if self.node_at(pos) is not None:
            return None
        for item in self.items(area, Qt.IntersectsItemShape, Qt.DescendingOrder, QTransform()):
            if isinstance(item, EdgeItem):
                return item
        return None

    def nodes_rect(self, node_ids=None) -> QRectF:
        rect = QRectF()
        for node_id in node_ids if node_ids is not None else self.nodes:
            rect = rect.united(self.nodes[node_id].sceneBoundingRect())
        return rect

    # ------------------------------------------------------------------ gestures
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton:
            item = self.port_at(event.scenePos())
            if item is not None:
                self._connect = ConnectInteraction(self, item)
                self._connect.move(event.scenePos())
                event.accept()
                return
        super().mousePressEvent(event)
        if event.button() == Qt.LeftButton:
            self._moves.press()

    def mouseMoveEvent(self, event) -> None:
        if self._connect is not None:
            self._connect.move(event.scenePos(), event.screenPos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._connect is not None and event.button() == Qt.LeftButton:
            interaction, self._connect = self._connect, None
            interaction.release(event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if event.button() == Qt.LeftButton:
            self._moves.release()

    def _cancel_connect(self) -> None:
        if self._connect is not None:
            self._connect.finish()
            self._connect = None

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Escape and self._connect is not None:
            self._cancel_connect()
            return
        super().keyPressEvent(event)


def node_texts(spec: engine.NetworkSpec, analysis: engine.Analysis, node_id: str):
    """(title, summary, shape, params, error) drawn on one node."""
    node = spec.nodes[node_id]
    title = spec.label(node_id)
    summary = D.summary(node.kind, node.params)
    if summary == "" and not title.startswith(node.kind):
        summary = node.kind
    shape = analysis.shapes.get(node_id)
    n = analysis.params.get(node_id, 0)
    params = f"{n:,} param{'s' if n != 1 else ''}" if n else ""
    shape_text = "→ " + D.shape(shape) if shape is not None else "→ ?"
    return title, summary, shape_text, params, analysis.errors.get(node_id, "")


def node_tooltip(spec: engine.NetworkSpec, analysis: engine.Analysis, node_id: str) -> str:
    node = spec.nodes[node_id]
    kind = engine.LAYERS[node.kind]
    tip = [f"<b>{html.escape(spec.label(node_id))}</b> &nbsp;<i>{kind.name}</i>",
           f"<span style='color:#4b5563'>{html.escape(kind.doc)}</span>"]
    error = analysis.errors.get(node_id)
    if error:
        tip.append(f"<span style='color:#dc2626'><b>Problem:</b> {html.escape(error)}</span>")
    shape = analysis.shapes.get(node_id)
    if shape is not None:
        ins = ", ".join(D.shape(s) for s in analysis.in_shapes.get(node_id, []))
        flow = f"{ins} → {D.shape(shape)}" if ins else D.shape(shape)
        tip.append(f"Shape: {flow}<br>Parameters: {D.count(analysis.params.get(node_id, 0))} "
                   f"· FLOPs: {D.flops(analysis.node_flops.get(node_id, 0))}")
    return "<br>".join(tip)
