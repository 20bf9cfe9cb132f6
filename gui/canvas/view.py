"""The canvas view: zoom with the wheel, pan (middle button, Space + drag, touchpad), fit to
window, rubber-band selection, and drops from the palette (onto empty space: add; onto an edge:
insert) and from the file manager (open)."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsView

import engine

from .. import theme
from ..commands import AddNodeCommand, insert_command
from .scene import CanvasScene

KIND_MIME = "application/x-layerwise-kind"
MIN_SCALE, MAX_SCALE = 0.08, 3.0


def kind_from_mime(mime) -> str | None:
    if not mime.hasFormat(KIND_MIME):
        return None
    kind = bytes(mime.data(KIND_MIME)).decode("utf-8", "replace")
    return kind if kind in engine.LAYERS else None


def local_files(mime) -> list[str]:
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []


class CanvasView(QGraphicsView):
    files_dropped = Signal(list)
    node_dropped = Signal(str)          # id of the node a palette drop created

    def __init__(self, scene: CanvasScene, parent=None):
        super().__init__(scene, parent)
        self.canvas = scene
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self._pan_from: QPointF | None = None
        self._space = False
        self._drop_edge = None

    # ------------------------------------------------------------------ zoom and pan
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        factor = max(MIN_SCALE / self.zoom(), min(MAX_SCALE / self.zoom(), factor))
        self.scale(factor, factor)

    def reset_zoom(self) -> None:
        center = self.mapToScene(self.viewport().rect().center())
        self.resetTransform()
        self.centerOn(center)

    def fit(self) -> None:
        rect = self.canvas.nodes_rect()
        if rect.isNull():
            self.resetTransform()
            self.centerOn(0, 0)
            return
        rect = rect.adjusted(-40, -40, 40, 40)
        self.fitInView(rect, Qt.KeepAspectRatio)
        if self.zoom() > 1.2:
            self.resetTransform()
            self.scale(1.2, 1.2)
        elif self.zoom() < MIN_SCALE:
            self.resetTransform()
            self.scale(MIN_SCALE, MIN_SCALE)
        self.centerOn(rect.center())

    def show_nodes(self, node_ids) -> None:
        """Scroll so the nodes are visible, without changing the zoom unless they do not fit."""
        rect = self.canvas.nodes_rect(node_ids)
        if not rect.isNull():
            self.ensureVisible(rect, 60, 60)

    def wheelEvent(self, event) -> None:
        pixel = event.pixelDelta()
        if not pixel.isNull() and not event.modifiers() & Qt.ControlModifier:
            self._pan(QPointF(pixel))     # a touchpad scrolls
            return
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(1.15 ** steps)

    def _pan(self, delta: QPointF) -> None:
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MiddleButton or (self._space and event.button() == Qt.LeftButton):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            self._pan(event.position() - self._pan_from)
            self._pan_from = event.position()
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().setCursor(Qt.OpenHandCursor if self._space else Qt.ArrowCursor)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.OpenHandCursor)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            return
        super().keyReleaseEvent(event)

    # ------------------------------------------------------------------ drops
    def dragEnterEvent(self, event) -> None:
        if kind_from_mime(event.mimeData()) or local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        kind = kind_from_mime(event.mimeData())
        if kind is None:
            if local_files(event.mimeData()):
                event.acceptProposedAction()
            else:
                event.ignore()
            return
        edge = None
        if engine.LAYERS[kind].max_inputs != 0:
            edge = self.canvas.edge_at(self.mapToScene(event.position().toPoint()))
        self._highlight(edge)
        event.acceptProposedAction()

    def dragLeaveEvent(self, event) -> None:
        self._highlight(None)
        super().dragLeaveEvent(event)

    def _highlight(self, edge) -> None:
        if edge is not self._drop_edge:
            if self._drop_edge is not None and self._drop_edge.scene() is not None:
                self._drop_edge.set_highlighted(False)
            self._drop_edge = edge
            if edge is not None:
                edge.set_highlighted(True)

    def dropEvent(self, event) -> None:
        self._highlight(None)
        mime = event.mimeData()
        kind = kind_from_mime(mime)
        if kind is None:
            files = local_files(mime)
            if files:
                event.acceptProposedAction()
                self.files_dropped.emit(files)
            else:
                event.ignore()
            return
        event.acceptProposedAction()
        pos = self.mapToScene(event.position().toPoint())
        self.drop_kind(kind, pos)

    def drop_kind(self, kind: str, pos: QPointF) -> str:
        """Create `kind` at `pos`, inserted into the edge there if there is one."""
        doc = self.canvas.doc
        where = (round(pos.x(), 1), round(pos.y(), 1))
        edge = self.canvas.edge_at(pos) if engine.LAYERS[kind].max_inputs != 0 else None
        if edge is not None:
            cmd = insert_command(doc, kind, None, where, edge.key)
            node_id = cmd.node_id
        else:
            cmd = AddNodeCommand(doc, kind, None, where)
            node_id = cmd.node_id
        doc.undo_stack.push(cmd)
        self.canvas.select_nodes([node_id])
        self.node_dropped.emit(node_id)
        return node_id

    # ------------------------------------------------------------------ background
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, theme.CANVAS)
        if self.zoom() >= 0.45:
            painter.fillRect(rect, _grid_brush())


_GRID: list[QBrush] = []


def _grid_brush() -> QBrush:
    """A tiled dot grid (25 scene units apart), drawn once."""
    if not _GRID:
        tile = QPixmap(25, 25)
        tile.fill(Qt.transparent)
        p = QPainter(tile)
        p.setPen(theme.GRID)
        p.drawPoint(0, 0)
        p.end()
        _GRID.append(QBrush(tile))
    return _GRID[0]
