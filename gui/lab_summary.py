"""The Lab window's verdicts: a banner above the report, and the Summary table of every
experiment's latest verdict in this window. Both only show what engine.lab computed."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, \
    QTableWidgetItem

from engine import lab

COLOURS = {lab.REPRODUCED: "#1b7f3a", lab.PARTLY: "#9a6200", lab.NOT_REPRODUCED: "#b3261e"}
MARKS = {lab.REPRODUCED: "✓", lab.PARTLY: "◐", lab.NOT_REPRODUCED: "✗"}
COLUMNS = ("experiment", "budget", "verdict", "deciding figure", "seconds")


def verdict_label(result) -> str:
    """'✓ reproduced', '◐ partly reproduced (indicative)', ..."""
    status = result.verdict.status
    return f"{MARKS[status]} {status}" + (" (indicative)" if result.quick else "") + \
        (" — stopped, partial" if result.stopped else "")


class VerdictBanner(QLabel):
    """The verdict of the result shown, in its colour, with its deciding figure."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.PlainText)
        self.setMargin(8)
        self.clear()

    def show_result(self, result) -> None:
        colour = COLOURS[result.verdict.status]
        self.setStyleSheet(f"QLabel {{ color: white; background: {colour}; "
                           f"border-radius: 4px; font-weight: bold; }}")
        budget = "quick budget — indicative only" if result.quick else "full budget"
        self.setText(f"{MARKS[result.verdict.status]} {result.verdict.headline()}  "
                     f"({budget})")
        self.setVisible(True)

    def clear(self) -> None:
        self.setText("")
        self.setStyleSheet("")
        self.setVisible(False)


class SummaryTable(QTableWidget):
    """One row per experiment: its latest verdict in this window, or 'not run yet'.
    Double-clicking a row emits `chosen(name)`."""
    chosen = Signal(str)

    def __init__(self, experiments, parent=None):
        super().__init__(len(experiments), len(COLUMNS), parent)
        self.names = [e.name for e in experiments]
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setWordWrap(True)
        header = self.horizontalHeader()
        for i in range(len(COLUMNS)):
            header.setSectionResizeMode(i, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.Stretch)
        header.sectionResized.connect(lambda *_: self.resizeRowsToContents())
        self.cellDoubleClicked.connect(lambda row, _: self.chosen.emit(self.names[row]))
        self.show_results({})

    def show_results(self, results: dict) -> None:
        for row, name in enumerate(self.names):
            result = results.get(name)
            cells = (name, "—", "not run yet", "", "") if result is None else (
                name, result.budget, verdict_label(result), result.verdict.headline(),
                f"{result.seconds:.1f}" if result.seconds < 10 else f"{result.seconds:.0f}")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 2 and result is not None:
                    item.setForeground(Qt.white)
                    item.setBackground(_colour(result.verdict.status))
                self.setItem(row, col, item)
        self.resizeRowsToContents()

def _colour(status: str):
    from PySide6.QtGui import QColor
    return QColor(COLOURS[status])
