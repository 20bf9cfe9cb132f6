"""Choosing the data set: the named ones (with their options), the user's own files, and a
preview of shape, classes and a few samples."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
                               QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget)

import engine

from . import files
from .plots import PALETTE

OPEN_FILE, OPEN_FOLDER = "__open_file__", "__open_folder__"


class DatasetBox(QWidget):
    """`reference()` is {"name", "options"}; `changed` fires when the choice or an option
    changes; `download_requested` asks the session to fetch a remote data set now."""
    changed = Signal()
    download_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.infos = {i.name: i for i in engine.datasets()}
        self.combo = QComboBox()
        self.combo.setObjectName("dataset_combo")
        for info in self.infos.values():
            self.combo.addItem(self._title(info), info.name)
            self.combo.setItemData(self.combo.count() - 1, info.description, Qt.ToolTipRole)
        self.combo.insertSeparator(self.combo.count())
        self.combo.addItem("Open file (CSV, NPZ, IDX)…", OPEN_FILE)
        self.combo.addItem("Open image folder…", OPEN_FOLDER)
        self.combo.activated.connect(self._activated)
        self.options = QFormLayout()
        self.option_widgets: dict[str, QWidget] = {}
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setObjectName("dataset_summary")
        self.samples = QHBoxLayout()
        self.download = QPushButton("Download now")
        self.download.clicked.connect(self.download_requested)
        self.download.hide()
        self.progress = QProgressBar()
        self.progress.hide()
        self._current = ""
        self._layout()

    def _layout(self) -> None:
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.combo)
        box.addLayout(self.options)
        box.addWidget(self.summary)
        box.addLayout(self.samples)
        row = QHBoxLayout()
        row.addWidget(self.download)
        row.addWidget(self.progress, 1)
        box.addLayout(row)

    @staticmethod
    def _title(info) -> str:
        return info.name + ("" if info.available else "  (download)")

    # ------------------------------------------------------------------ the choice
    def reference(self) -> dict:
        name = self._current
        options = {k: _value(w) for k, w in self.option_widgets.items()}
        return {"name": name, "options": options}

    def set_reference(self, ref: dict | None) -> None:
        ref = ref or {}
        name = str(ref.get("name") or "")
        self._choose(name, dict(ref.get("options") or {}), emit=False)

    def _activated(self, index: int) -> None:
        data = self.combo.itemData(index)
        if data in (OPEN_FILE, OPEN_FOLDER):
            path = files.ask_data_path(self) if data == OPEN_FILE else \
                files.ask_data_folder(self)
            if not path:
                self._select(self._current)
                return
            data = path
        self._choose(str(data), {}, emit=True)

    def _choose(self, name: str, options: dict, emit: bool) -> None:
        if name and self.combo.findData(name) < 0:
            self.combo.insertItem(self.combo.count() - 3, name, name)
        self._current = name
        self._select(name)
        self._options(self.infos.get(name), options)
        info = self.infos.get(name)
        self.download.setVisible(info is not None and not info.available)
        if emit:
            self.changed.emit()

    def _select(self, name: str) -> None:
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(max(-1, self.combo.findData(name)))
        self.combo.blockSignals(False)

    def _options(self, info, values: dict) -> None:
        while self.options.rowCount():
            self.options.removeRow(0)
        self.option_widgets = {}
        for opt in (info.options if info else ()):
            widget = _option_widget(opt, values.get(opt.name, opt.default))
            widget.setToolTip(opt.help)
            signal = widget.currentIndexChanged if isinstance(widget, QComboBox) \
                else widget.valueChanged
            signal.connect(lambda *_: self.changed.emit())
            self.option_widgets[opt.name] = widget
            self.options.addRow(opt.name.replace("_", " "), widget)

    def mark_available(self) -> None:
        """After a download: refresh the titles and hide the button."""
        self.infos = {i.name: i for i in engine.datasets()}
        for i in range(self.combo.count()):
            info = self.infos.get(self.combo.itemData(i))
            if info is not None:
                self.combo.setItemText(i, self._title(info))
        info = self.infos.get(self._current)
        self.download.setVisible(info is not None and not info.available)

    # ------------------------------------------------------------------ preview
    def needs_download(self) -> bool:
        info = self.infos.get(self._current)
        return info is not None and not info.available

    def show_progress(self, done: int, total: int) -> None:
        self.progress.show()
        self.progress.setRange(0, max(total, 1) if total else 0)
        self.progress.setValue(done)
        self.progress.setFormat(f"downloading: {done / 1e6:.1f} of {total / 1e6:.1f} MB"
                                if total else f"downloading: {done / 1e6:.1f} MB")

    def hide_progress(self) -> None:
        self.progress.hide()

    def show_text(self, text: str, error: bool = False) -> None:
        self.summary.setText(text)
        self.summary.setStyleSheet("color: #b91c1c;" if error else "color: #374151;")
        self._clear_samples()

    def show_preview(self, info: dict) -> None:
        shape = "x".join(str(d) for d in info["input_shape"])
        task = (f"{info['classes']} classes" if info["task"] == "classification"
                else f"regression to {info['target_shape'] or [1]}")
        self.show_text(f"{info['samples']:,} samples · input {shape} · {task}")
        if "images" in info:
            for img, label in zip(info["images"], info["image_labels"]):
                self.samples.addWidget(_thumbnail(img, label))
            self.samples.addStretch(1)
        elif "points" in info:
            self.samples.addWidget(_scatter(info["points"], info["point_labels"]))

    def _clear_samples(self) -> None:
        while self.samples.count():
            item = self.samples.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()


def _value(widget):
    if isinstance(widget, QComboBox):
        return widget.currentText()
    return widget.value()


def _option_widget(opt, value) -> QWidget:
    if opt.choices:
        w = QComboBox()
        w.addItems(list(opt.choices))
        w.setCurrentText(str(value))
        return w
    if isinstance(opt.default, int):
        w = QSpinBox()
        w.setRange(int(opt.lo if opt.lo is not None else 0),
                   int(min(opt.hi if opt.hi is not None else 2**31 - 1, 2**31 - 1)))
    else:
        w = QDoubleSpinBox()
        w.setDecimals(3)
        w.setSingleStep(0.05)
        w.setRange(float(opt.lo if opt.lo is not None else -1e9),
                   float(opt.hi if opt.hi is not None else 1e9))
    w.setValue(value)
    return w


def _thumbnail(img: np.ndarray, label: str) -> QWidget:
    data = np.ascontiguousarray((img * 255).astype(np.uint8))
    h, w = data.shape
    qimg = QImage(data.data, w, h, w, QImage.Format_Grayscale8).copy()
    box = QLabel()
    box.setPixmap(QPixmap.fromImage(qimg).scaled(30, 30, Qt.KeepAspectRatio,
                                                  Qt.SmoothTransformation))
    box.setToolTip(f"label {label}")
    return box


def _scatter(points: np.ndarray, labels: np.ndarray) -> QWidget:
    plot = pg.PlotWidget()
    plot.setFixedHeight(110)
    plot.hideAxis("bottom")
    plot.hideAxis("left")
    plot.setMouseEnabled(False, False)
    brushes = [pg.mkBrush(QColor(PALETTE[int(c) % len(PALETTE)])) for c in labels]
    plot.addItem(pg.ScatterPlotItem(points[:, 0], points[:, 1], size=4, pen=None,
                                    brush=brushes))
    return plot
