"""Graphics items: a node box with its ports, and a curved edge with an arrow head.

Items only draw; what they show comes from the scene (which reads the document). A node's scene
position is its centre, the same point as the spec's `position`.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (QBrush, QColor, QFont, QFontMetrics, QPainter, QPainterPath,
                           QPainterPathStroker, QPen, QPolygonF)
from PySide6.QtWidgets import (QGraphicsEllipseItem, QGraphicsItem, QGraphicsPathItem,
                               QGraphicsPolygonItem, QGraphicsRectItem)

from .. import theme

NODE_W, NODE_H = 176.0, 62.0
_NODE_BOUNDS = QRectF(-NODE_W / 2 - 2, -NODE_H / 2 - 2, NODE_W + 4, NODE_H + 4)
PORT_R = 5.0
SLOT_GAP = 16.0          # horizontal spacing of edge ends on a multi-input node


class PortItem(QGraphicsEllipseItem):
    """An input (top) or output (bottom) port: drag from one to another node to connect.
    (The scene also starts a connection from a press near the port, so it is easy to hit.)"""

    def __init__(self, node: "NodeItem", output: bool):
        super().__init__(-PORT_R, -PORT_R, 2 * PORT_R, 2 * PORT_R, node)
        self.node, self.output = node, output
        self.setPos(0, NODE_H / 2 if output else -NODE_H / 2)
        self.setPen(QPen(QColor("#ffffff"), 1.5))
        self.setBrush(QBrush(theme.EDGE.darker(130)))
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CrossCursor)
        self.setZValue(2)
        self.setToolTip("Output: drag to another layer to connect" if output
                        else "Input: drag to the layer that should feed this one")

    def hoverEnterEvent(self, event):
        self.setBrush(QBrush(theme.SELECTION))
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event):
        self.setBrush(QBrush(theme.EDGE.darker(130)))
        super().hoverLeaveEvent(event)


class NodeItem(QGraphicsRectItem):
    """A layer: title, key parameters, output shape and parameter count. Painted in Python
    but cached per item, so only nodes whose text changed are painted again."""

    def __init__(self, node_id: str, category: str, has_input: bool):
        super().__init__(_NODE_BOUNDS)
        self.setPen(QPen(Qt.NoPen))
        self.node_id = node_id
        self.color = theme.category_color(category)
        self.edges_in: list[EdgeItem] = []
        self.edges_out: list[EdgeItem] = []
        self.texts = ("", "", "", "", "")        # title, summary, shape, params, error
        self.facts = None                         # (shape, params, error) the texts show
        self.badge: tuple[str, QColor] | None = None   # training statistic: text, colour
        self.tint: QColor | None = None                # fill coloured by a statistic
        self.mark = ""                                 # "active" or "frozen" (pre-training)
        self.setFlags(QGraphicsItem.ItemIsMovable | QGraphicsItem.ItemIsSelectable
                      | QGraphicsItem.ItemSendsGeometryChanges)
        self.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)
        self.in_port = PortItem(self, False) if has_input else None
        self.out_port = PortItem(self, True)

    # ------------------------------------------------------------------ content
    def set_texts(self, title: str, summary: str, shape: str, params: str, error: str) -> None:
        texts = (title, summary, shape, params, error)
        if texts != self.texts:
            self.texts = texts
            self.update()

    @property
    def has_error(self) -> bool:
        return bool(self.texts[4])

    def set_badge(self, text: str | None, color: QColor | None = None) -> None:
        badge = (text, QColor(color or theme.MUTED)) if text else None
        if badge != self.badge:
            self.badge = badge
            self.update()

    def set_tint(self, color: QColor | None) -> None:
        if color != self.tint:
            self.tint = QColor(color) if color is not None else None
            self.update()

    def set_mark(self, mark: str) -> None:
        """'active' (the block being trained), 'frozen' (blocks held fixed) or ''."""
        if mark != self.mark:
            self.mark = mark
            self.update()

    # ------------------------------------------------------------------ geometry
    def port_near(self, scene_pos: QPointF, reach: float = 11.0) -> "PortItem | None":
        """The port within `reach` of a scene position, if any (a generous hit area)."""
        for port in (self.out_port, self.in_port):
            if port is not None:
                d = port.scenePos() - scene_pos
                if d.x() * d.x() + d.y() * d.y() <= reach * reach:
                    return port
        return None

    def output_point(self) -> QPointF:
        return self.scenePos() + QPointF(0, NODE_H / 2)

    def input_point(self, slot: int = 0, slots: int = 1) -> QPointF:
        return self.scenePos() + QPointF((slot - (slots - 1) / 2) * SLOT_GAP, -NODE_H / 2)

    def itemChange(self, change, value):
        if change == QGraphicsItem.ItemPositionHasChanged:
            for edge in self.edges_in + self.edges_out:
                edge.update_path()
        return super().itemChange(change, value)

    # ------------------------------------------------------------------ drawing
    def paint(self, painter: QPainter, option, widget=None) -> None:
        title, summary, shape, params, error = self.texts
        rect = QRectF(-NODE_W / 2, -NODE_H / 2, NODE_W, NODE_H)
        painter.setRenderHint(QPainter.Antialiasing)
        selected = self.isSelected()
        border = theme.SELECTION if selected else theme.ERROR if error else QColor("#cbd5e1")
        pen = QPen(border, 2.4 if selected or error else 1.2)
        if self.mark and not selected:
            pen = QPen(QColor("#f97316") if self.mark == "active" else theme.MUTED, 3.0,
                       Qt.SolidLine if self.mark == "active" else Qt.DashLine)
        painter.setPen(pen)
        painter.setBrush(theme.ERROR_FILL if error else self.tint or QColor("#ffffff"))
        painter.drawRoundedRect(rect, 7, 7)
        stripe = QPainterPath()
        stripe.addRoundedRect(QRectF(rect.left() + 1, rect.top() + 1, 7, NODE_H - 2), 5, 5)
        painter.fillPath(stripe, error and theme.ERROR or self.color)
        if option.levelOfDetailFromTransform(painter.worldTransform()) < 0.3:
            return              # too small to read: the box and its colour are enough
        left, width = rect.left() + 15, NODE_W - 24
        bold, small = _fonts(painter.font())
        room = self._badge(painter, small_font(painter), rect) if self.badge or self.mark else 0
        self._text(painter, bold, theme.TEXT, QRectF(left, rect.top() + 5, width - room, 18),
                   title)
        middle = QRectF(left, rect.top() + 23, width, 16)
        room = QFontMetrics(small).horizontalAdvance(params) + 8 if params else 0
        if params:
            painter.setPen(theme.MUTED)
            painter.setFont(small)
            painter.drawText(middle, Qt.AlignRight | Qt.AlignVCenter, params)
        self._text(painter, small, theme.MUTED, middle.adjusted(0, 0, -room, 0), summary)
        bottom = QRectF(left, rect.top() + 40, width, 16)
        self._text(painter, small, theme.ERROR if error else theme.TEXT, bottom,
                   "⚠ " + error if error else shape)

    def _badge(self, painter: QPainter, font: QFont, rect: QRectF) -> float:
        """The statistic badge (or the pre-training mark) at the top right; its width."""
        text, color = self.badge or (("training" if self.mark == "active" else "frozen"),
                                     QColor("#f97316") if self.mark == "active"
                                     else theme.MUTED)
        w = QFontMetrics(font).horizontalAdvance(text) + 10
        pill = QRectF(rect.right() - w - 5, rect.top() + 6, w, 15)
        painter.setPen(Qt.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(pill, 7, 7)
        painter.setFont(font)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(pill, Qt.AlignCenter, text)
        return w + 6

    @staticmethod
    def _text(painter: QPainter, font: QFont, color: QColor, rect: QRectF, text: str) -> None:
        if not text:
            return
        painter.setFont(font)
        painter.setPen(color)
        elided = QFontMetrics(font).elidedText(text, Qt.ElideRight, int(rect.width()))
        painter.drawText(rect, Qt.AlignLeft | Qt.AlignVCenter, elided)


_FONTS: dict[str, tuple[QFont, QFont]] = {}


def _fonts(base: QFont) -> tuple[QFont, QFont]:
    """The title and detail fonts for a base font (made once)."""
    key = base.key()
    if key not in _FONTS:
        bold = QFont(base)
        bold.setPointSizeF(9.5)
        bold.setBold(True)
        small = QFont(base)
        small.setPointSizeF(8.5)
        _FONTS[key] = (bold, small)
    return _FONTS[key]


class EdgeItem(QGraphicsPathItem):
    """A curved connection from one node's output to another's input, with an arrow head.
    Painted by Qt itself (no Python per frame); its pen follows hover, selection and the
    drop-target highlight."""

    def __init__(self, src: NodeItem, dst: NodeItem):
        super().__init__()
        self.src, self.dst = src, dst
        self.slot, self.slots = 0, 1
        self.highlighted = False
        self.hovered = False
        self.arrow = QGraphicsPolygonItem(_ARROW, self)
        self.arrow.setPen(QPen(Qt.NoPen))
        self.setFlags(QGraphicsItem.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(0)
        src.edges_out.append(self)
        dst.edges_in.append(self)
        self._restyle()
        self.update_path()

    @property
    def key(self) -> tuple[str, str]:
        return (self.src.node_id, self.dst.node_id)

    def detach(self) -> None:
        self.src.edges_out.remove(self)
        self.dst.edges_in.remove(self)

    def set_slot(self, slot: int, slots: int) -> None:
        if (slot, slots) != (self.slot, self.slots):
            self.slot, self.slots = slot, slots
            self.update_path()

    def set_highlighted(self, on: bool) -> None:
        if on != self.highlighted:
            self.highlighted = on
            self._restyle()

    def update_path(self) -> None:
        tip = self.dst.input_point(self.slot, self.slots)
        self.setPath(curve(self.src.output_point(), tip - QPointF(0, 7)))
        self.arrow.setPos(tip)

    def _restyle(self) -> None:
        color = (_HIGHLIGHT if self.highlighted else theme.SELECTION if self.isSelected()
                 else _HOVER if self.hovered else theme.EDGE)
        width = 3.2 if self.highlighted or self.isSelected() else 2.0
        self.setPen(QPen(color, width, Qt.SolidLine, Qt.RoundCap))
        self.arrow.setBrush(color)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(12)
        return stroker.createStroke(self.path())

    def itemChange(self, change, value):
        if change == QGraphicsItem.ItemSelectedHasChanged:
            self._restyle()
        return super().itemChange(change, value)

    def hoverEnterEvent(self, event):
        self.hovered = True
        self._restyle()

    def hoverLeaveEvent(self, event):
        self.hovered = False
        self._restyle()


_ARROW = QPolygonF([QPointF(0, 0), QPointF(-5, -9), QPointF(5, -9)])
_HIGHLIGHT = QColor("#f97316")
_HOVER = theme.EDGE.darker(140)


def small_font(painter: QPainter) -> QFont:
    font = QFont(painter.font())
    font.setPointSizeF(7.5)
    font.setBold(True)
    return font


def curve(a: QPointF, b: QPointF) -> QPainterPath:
    """A vertical S-curve from a (going down) to b (arriving from above)."""
    bend = max(40.0, abs(b.y() - a.y()) / 2, abs(b.x() - a.x()) / 3 if b.y() < a.y() else 0)
    path = QPainterPath(a)
    path.cubicTo(a + QPointF(0, bend), b - QPointF(0, bend), b)
    return path
