"""Choosing the data set: the named ones (with their options), the user's own files (with the
options their kind of file takes, as the engine describes them), and a preview of shape,
classes and a few samples."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QSpinBox, QToolButton,
                               QVBoxLayout, QWidget)

import engine
from engine import data as datasets

from ..layouts import empty
from . import files
from .plots import PALETTE

OPEN_FILE, OPEN_FOLDER = "__open_file__", "__open_folder__"
ERROR_COLOUR = "#b91c1c"


class DatasetBox(QWidget):
    """`reference()` is {"name", "options"}: a named data set or the path of the user's file,
    with the values of the option controls shown for it. `changed` fires when the choice or
    an option really changes; `file_opened` when the person opens a file or folder (so that
    it is read from disk again); `download_requested` asks the session to fetch a remote data
    set now."""
    changed = Signal()
    file_opened = Signal(str)
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
        self.combo.addItem("Open folder (images, shards)…", OPEN_FOLDER)
        self.combo.activated.connect(self._activated)
        self.options = QFormLayout()
        self.fields: dict[str, tuple[datasets.Option, QWidget]] = {}
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setObjectName("dataset_summary")
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.samples = QHBoxLayout()
        self.download = QPushButton("Download now")
        self.download.clicked.connect(self.download_requested)
        self.download.hide()
        self.progress = QProgressBar()
        self.progress.hide()
        self._current = ""
        self._kept: dict = {}           # options of the reference that have no control here
        self._remembered: dict[str, dict] = {}     # the options last shown for each choice
        self._last: dict = {}
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

    @property
    def option_widgets(self) -> dict[str, QWidget]:
        return {name: w for name, (_, w) in self.fields.items()}

    # ------------------------------------------------------------------ the choice
    def reference(self) -> dict:
        options = dict(self._kept)
        for name, (opt, w) in self.fields.items():
            value = _value(opt, w)
            if value is not None:
                options[name] = value
        return {"name": self._current, "options": options}

    def set_reference(self, ref: dict | None) -> None:
        ref = ref or {}
        name = str(ref.get("name") or "")
        self._choose(name, dict(ref.get("options") or {}), emit=False)

    def _activated(self, index: int) -> None:
        data = self.combo.itemData(index)
        if data in (OPEN_FILE, OPEN_FOLDER):
            data = self._ask_path(data)
            if not data:
                self._select(self._current)
                return
            self.file_opened.emit(data)
        self._choose(str(data), None, emit=True)

    def _ask_path(self, what: str) -> str:
        """A readable kind of file or folder from the person, or "" (with the reason shown)."""
        path = files.ask_data_path(self) if what == OPEN_FILE else files.ask_data_folder(self)
        if not path:
            return ""
        try:
            datasets.check_path(path)
        except engine.LayerwiseError as exc:
            still = f"'{self._current}'" if self._current else "not chosen"
            self.show_text(f"{exc}. The data set is still {still}.", error=True)
            return ""
        return str(path)

    def _choose(self, name: str, options: dict | None, emit: bool) -> None:
        """Show `name` with `options` (None: those it had when last shown here)."""
        if self._current:
            self._remembered[self._current] = self.reference()["options"]
        if options is None:
            options = self._remembered.get(name, {})
        if name and self.combo.findData(name) < 0:
            self._insert(name)
        self._current = name
        self._select(name)
        info = self.infos.get(name)
        offered = info.options if info else datasets.file_options(name) if name else ()
        self._options(offered, options)
        self.download.setVisible(info is not None and not info.available)
        if emit:
            self.changed.emit()

    def _insert(self, path: str) -> None:
        at = self.combo.count() - 3             # before the separator and the two Open items
        self.combo.insertItem(at, Path(path).name or path, path)
        self.combo.setItemData(at, path, Qt.ToolTipRole)

    def _select(self, name: str) -> None:
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(max(-1, self.combo.findData(name)))
        self.combo.blockSignals(False)

    # ------------------------------------------------------------------ option controls
    def _options(self, described, values: dict) -> None:
        while self.options.rowCount():
            self.options.removeRow(0)
        self.fields = {}
        known = {o.name for o in described}
        self._kept = {k: v for k, v in values.items() if k not in known}
        for opt in described:
            columns = self._columns(values) if opt.kind == "column" else None
            widget = _option_widget(opt, values.get(opt.name, opt.default), columns)
            widget.setObjectName(f"dataset_option_{opt.name}")
            self.fields[opt.name] = (opt, widget)
            self.options.addRow(opt.name.replace("_", " "), widget)
            for signal in _signals(widget):
                signal.connect(lambda *_, n=opt.name: self._option_changed(n))
        self._mark()
        self._last = self.reference()

    def _option_changed(self, name: str) -> None:
        if name in ("header", "delimiter") and "label" in self.fields:
            opt, w = self.fields["label"]
            _fill_columns(w, self._columns(self.reference()["options"]), _value(opt, w))
        self._mark()
        ref = self.reference()
        if ref != self._last:
            self._last = ref
            self.changed.emit()

    def _columns(self, values: dict) -> list:
        """The columns of the chosen CSV file (names or None), [] when it cannot be read."""
        try:
            layout = datasets.check_file_options(self._current, {k: values[k] for k in
                                                        ("header", "delimiter") if k in values})
            return datasets.csv_columns(self._current, **layout)
        except engine.LayerwiseError:
            return []

    def _mark(self) -> None:
        """Show a value its option refuses: the row's name in red, the reason in its tip."""
        where = Path(self._current).name or self._current
        for opt, w in self.fields.values():
            try:
                opt.check(where, _value(opt, w))
                error = ""
            except engine.LayerwiseError as exc:
                error = str(exc)
            label = self.options.labelForField(w)
            if label is not None:
                label.setStyleSheet(f"color: {ERROR_COLOUR};" if error else "")
            w.setToolTip(opt.help + (f"\n\n{error}" if error else ""))

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
        empty(self.samples)


# ------------------------------------------------------------------ one control per option

class _PathEdit(QWidget):
    """A file path typed or chosen with "…"; empty means the option's default."""
    edited = Signal()

    def __init__(self, opt, value):
        super().__init__()
        self.edit = QLineEdit("" if value is None else str(value))
        self.edit.setPlaceholderText("found automatically")
        self.edit.editingFinished.connect(self.edited)
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip(f"Choose the {opt.name} file")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)

    def _browse(self) -> None:
        path = files.ask_data_path(self)
        if path:
            self.edit.setText(path)
            self.edited.emit()

    def text(self) -> str:
        return self.edit.text()


def _option_widget(opt, value, columns) -> QWidget:
    if opt.kind == "choice":
        return _choice_widget(opt, value)
    if opt.kind == "column":
        w = QComboBox()
        w.setEditable(True)
        w.setInsertPolicy(QComboBox.NoInsert)
        _fill_columns(w, columns or [], value)
        return w
    if opt.kind == "path":
        return _PathEdit(opt, value)
    if opt.kind == "size":
        w = QLineEdit("x".join(map(str, value)) if isinstance(value, (list, tuple))
                      else "" if value is None else str(value))
        w.setPlaceholderText("as they are (or e.g. 28x28)")
        return w
    return _number_widget(opt, value)


def _choice_widget(opt, value) -> QComboBox:
    w = QComboBox()
    for choice in opt.choices:
        w.addItem(opt.label(choice), choice)
    try:
        value = opt.check("", value)
    except engine.LayerwiseError:
        w.addItem(str(value), value)            # kept as it was, and shown as refused
    w.setCurrentIndex(next(i for i in range(w.count()) if _same(w.itemData(i), value)))
    return w


def _number_widget(opt, value) -> QWidget:
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
    w.setKeyboardTracking(False)
    try:
        w.setValue(opt.check("", value))
    except engine.LayerwiseError:
        w.setValue(opt.default)
    return w


def _fill_columns(w: QComboBox, columns: list, value) -> None:
    """The label column's list: the last column, then each by number (and name)."""
    w.blockSignals(True)
    w.clear()
    w.addItem("last column" + _named(columns[-1] if columns else None), -1)
    for i, name in enumerate(columns):
        w.addItem(f"column {i}{_named(name)}", i)
    index = next((i for i in range(w.count()) if _same(w.itemData(i), value)), -1)
    if index >= 0:
        w.setCurrentIndex(index)
    else:
        w.setEditText(str(value))
    w.blockSignals(False)


def _named(name) -> str:
    return f" · {name}" if name else ""


def _signals(w: QWidget) -> list:
    if isinstance(w, QComboBox) and w.isEditable():
        return [w.activated, w.lineEdit().editingFinished]
    if isinstance(w, QComboBox):
        return [w.currentIndexChanged]
    if isinstance(w, QLineEdit):
        return [w.editingFinished]
    if isinstance(w, _PathEdit):
        return [w.edited]
    return [w.valueChanged]


def _value(opt, w: QWidget):
    """The control's value as the engine takes it; a refused value as it was typed."""
    if isinstance(w, QComboBox) and w.isEditable():
        text = w.currentText().strip()
        index = w.findText(text)
        raw = w.itemData(index) if index >= 0 else text
    elif isinstance(w, QComboBox):
        return w.currentData()
    elif isinstance(w, (QLineEdit, _PathEdit)):
        raw = w.text().strip() or None
    else:
        return w.value()
    try:
        return opt.check("", raw)
    except engine.LayerwiseError:
        return raw


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b


def _thumbnail(img: np.ndarray, label: str) -> QWidget:
    data = np.ascontiguousarray((img * 255).astype(np.uint8))
    h, w = data.shape[:2]
    colour = data.ndim == 3                     # (h, w, 3): red, green, blue
    qimg = QImage(data.data, w, h, data.strides[0],
                  QImage.Format_RGB888 if colour else QImage.Format_Grayscale8).copy()
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
    plot.addItem(pg.ScatterPlotItem(points[:, 0], points[:, 1], size=4, pen=None,
                                    brush=_brushes(np.asarray(labels))))
    return plot


def _brushes(labels: np.ndarray) -> list:
    """A colour per class, or for regression targets a blue-to-red ramp of the first one."""
    if labels.ndim == 1 and np.issubdtype(labels.dtype, np.integer):
        return [pg.mkBrush(QColor(PALETTE[int(c) % len(PALETTE)])) for c in labels]
    value = labels.reshape(len(labels), -1)[:, 0].astype(np.float64)
    span = float(value.max() - value.min()) or 1.0
    return [pg.mkBrush(int(40 + 200 * f), 80, int(240 - 200 * f))
            for f in (value - value.min()) / span]
