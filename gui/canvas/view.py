"""The canvas view: zoom with the wheel, pan (middle button, Space + drag, touchpad), fit to
window, rubber-band selection, and drops from the palette (onto empty space: add; onto an edge:
insert) and from the file manager (open). An empty network shows, in the middle of the view,
how to start one."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QFont, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsView

import engine

from .. import theme
from ..commands import AddNodeCommand, insert_command
from .scene import CanvasScene

KIND_MIME = "application/x-layerwise-kind"
MIN_SCALE, MAX_SCALE = 0.08, 3.0
HINT_TITLE = "Start a network"


def empty_hint() -> list[str]:
    """What to do on an empty canvas, one way per line."""
    open_keys = QKeySequence(QKeySequence.Open).toString(QKeySequence.NativeText)
    return ["Drag a layer from the Layers palette onto the canvas, or double-click one to "
            "add it (start with Input).",
            "Or open a ready-made network from File → Examples.",
            f"Or open a file ({open_keys}), or drop a .lwnet or network.json here."]


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
        self._empty = self.is_empty()
        doc = scene.doc
        for signal in (doc.node_added, doc.node_removed, doc.spec_replaced):
            signal.connect(self._nodes_changed)

    # ------------------------------------------------------------------ empty network
    def is_empty(self) -> bool:
        """True while the network has no layer: the view shows how to start one."""
        return not self.canvas.doc.spec.nodes

    def _nodes_changed(self, *_) -> None:
        if self.is_empty() != self._empty:
            self._empty = self.is_empty()
            self.viewport().update()       # the hint covers the view, not one item

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        if self._empty:
            self.viewport().update()       # the hint stays put, the grid moves

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if self.is_empty():
            painter.save()
            painter.resetTransform()       # in the view's pixels, whatever the zoom
            self._draw_hint(painter, self.viewport().rect())
            painter.restore()

    def _draw_hint(self, painter: QPainter, area: QRect) -> None:
        width = min(area.width() - 40, 460)
        if width < 80:
            return
        title_font, body_font = QFont(self.font()), QFont(self.font())
        title_font.setPointSizeF(self.font().pointSizeF() * 1.5)
        title_font.setBold(True)
        body = "\n\n".join(empty_hint())
        flags = Qt.AlignHCenter | Qt.TextWordWrap
        painter.setFont(title_font)
        title_h = painter.fontMetrics().height()
        painter.setFont(body_font)
        body_h = painter.fontMetrics().boundingRect(QRect(0, 0, width, 10_000), flags,
                                                    body).height()
        top = area.center().y() - (title_h + 12 + body_h) // 2
        left = area.center().x() - width // 2
        painter.setPen(theme.TEXT)
        painter.setFont(title_font)
        painter.drawText(QRect(left, top, width, title_h), flags, HINT_TITLE)
        painter.setPen(theme.MUTED)
        painter.setFont(body_font)
        painter.drawText(QRect(left, top + title_h + 12, width, body_h), flags, body)

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
