"""One editor widget per schema parameter type, made from an `engine.Param` — a layer's
parameter in the Inspector, a run setting in the Training panel.

Editors do not validate: they hand the value a person entered to the inspector (signal
`edited`), which lets the schema judge it and shows the schema's message when it is refused.
Spin boxes step only within the schema's range, but accept any typed number, so that an
out-of-range entry is refused with a message rather than silently clamped.

A live editor (the Inspector's) also hands over what is being typed, a moment after the last
key (signal `typed`), and says when the field edit ends (Enter, or leaving the field:
`finished`), so that a field's typing can be one undo step.
"""
from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLineEdit,
                               QSpinBox, QWidget)

import engine

INT_LIMIT = 2_000_000_000
TYPING_MS = 300                  # a live editor hands over what is typed after this pause
NARROW_DIGITS = "0000000"        # spin boxes are at least wide enough for this many digits


def _narrow(spin, hint: QSize) -> QSize:
    """A spin box's size hint for the numbers people type, not for its ±2e9 range (which
    would make every form too wide for a laptop's screen); a form still widens it to fit."""
    fm = spin.fontMetrics()
    width = fm.horizontalAdvance(NARROW_DIGITS) + 2 * fm.horizontalAdvance("0") + 24
    return QSize(min(hint.width(), width), hint.height())


class IntSpin(QSpinBox):
    def __init__(self, param: engine.Param):
        super().__init__()
        self.param = param
        self.setRange(-INT_LIMIT, INT_LIMIT)
        self.setKeyboardTracking(False)
        self.setAccelerated(True)

    def minimumSizeHint(self) -> QSize:
        return _narrow(self, super().minimumSizeHint())

    def sizeHint(self) -> QSize:
        return _narrow(self, super().sizeHint())

    def _bounds(self) -> tuple[float, float]:
        lo = self.param.min if self.param.min is not None else -INT_LIMIT
        hi = self.param.max if self.param.max is not None else INT_LIMIT
        return lo, hi

    def stepBy(self, steps: int) -> None:
        lo, hi = self._bounds()
        self.setValue(int(max(lo, min(hi, self.value() + steps))))

    def stepEnabled(self):
        lo, hi = self._bounds()
        flags = QSpinBox.StepNone
        if self.value() > lo:
            flags |= QSpinBox.StepDownEnabled
        if self.value() < hi:
            flags |= QSpinBox.StepUpEnabled
        return flags


class FloatSpin(QDoubleSpinBox):
    def __init__(self, param: engine.Param):
        super().__init__()
        self.param = param
        self.setDecimals(12)
        self.setRange(-1e12, 1e12)
        self.setKeyboardTracking(False)
        span = (param.max - param.min) if param.min is not None and param.max is not None else 10
        self.setSingleStep(0.05 if span <= 1 else 0.1 if span <= 10 else 1.0)

    def minimumSizeHint(self) -> QSize:
        return _narrow(self, super().minimumSizeHint())

    def sizeHint(self) -> QSize:
        return _narrow(self, super().sizeHint())

    def textFromValue(self, value: float) -> str:
        return f"{value:g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        try:
            float(text)
            return QValidator.Acceptable, text, pos
        except ValueError:
            return QValidator.Intermediate, text, pos

    def stepBy(self, steps: int) -> None:
        lo = self.param.min if self.param.min is not None else -1e12
        hi = self.param.max if self.param.max is not None else 1e12
        self.setValue(max(lo, min(hi, round(self.value() + steps * self.singleStep(), 10))))


def parse_numbers(text: str, kind: str) -> Any:
    """'5' -> 5, '5, 3' or '5x3' -> (5, 3) for size2; '1, 28, 28' -> [1, 28, 28] for shapes.
    Text that is not whole numbers is returned as typed, for the schema to refuse."""
    parts = [p for p in re.split(r"[\s,x×()\[\]]+", text.strip()) if p]
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        return text.strip()
    if kind == "size2":
        return numbers[0] if len(numbers) == 1 else tuple(numbers) if numbers else text
    return numbers if numbers else text


def format_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


class ParamEditor(QObject):
    """Wraps the widget for one parameter; `edited(value)` carries what the person entered;
    when `live`, `typed(value)` what they are typing, and `finished()` the end of a field
    edit."""
    edited = Signal(object)
    typed = Signal(object)
    finished = Signal()

    def __init__(self, param: engine.Param, parent: QObject | None = None, live: bool = False):
        super().__init__(parent)
        self.param = param
        self.null_box: QCheckBox | None = None
        self.field = self._make_field(param)
        self._pause = QTimer(self)
        self._pause.setSingleShot(True)
        self._pause.setInterval(TYPING_MS)
        self._pause.timeout.connect(self._typed_now)
        self._connect_finish(live)
        tip = f"{param.help}. Accepts {param.expected()}."
        self.field.setToolTip(tip)
        if param.nullable:
            self.widget = QWidget()
            row = QHBoxLayout(self.widget)
            row.setContentsMargins(0, 0, 0, 0)
            self.null_box = QCheckBox(param.null_help or "automatic")
            self.null_box.setToolTip(f"Leave unset: {param.null_help}")
            self.null_box.toggled.connect(self._null_toggled)
            row.addWidget(self.field, 1)
            row.addWidget(self.null_box)
        else:
            self.widget = self.field
        self.widget.setObjectName(f"param_{param.name}")

    def _make_field(self, p: engine.Param) -> QWidget:
        if p.type == "int":
            w = IntSpin(p)
            w.valueChanged.connect(lambda v: self.edited.emit(int(v)))
        elif p.type == "float":
            w = FloatSpin(p)
            w.valueChanged.connect(lambda v: self.edited.emit(float(v)))
        elif p.type == "bool":
            w = QCheckBox()
            w.toggled.connect(lambda v: self.edited.emit(bool(v)))
        elif p.type in ("choice", "device"):
            w = QComboBox()
            w.addItems(list(p.choices) if p.type == "choice" else engine.devices())
            w.currentTextChanged.connect(lambda v: self.edited.emit(v))
        else:
            w = QLineEdit()
            w.setPlaceholderText("auto" if p.nullable else
                                 "e.g. 5 or 5, 3" if p.type == "size2" else
                                 "" if p.type == "text" else "e.g. 1, 28, 28")
        return w

    def _connect_finish(self, live: bool) -> None:
        """Say when a field edit ends; a live editor also says what is being typed."""
        f = self.field
        line = f.lineEdit() if isinstance(f, (IntSpin, FloatSpin)) else f
        if isinstance(line, QLineEdit):
            if live:
                line.textEdited.connect(self._pause.start)
            f.editingFinished.connect(self._finish)
        elif isinstance(f, QCheckBox):
            f.toggled.connect(self.finished)
        else:
            f.activated.connect(self.finished)            # a combo box's choice
        if self.null_box is not None:
            self.null_box.toggled.connect(self.finished)

    def _typed_now(self) -> None:
        """What the field shows while being typed in, if it reads as a value."""
        f = self.field
        if isinstance(f, (IntSpin, FloatSpin)):
            text = f.cleanText()
            if f.validate(text, 0)[0] != QValidator.Acceptable:
                return                      # "" or "-": nothing to judge yet
            value = f.valueFromText(text)
            self.typed.emit(int(value) if isinstance(f, IntSpin) else float(value))
        elif f.text().strip() or self.null_box is None:
            self.typed.emit(self._field_value())

    def _finish(self) -> None:
        self._pause.stop()
        if isinstance(self.field, QLineEdit):
            self._text_finished()
        self.finished.emit()

    def stop(self) -> None:
        """The editor is going away: nothing typed is handed over later."""
        self._pause.stop()

    def _text_finished(self) -> None:
        text = self.field.text()
        if text.strip() == "" and self.null_box is not None:
            self.null_box.setChecked(True)
            return
        value = text if self.param.type == "text" else parse_numbers(text, self.param.type)
        if value != self._shown:
            self.edited.emit(value)

    def _null_toggled(self, checked: bool) -> None:
        self.field.setEnabled(not checked)
        if checked:
            self.edited.emit(None)
        else:
            self.field.setFocus(Qt.OtherFocusReason)
            if isinstance(self.field, (IntSpin, FloatSpin)):
                self.field.blockSignals(True)
                self.field.setValue(self.field.value())      # shows the number again
                self.field.blockSignals(False)
            if isinstance(self.field, (IntSpin, FloatSpin, QComboBox, QCheckBox)):
                self.edited.emit(self._field_value())

    def _show_unset(self, f) -> None:
        """An unset number: an empty (greyed) field that holds the lowest value allowed, for
        when the person unticks the box."""
        if isinstance(f, (IntSpin, FloatSpin)):
            if self.param.min is not None and not self.param.above:
                f.setValue(self.param.min)
            f.lineEdit().clear()

    def value(self) -> Any:
        """What the editor shows now: None when unset, else the field's value (text fields
        read as `edited` would carry them)."""
        if self.null_box is not None and self.null_box.isChecked():
            return None
        return self._field_value()

    def _field_value(self) -> Any:
        f = self.field
        if isinstance(f, IntSpin):
            return int(f.value())
        if isinstance(f, FloatSpin):
            return float(f.value())
        if isinstance(f, QCheckBox):
            return f.isChecked()
        if isinstance(f, QComboBox):
            return f.currentText()
        text = f.text()
        return text if self.param.type == "text" else parse_numbers(text, self.param.type)

    def set_problem(self, message: str) -> None:
        """Mark the field as refused (red, with the message as its tooltip), or clear it."""
        self.field.setProperty("problem", bool(message))
        self.field.setStyleSheet("border: 1px solid #b91c1c;" if message else "")
        self.field.setToolTip(message or f"{self.param.help}. Accepts "
                                         f"{self.param.expected()}.")

    def set_value(self, value: Any) -> None:
        """Show `value` without emitting `edited`."""
        self._shown = value
        blockers = [self.field] + ([self.null_box] if self.null_box else [])
        for w in blockers:
            w.blockSignals(True)
        try:
            if self.null_box is not None:
                self.null_box.setChecked(value is None)
                self.field.setEnabled(value is not None)
            f = self.field
            if value is None and self.null_box is not None and not isinstance(f, QLineEdit):
                self._show_unset(f)
            elif isinstance(f, (IntSpin, FloatSpin)):
                f.setValue(value)
            elif isinstance(f, QCheckBox):
                f.setChecked(bool(value))
            elif isinstance(f, QComboBox):
                if f.findText(str(value)) < 0:
                    f.addItem(str(value))     # a device this machine lacks, from a file
                f.setCurrentText(str(value))
            else:
                f.setText(format_value(value))
        finally:
            for w in blockers:
                w.blockSignals(False)

    _shown: Any = None
