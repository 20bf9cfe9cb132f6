"""The palette: every layer kind of `engine.LAYERS`, grouped by category, with a filter box.

Drag a kind onto the canvas to create it there (or onto an edge to insert it); double-click (or
Enter) to append it after the selected node. Each kind's one-line help is its tooltip.
"""
from __future__ import annotations

from PySide6.QtCore import QByteArray, QMimeData, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from engine import by_category

from . import theme
from .canvas.view import KIND_MIME

KIND_ROLE = Qt.UserRole + 1


class PaletteTree(QTreeWidget):
    """The tree; its drags carry the kind's name."""

    def mimeTypes(self) -> list[str]:
        return [KIND_MIME]

    def mimeData(self, items) -> QMimeData:
        mime = QMimeData()
        kinds = [i.data(0, KIND_ROLE) for i in items if i.data(0, KIND_ROLE)]
        if kinds:
            mime.setData(KIND_MIME, QByteArray(kinds[0].encode("utf-8")))
            mime.setText(kinds[0])
        return mime

    def supportedDropActions(self):
        return Qt.CopyAction


class Palette(QWidget):
    kind_activated = Signal(str)       # double-click or Enter on a kind

    def __init__(self, parent=None):
        super().__init__(parent)
        self.filter = QLineEdit(placeholderText="Filter layers…")
        self.filter.setClearButtonEnabled(True)
        self.filter.setToolTip("Type part of a layer's name, category or description")
        self.tree = PaletteTree()
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(8)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SingleSelection)
        self.tree.setUniformRowHeights(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree)
        self.items: dict[str, QTreeWidgetItem] = {}
        self._fill()
        self.filter.textChanged.connect(self.apply_filter)
        self.tree.itemActivated.connect(self._activated)

    def _fill(self) -> None:
        for category, kinds in by_category().items():
            if not kinds:
                continue
            head = QTreeWidgetItem(self.tree, [category])
            font = QFont(head.font(0))
            font.setBold(True)
            head.setFont(0, font)
            head.setForeground(0, theme.MUTED)
            head.setFlags(Qt.ItemIsEnabled)
            for kind in kinds:
                item = QTreeWidgetItem(head, [kind.name])
                item.setData(0, KIND_ROLE, kind.name)
                item.setIcon(0, theme.category_icon(category))
                item.setToolTip(0, f"<b>{kind.name}</b><br>{kind.doc}<br><i>Drag onto the "
                                   f"canvas, or double-click to add after the selection</i>")
                item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
                self.items[kind.name] = item
            head.setExpanded(True)

    def apply_filter(self, text: str) -> None:
        words = text.lower().split()
        for i in range(self.tree.topLevelItemCount()):
            head = self.tree.topLevelItem(i)
            shown = 0
            for j in range(head.childCount()):
                item = head.child(j)
                hay = " ".join([item.text(0), head.text(0), item.toolTip(0)]).lower()
                match = all(w in hay for w in words)
                item.setHidden(not match)
                shown += match
            head.setHidden(shown == 0)
            head.setExpanded(True)

    def visible_kinds(self) -> list[str]:
        return [k for k, item in self.items.items()
                if not item.isHidden() and not item.parent().isHidden()]

    def _activated(self, item: QTreeWidgetItem) -> None:
        kind = item.data(0, KIND_ROLE)
        if kind:
            self.kind_activated.emit(kind)
