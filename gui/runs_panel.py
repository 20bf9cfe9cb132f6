"""The Runs panel: every kept run of the document with its settings and final numbers; select
runs to overlay their curves, compare two runs' settings, rename, delete, export to CSV.

It reads and edits `Document.runs` through the document's methods (so saving keeps them) and
computes nothing itself: records, summaries, differences and CSV come from engine.runs.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QFileDialog, QHBoxLayout, QLabel,
                               QMessageBox, QPushButton, QSplitter, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from engine import runs as R

COLUMNS = (("label", "Run"), ("dataset", "Data"), ("optimizer", "Optimizer"), ("lr", "LR"),
           ("batch_size", "Batch"), ("epochs", "Epochs"), ("train_loss", "Train loss"),
           ("val_loss", "Val loss"), ("val_acc", "Val acc"), ("seconds", "Seconds"))
PLOTS = (("val_acc", "Validation accuracy", "epoch"), ("val_loss", "Validation loss", "epoch"),
         ("train_loss_per_step", "Training loss", "step"))


def _cell(key: str, value) -> str:
    if value is None:
        return "—"
    if key == "val_acc":
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:.4g}" if key != "seconds" else f"{value:.1f}"
    return str(value)


class RunsPanel(QWidget):
    selection_changed = Signal(list)      # the selected records

    def __init__(self, doc, parent=None):
        super().__init__(parent)
        import pyqtgraph as pg
        self.doc = doc
        self._known = {r["id"] for r in doc.runs}     # run ids the table has shown
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([title for _, title in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self._selected)
        self.table.itemChanged.connect(self._renamed)
        self.plots = {}
        plots = QTabWidget()            # one plot at a time, each as wide as the panel allows
        plots.setObjectName("run_plots")
        plots.setDocumentMode(True)
        for key, title, x in PLOTS:
            w = pg.PlotWidget(background="w")
            w.setLabel("bottom", x)
            w.showGrid(x=True, y=True, alpha=0.2)
            self.plots[key] = w
            plots.addTab(w, title)
        self.compare_button = QPushButton("Compare Settings…")
        self.delete_button = QPushButton("Delete")
        self.export_button = QPushButton("Export CSV…")
        self.compare_button.clicked.connect(self.compare_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.export_button.clicked.connect(self.export_csv)
        self.hint = QLabel("Every training run is kept here with its settings. Select runs to "
                           "overlay their curves (the colour beside a name is its curve's); "
                           "double-click a name to rename it.")
        self.hint.setWordWrap(True)
        self._layout(plots)
        doc.runs_changed.connect(self.refresh)
        self.refresh()

    def _layout(self, plots: QWidget) -> None:
        top = QWidget()
        col = QVBoxLayout(top)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.hint)
        col.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        for b in (self.compare_button, self.delete_button, self.export_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        col.addLayout(buttons)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(top)
        split.addWidget(plots)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        QVBoxLayout(self).addWidget(split)

    # ------------------------------------------------------------------ table
    def refresh(self) -> None:
        """The table from the document's runs, keeping the selection; a run that is new
        while nothing is selected is selected, so that its curves show."""
        selected = {r["id"] for r in self.selected()}
        new = [r["id"] for r in self.doc.runs if r["id"] not in self._known]
        self._known = {r["id"] for r in self.doc.runs}
        if new and not selected and len(new) == 1:
            selected = {new[0]}
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for record, row in zip(self.doc.runs, R.table_rows(self.doc.runs)):
            i = self.table.rowCount()
            self.table.insertRow(i)
            for j, (key, _) in enumerate(COLUMNS):
                item = QTableWidgetItem(_cell(key, row[key]))
                item.setData(Qt.UserRole, record["id"])
                if key != "label":
                    item.setFlags(item.flags() & ~Qt.ItemIsEditable)
                self.table.setItem(i, j, item)
        self.table.blockSignals(False)
        self.select_ids(list(selected))
        self.table.resizeColumnsToContents()
        self._selected()

    def selected(self) -> list[dict]:
        ids = {self.table.item(i.row(), 0).data(Qt.UserRole)
               for i in self.table.selectionModel().selectedRows()}
        return [r for r in self.doc.runs if r["id"] in ids]

    def select_ids(self, ids: list[str]) -> None:
        model, chosen = self.table.selectionModel(), QItemSelection()
        for i in range(self.table.rowCount()):
            if self.table.item(i, 0).data(Qt.UserRole) in ids:
                index = self.table.model().index(i, 0)
                chosen.select(index, index)
        model.select(chosen, QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)

    def _selected(self) -> None:
        records = self.selected()
        self.compare_button.setEnabled(len(records) == 2)
        self.delete_button.setEnabled(bool(records))
        self.export_button.setEnabled(bool(self.doc.runs))
        self._overlay(records)
        self.selection_changed.emit(records)

    def _overlay(self, records: list[dict]) -> None:
        import pyqtgraph as pg
        colours = {r["id"]: pg.intColor(k, hues=max(3, len(records)), maxValue=200)
                   for k, r in enumerate(records)}
        self.table.blockSignals(True)
        for i in range(self.table.rowCount()):        # the table is the legend
            item = self.table.item(i, 0)
            item.setIcon(_swatch(colours.get(item.data(Qt.UserRole))))
        self.table.blockSignals(False)
        for key, plot in self.plots.items():
            plot.clear()
            for k, record in enumerate(records):
                xs, ys = R.curves(record)[key]
                pairs = [(x, y) for x, y in zip(xs, ys) if y is not None]
                if not pairs:
                    continue
                colour = colours[record["id"]]
                plot.plot([p[0] for p in pairs], [p[1] for p in pairs], name=record["label"],
                          pen=pg.mkPen(colour, width=2),
                          symbol="o" if key != "train_loss_per_step" else None,
                          symbolSize=5, symbolBrush=colour, symbolPen=colour)

    def curve_data(self, key: str) -> list[tuple[list, list]]:
        """What the plot `key` shows, per curve (for tests and exports)."""
        return [tuple(map(list, item.getData())) for item in self.plots[key].listDataItems()]

    # ------------------------------------------------------------------ actions
    def _renamed(self, item: QTableWidgetItem) -> None:
        if item.column() != 0:
            return
        label = item.text().strip()
        if label:
            self.doc.rename_run(item.data(Qt.UserRole), label)
        else:
            self.refresh()

    def delete_selected(self) -> None:
        records = self.selected()
        if records:
            self.doc.delete_runs([r["id"] for r in records])

    def compare_selected(self) -> QDialog | None:
        records = self.selected()
        if len(records) != 2:
            return None
        dialog = SettingsDiff(records[0], records[1], self)
        dialog.show()
        return dialog

    def export_csv(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self, "Export runs", "runs.csv",
                                              "CSV files (*.csv)")
        return bool(path) and self.write_csv(path)

    def write_csv(self, path: str) -> bool:
        """Write the table to PATH and every run's curves to PATH-curves.csv."""
        records = self.selected() or self.doc.runs
        table, curves = Path(path), Path(path).with_name(Path(path).stem + "-curves.csv")
        try:
            table.write_text(R.table_csv(records), encoding="utf-8")
            curves.write_text(R.curves_csv(records), encoding="utf-8")
        except OSError as exc:
            QMessageBox.warning(self, "Export runs", f"Cannot write '{path}': "
                                                     f"{exc.strerror or exc}.")
            return False
        return True


def _swatch(colour) -> QIcon:
    """A small square of the curve's colour (an empty icon for a run that is not shown)."""
    if colour is None:
        return QIcon()
    pixmap = QPixmap(12, 12)
    pixmap.fill(colour)
    return QIcon(pixmap)


class SettingsDiff(QDialog):
    """The settings that differ between two runs, side by side."""

    def __init__(self, a: dict, b: dict, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Compare settings")
        self.diff = R.config_diff(a, b)
        table = QTableWidget(len(self.diff), 3)
        table.setHorizontalHeaderLabels(["Setting", a["label"], b["label"]])
        table.verticalHeader().setVisible(False)
        for i, (name, va, vb) in enumerate(self.diff):
            for j, value in enumerate((name, va, vb)):
                table.setItem(i, j, QTableWidgetItem("—" if value is None else str(value)))
        table.resizeColumnsToContents()
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("The two runs have the same settings." if not self.diff else
                                f"{len(self.diff)} setting(s) differ:"))
        layout.addWidget(table)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        layout.addWidget(close)
        self.resize(520, 320)
