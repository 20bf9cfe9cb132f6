"""The Problems list: every problem the analysis found; clicking one selects its node.

A list model over `Analysis.problems`: a re-analysis resets the model in one step and the view
asks only for the rows it shows, so a network with hundreds of problems stays quick to edit.
"""
from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QListView

from .document import Document

NODE_ROLE = Qt.UserRole + 1
OK_TEXT = "No problems: the network is valid."


class ProblemsModel(QAbstractListModel):
    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.problems: list[tuple[str, str]] = []

    def set_problems(self, problems: list[tuple[str, str]]) -> bool:
        if problems == self.problems:
            return False
        self.beginResetModel()
        self.problems = list(problems)
        self.endResetModel()
        return True

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else max(1, len(self.problems))

    def flags(self, index):
        return Qt.ItemIsEnabled | Qt.ItemIsSelectable if self.problems else Qt.NoItemFlags

    def data(self, index, role=Qt.DisplayRole):
        if not self.problems:
            return OK_TEXT if role == Qt.DisplayRole else (
                QColor("#15803d") if role == Qt.ForegroundRole else None)
        node_id, message = self.problems[index.row()]
        if role == Qt.DisplayRole:
            spec = self.doc.spec
            where = spec.label(node_id) if node_id in spec.nodes else "Network"
            return f"{where}: {message}"
        if role == Qt.ToolTipRole:
            return message + ("\nClick to select the layer." if node_id else "")
        if role == NODE_ROLE:
            return node_id
        return None


class ProblemsList(QListView):
    node_chosen = Signal(str)
    count_changed = Signal(int)

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.model_ = ProblemsModel(doc, self)
        self.setModel(self.model_)
        self.setAlternatingRowColors(True)
        self.setUniformItemSizes(True)        # one line each (full text in the tooltip)
        self.setTextElideMode(Qt.ElideRight)
        self.setObjectName("problems")
        self.clicked.connect(self._chosen)
        self.activated.connect(self._chosen)
        doc.analysis_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        if self.model_.set_problems(self.doc.analysis.problems):
            self.count_changed.emit(len(self.model_.problems))

    def count(self) -> int:
        return self.model_.rowCount()

    def row_text(self, row: int) -> str:
        return self.model_.data(self.model_.index(row), Qt.DisplayRole)

    def row_rect(self, row: int):
        return self.visualRect(self.model_.index(row))

    def _chosen(self, index: QModelIndex) -> None:
        node_id = index.data(NODE_ROLE)
        if node_id and node_id in self.doc.spec.nodes:
            self.node_chosen.emit(node_id)
