"""The Problems list: every problem the analysis found; clicking one selects its node."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from .document import Document

NODE_ROLE = Qt.UserRole + 1


class ProblemsList(QListWidget):
    node_chosen = Signal(str)
    count_changed = Signal(int)

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)
        self.setObjectName("problems")
        self.itemClicked.connect(self._chosen)
        self.itemActivated.connect(self._chosen)
        doc.analysis_changed.connect(self.refresh)
        self._shown: list[tuple[str, str]] = []
        self.refresh()

    def refresh(self) -> None:
        problems = list(self.doc.analysis.problems)
        if problems == self._shown:
            return
        self._shown = problems
        self.clear()
        spec = self.doc.spec
        for node_id, message in problems:
            where = spec.label(node_id) if node_id in spec.nodes else "Network"
            item = QListWidgetItem(f"{where}: {message}")
            item.setData(NODE_ROLE, node_id)
            item.setToolTip(message + ("\nClick to select the layer." if node_id else ""))
            self.addItem(item)
        if not problems:
            item = QListWidgetItem("No problems: the network is valid.")
            item.setFlags(Qt.NoItemFlags)
            self.addItem(item)
        self.count_changed.emit(len(problems))

    def _chosen(self, item: QListWidgetItem) -> None:
        node_id = item.data(NODE_ROLE)
        if node_id and node_id in self.doc.spec.nodes:
            self.node_chosen.emit(node_id)
