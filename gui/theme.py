"""Colours and small generated icons shared by the canvas and the panels."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

CATEGORY_COLORS = {
    "Input": "#64748b", "Dense": "#2563eb", "Convolution": "#7c3aed", "Pooling": "#0891b2",
    "Reshape": "#475569", "Activation": "#d97706", "Regularisation": "#059669",
    "Normalisation": "#0d9488", "Merge": "#db2777", "Sequence": "#65a30d",
}
ERROR = QColor("#dc2626")
ERROR_FILL = QColor("#fef2f2")
SELECTION = QColor("#2563eb")
TEXT = QColor("#111827")
MUTED = QColor("#6b7280")
EDGE = QColor("#94a3b8")
CANVAS = QColor("#f3f4f6")
GRID = QColor("#d9dce1")
OK = QColor("#15803d")


def category_color(category: str) -> QColor:
    return QColor(CATEGORY_COLORS.get(category, "#6b7280"))


_ICONS: dict[str, QIcon] = {}


def category_icon(category: str) -> QIcon:
    """A small rounded square in the category's colour (cached)."""
    if category not in _ICONS:
        pix = QPixmap(14, 14)
        pix.fill(Qt.transparent)
        p = QPainter(pix)
        p.setRenderHint(QPainter.Antialiasing)
        p.setPen(Qt.NoPen)
        p.setBrush(category_color(category))
        p.drawRoundedRect(QRectF(1, 1, 12, 12), 3, 3)
        p.end()
        _ICONS[category] = QIcon(pix)
    return _ICONS[category]
