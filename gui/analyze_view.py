"""View → Analyze Network…: the network as a table, like MATLAB's analyzeNetwork.

One row per layer: its type and settings, output shape, parameters, FLOPs and activation memory
per sample, and any problem (the network's own, the data set's misfits, warnings), with a Total
row. The numbers are engine.analyze's, laid out by engine.describe.table; nothing is computed
here. The table follows every edit while it is open; a click on a row selects the layer.
Ctrl+C copies the selected rows (all rows when none is selected) as tab-separated text with the
column names, Copy copies them all, and Export CSV… writes them to a file atomically; both give
plain numbers (bytes, FLOPs), as a spreadsheet wants them.

`install(window)` sets up the window's analysis views: the data fit (gui.data_fit) that the
Problems list, the status bar and the Training panel show, and this table's menu action.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QFont, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QDialog, QFileDialog,
                               QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

import engine
from engine import describe as D

from .data_fit import DataFit

HEADERS = ("Layer", "Type", "Settings", "Output shape", "Parameters", "FLOPs",
           "Activations / sample", "Problems")
NUMERIC = (4, 5, 6)
PROBLEM_COLOUR, WARNING_COLOUR = "#b91c1c", "#b45309"


def install(window) -> None:
    """The data fit (window.data_fit), listed in Problems and counted in the status bar, and
    View → Analyze Network… (window.analyze_action)."""
    window.data_fit = DataFit(window.doc, window)
    window.problems.set_fit(window.data_fit)
    window.data_fit.changed.connect(window._update_totals)
    window.inspector.other_problems = lambda: window.data_fit.problems
    window.data_fit.changed.connect(window.inspector._update_facts)
    action = QAction("Anal&yze Network…", window)
    action.setShortcut(QKeySequence("Ctrl+Shift+A"))
    action.setStatusTip("Every layer's output shape, parameters, FLOPs, activation memory and "
                        "problems, with totals")
    action.triggered.connect(lambda checked=False: show_analysis(window))
    window.addAction(action)
    menu = window.view_menu                  # after the zoom actions, apart
    first_separator = next((a for a in menu.actions() if a.isSeparator()), None)
    menu.insertAction(first_separator, action)
    menu.insertSeparator(action)
    window.analyze_action = action
    window.analyze_dialog = None


def show_analysis(window) -> "AnalyzeDialog":
    """Open (or raise) the window's Analyze table."""
    dialog = window.analyze_dialog
    if dialog is None:
        dialog = window.analyze_dialog = AnalyzeDialog(window)
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog


class AnalyzeDialog(QDialog):
    def __init__(self, window):
        super().__init__(window)
        self.setObjectName("analyze_dialog")
        self.window_ = window
        self.doc, self.fit = window.doc, window.data_fit
        self.rows: list[dict] = []
        self.setWindowTitle("Analyze Network")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setObjectName("analyze_table")
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(True)              # a problem reads in full, over a few lines
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(len(HEADERS) - 1, QHeaderView.Stretch)
        header.sectionResized.connect(lambda *_: self.table.resizeRowsToContents())
        self.table.cellClicked.connect(self._clicked)
        self.status = QLabel()
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy every row as tab-separated text (Ctrl+C copies the "
                                    "selected rows)")
        self.copy_button.clicked.connect(lambda: self.copy(all_rows=True))
        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(self.export_dialog)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        copy_keys = QAction(self)
        copy_keys.setShortcut(QKeySequence.Copy)
        copy_keys.triggered.connect(lambda: self.copy())
        self.addAction(copy_keys)
        self._layout(close)
        self.resize(1000, 520)
        self.doc.analysis_changed.connect(self._changed)
        self.fit.changed.connect(self._changed)
        self.refresh()

    def _changed(self) -> None:
        """An edit: the table follows it while shown, and is made again when shown next."""
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:
        self.refresh()
        super().showEvent(event)

    def _layout(self, close) -> None:
        box = QVBoxLayout(self)
        box.addWidget(self.summary)
        box.addWidget(self.table, 1)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        for b in (self.copy_button, self.export_button, close):
            row.addWidget(b)
        box.addLayout(row)

    # ------------------------------------------------------------------ contents
    def refresh(self) -> None:
        a = self.doc.analysis
        self.rows = D.table(self.doc.spec, a, extra=self.fit.problems)
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            for c, text in enumerate(self._shown(row)):
                self.table.setItem(r, c, self._item(row, c, text, total=r == len(self.rows) - 1))
        self.table.resizeRowsToContents()
        n = len(a.problems) + len(self.fit.problems)
        state = (f"{n} problem{'s' if n != 1 else ''}" if n else "Valid") + (
            f", {len(a.warnings)} warning{'s' if len(a.warnings) != 1 else ''}"
            if a.warnings else "")
        data = f" · data set '{self.fit.data['name']}'" if self.fit.data else ""
        self.summary.setText(f"<b>{self.doc.display_name()}</b> · {len(self.rows) - 1} layers"
                             f" · {state}{data} · memory is float32 per sample, as a "
                             f"training step keeps it")

    @staticmethod
    def _shown(row: dict) -> list[str]:
        def num(key, fmt):
            return "" if row[key] is None else fmt(row[key])
        return [row["layer"], row["type"], row["settings"],
                "" if row["shape"] is None else D.shape(row["shape"]),
                num("params", D.count), num("flops", D.flops), num("memory", D.memory),
                " ".join(row["problems"])]

    @staticmethod
    def _item(row: dict, column: int, text: str, total: bool) -> QTableWidgetItem:
        item = QTableWidgetItem(text)
        if column in NUMERIC:
            item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
        if column == len(HEADERS) - 1 and text:
            item.setToolTip(text)
            only_warnings = all(p.startswith("Warning: ") for p in row["problems"])
            item.setForeground(QColor(WARNING_COLOUR if only_warnings else PROBLEM_COLOUR))
        if total:
            font = QFont(item.font())
            font.setBold(True)
            item.setFont(font)
        return item

    def _clicked(self, r: int, _column: int) -> None:
        node_id = self.rows[r]["id"] if r < len(self.rows) else ""
        if node_id in self.doc.spec.nodes:
            self.window_.reveal_node(node_id)

    # ------------------------------------------------------------------ copy and export
    def cells(self, rows: list[dict] | None = None) -> list[list[str]]:
        """The header and `rows` (all by default) as plain cells (engine.describe.table_cells)."""
        return [list(D.TABLE_COLUMNS)] + [D.table_cells(r) for r in
                                          (self.rows if rows is None else rows)]

    def copy(self, all_rows: bool = False) -> str:
        """Copy the selected rows (or all) as tab-separated text; returns the text."""
        chosen = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        rows = None if all_rows or not chosen else [self.rows[i] for i in chosen]
        text = "\n".join("\t".join(c.replace("\t", " ") for c in line)
                         for line in self.cells(rows)) + "\n"
        QApplication.clipboard().setText(text)
        self.status.setText(f"Copied {len(self.cells(rows)) - 1} rows.")
        return text

    def export_dialog(self) -> bool:
        start = str(Path.home() / f"{Path(self.doc.display_name()).stem}-analysis.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Export the analysis as CSV", start,
                                              "CSV files (*.csv)")
        return self.export_csv(path) if path else False

    def export_csv(self, path: str) -> bool:
        """Write every row to `path` as CSV (written to a temporary file, then renamed)."""
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(self.cells())
        target = Path(path)
        try:
            engine.write_atomically(target, buffer.getvalue().encode("utf-8"), "write")
        except engine.LayerwiseError as exc:
            self.status.setText(f"{exc} Choose another folder or name.")
            self.status.setStyleSheet(f"color: {PROBLEM_COLOUR};")
            return False
        self.status.setStyleSheet("")
        self.status.setText(f"Exported {len(self.rows)} rows to {target}.")
        return True
