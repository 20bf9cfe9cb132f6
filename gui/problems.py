"""The Problems list: every problem the analysis found, then the data set's misfits (gui.data_fit),
then the warnings; clicking one selects its node, and a problem with a one-step repair shows its
button ("Insert Flatten", "Set Input 1 to 2"), which makes the repair as an undoable edit.

A list model over those rows: a re-analysis resets the model in one step, and the repair buttons
are painted by a delegate rather than made as widgets, so a network with hundreds of problems
stays quick to edit. Rows wrap their text to the panel's width.
"""
from __future__ import annotations

from typing import NamedTuple

from PySide6.QtCore import QAbstractListModel, QEvent, QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import (QApplication, QListView, QStyle, QStyledItemDelegate,
                               QStyleOptionButton, QStyleOptionViewItem)

import engine

from .commands import fix_command
from .document import Document

NODE_ROLE = Qt.UserRole + 1
FIX_ROLE = Qt.UserRole + 2
OK_TEXT = "No problems: the network is valid."
WARNING_COLOUR = "#b45309"


class Row(NamedTuple):
    node_id: str
    message: str
    warning: bool = False
    fix: engine.Fix | None = None


def rows_of(doc: Document, fit=None) -> list[Row]:
    """The rows to list: the network's problems, the data fit's (gui.data_fit.DataFit), the
    warnings."""
    a = doc.analysis
    rows = [Row(n, m, False, a.fixes.get((n, m))) for n, m in a.problems]
    if fit is not None:
        rows += [Row(n, m, False, fit.fix_for(n, m)) for n, m in fit.problems]
    return rows + [Row(n, m, True) for n, m in a.warnings]


class ProblemsModel(QAbstractListModel):
    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.problems: list[Row] = []

    def set_problems(self, problems: list[Row]) -> bool:
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
        row = self.problems[index.row()]
        if role == Qt.DisplayRole:
            spec = self.doc.spec
            where = spec.label(row.node_id) if row.node_id in spec.nodes else "Network"
            return f"{'⚠ ' if row.warning else ''}{where}: {row.message}"
        if role == Qt.ForegroundRole and row.warning:
            return QColor(WARNING_COLOUR)
        if role == Qt.ToolTipRole:
            return row.message + ("\nClick to select the layer." if row.node_id else "") + (
                f"\nThe button makes the repair: {row.fix.title}." if row.fix else "")
        if role == NODE_ROLE:
            return row.node_id
        if role == FIX_ROLE:
            return row.fix
        return None


class FixButtons(QStyledItemDelegate):
    """Rows as wide as the list, their text wrapped; a row's repair painted as a push button at
    its right end, and a click on that button asks for the repair."""
    fix_clicked = Signal(int)
    PAD = 6

    def _metrics(self) -> QFontMetrics:
        view = self.parent()
        return view.fontMetrics() if view is not None else QFontMetrics(QApplication.font())

    def button_rect(self, rect: QRect, title: str) -> QRect:
        metrics = self._metrics()
        width = metrics.horizontalAdvance(title) + 4 * self.PAD
        return QRect(rect.right() - width - self.PAD, rect.top() + 3, width,
                     metrics.height() + 2 * self.PAD)

    def _text_rect(self, rect: QRect, fix) -> QRect:
        right = self.button_rect(rect, fix.title).left() - self.PAD if fix else rect.right()
        return QRect(rect.left(), rect.top(), max(40, right - rect.left()), rect.height())

    def sizeHint(self, option, index) -> QSize:
        view = self.parent()
        width = view.viewport().width() if view is not None else 400
        text = self._text_rect(QRect(0, 0, width, 10), index.data(FIX_ROLE))
        bound = self._metrics().boundingRect(
            QRect(0, 0, text.width() - 2 * self.PAD, 100_000), Qt.TextWordWrap,
            index.data(Qt.DisplayRole) or "")
        least = self._metrics().height() + 4 * self.PAD if index.data(FIX_ROLE) else 0
        return QSize(1, max(bound.height() + 2 * self.PAD, least))   # 1: as wide as the list

    def paint(self, painter, option, index) -> None:
        fix = index.data(FIX_ROLE)
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        item.rect = self._text_rect(option.rect, fix)
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawPrimitive(QStyle.PE_PanelItemViewRow, option, painter, option.widget)
        style.drawControl(QStyle.CE_ItemViewItem, item, painter, option.widget)
        if fix is not None:
            face = QStyleOptionButton()
            face.rect, face.text = self.button_rect(option.rect, fix.title), fix.title
            face.state = QStyle.State_Enabled | QStyle.State_Raised
            style.drawControl(QStyle.CE_PushButton, face, painter, option.widget)

    def editorEvent(self, event, model, option, index) -> bool:
        fix = index.data(FIX_ROLE)
        if (fix is not None and event.type() == QEvent.MouseButtonRelease
                and event.button() == Qt.LeftButton
                and self.button_rect(option.rect, fix.title).contains(event.position().toPoint())):
            self.fix_clicked.emit(index.row())
            return True
        return super().editorEvent(event, model, option, index)


class ProblemsList(QListView):
    node_chosen = Signal(str)
    count_changed = Signal(int)

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.fit = None                        # gui.data_fit.DataFit, once set_fit gives it
        self.model_ = ProblemsModel(doc, self)
        self.setModel(self.model_)
        self.buttons = FixButtons(self)
        self.setItemDelegate(self.buttons)
        self.setAlternatingRowColors(True)
        self.setWordWrap(True)                # every word readable, however narrow the panel
        self.setResizeMode(QListView.Adjust)  # rows wrap again when the panel is resized
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setObjectName("problems")
        self.clicked.connect(self._chosen)
        self.activated.connect(self._chosen)
        self.buttons.fix_clicked.connect(self.apply_fix)
        doc.analysis_changed.connect(self.refresh)
        self.refresh()

    def set_fit(self, fit) -> None:
        """List the data fit's problems too (gui.data_fit.DataFit)."""
        self.fit = fit
        fit.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        if self.model_.set_problems(rows_of(self.doc, self.fit)):
            self.count_changed.emit(len(self.model_.problems))

    def count(self) -> int:
        return self.model_.rowCount()

    def row_text(self, row: int) -> str:
        return self.model_.data(self.model_.index(row), Qt.DisplayRole)

    def row_rect(self, row: int):
        return self.visualRect(self.model_.index(row))

    def fix_of(self, row: int) -> engine.Fix | None:
        return self.model_.data(self.model_.index(row), FIX_ROLE)

    def fix_rect(self, row: int) -> QRect | None:
        """Where row's repair button is, in the viewport; None if it has none."""
        fix = self.fix_of(row)
        return self.buttons.button_rect(self.row_rect(row), fix.title) if fix else None

    def apply_fix(self, row: int) -> bool:
        """Make row's repair (one undoable step); False if it has none."""
        fix = self.fix_of(row)
        if fix is None or fix.node_id not in self.doc.spec.nodes:
            return False
        self.doc.undo_stack.push(fix_command(self.doc, fix))
        return True

    def _chosen(self, index: QModelIndex) -> None:
        node_id = index.data(NODE_ROLE)
        if node_id and node_id in self.doc.spec.nodes:
            self.node_chosen.emit(node_id)
