"""Small parts around the dashboard's plots: the message an empty plot shows, the key beside a
plot too short for its legend, the loss curve's smoothing control, the "no data" swatch of the
gradient map, and the text colour that stays legible on a cell's colour."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFontMetrics, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QSlider, QWidget)

from .. import paths

NO_DATA = "No data yet — press Train"
NO_DATA_LINE, NO_DATA_BACK = "#9ca3af", "#f3f4f6"    # the hatch of "no value", on light grey
SMOOTHING_KEY = "plots/loss_smoothing"
SMOOTHING_MAX = 0.999
KEY_SAMPLE = QSize(18, 10)                             # a key entry's line sample
KEY_PX = (64, 170)           # the narrowest a key beside a plot may be, and the widest


class EmptyMessage(QLabel):
    """The centred grey line over a plot that has nothing to show yet."""

    def __init__(self, text: str = NO_DATA, parent=None):
        super().__init__(text, parent)
        self.setObjectName("empty_message")
        self.setAlignment(Qt.AlignCenter)
        self.setWordWrap(True)
        self.setStyleSheet("color: #6b7280; font-size: 13px; background: transparent;")
        self.setAttribute(Qt.WA_TransparentForMouseEvents)


def show_data(view, on: bool) -> bool:
    """A plot's axes once it has data, its EmptyMessage (`view.message`) before; False when
    `view` already showed that."""
    if on == view.has_data:
        return False
    view.has_data = on
    view.message.setVisible(not on)
    for side in ("left", "bottom"):
        view.plot.showAxis(side, on)
    return True


class SideKey(QListWidget):
    """A plot's legend beside it, one row per entry (its line sample and name), for a plot too
    short to hold its legend without covering the curves. Pointing at an entry emits
    `pointed` with its name (None when the pointer leaves), so that the plot can stress it."""
    pointed = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("side_key")
        self.setFrameShape(QFrame.NoFrame)
        self.setSelectionMode(QAbstractItemView.NoSelection)
        self.setFocusPolicy(Qt.NoFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setIconSize(KEY_SAMPLE)
        self.setMouseTracking(True)
        self.setStyleSheet("QListWidget { background: white; font-size: 11px; }"
                           "QListWidget::item { padding: 0px; }")
        self.itemEntered.connect(self._entered)        # a method: no cycle through a lambda
        self.entries: list[tuple] = []
        self.natural = KEY_PX[0]
        self.hide()

    def set_entries(self, entries: list[tuple[str, QPen]]) -> None:
        """(name, pen) of each entry, in order; `natural` is the width of the longest."""
        shown = [(name, pen.color().name(), pen.style()) for name, pen in entries]
        if shown == self.entries:
            return
        self.entries = shown
        self.clear()
        for name, pen in entries:
            item = QListWidgetItem(QIcon(_line_sample(pen)), name)
            item.setToolTip(name)
            self.addItem(item)
        metrics = QFontMetrics(self.font())
        widest = max((metrics.horizontalAdvance(name) for name, _ in entries), default=0)
        bar = self.verticalScrollBar().sizeHint().width()
        self.natural = min(KEY_PX[1], widest + KEY_SAMPLE.width() + 14 + bar)

    def fit(self, room: int) -> bool:
        """Take at most `room` pixels of width (longer names elided); False if that is too
        narrow for a key worth showing."""
        width = min(self.natural, room)
        if width < KEY_PX[0]:
            return False
        self.setFixedWidth(width)
        return True

    def _entered(self, item: QListWidgetItem) -> None:
        self.pointed.emit(item.text())

    def leaveEvent(self, event) -> None:
        super().leaveEvent(event)
        self.pointed.emit(None)


def _line_sample(pen: QPen) -> QPixmap:
    pixmap = QPixmap(KEY_SAMPLE)
    pixmap.fill(Qt.transparent)
    painter = QPainter(pixmap)
    sample = QPen(pen)
    sample.setWidthF(2.0)
    sample.setCosmetic(True)
    painter.setPen(sample)
    y = KEY_SAMPLE.height() // 2
    painter.drawLine(1, y, KEY_SAMPLE.width() - 1, y)
    painter.end()
    return pixmap


class SmoothingControl(QWidget):
    """The weight w of the loss curve's debiased exponential smoothing, 0 (none) to 0.999,
    remembered in the settings. `changed` carries the new weight."""
    changed = Signal(float)

    def __init__(self, default: float, parent=None):
        super().__init__(parent)
        self.setObjectName("loss_smoothing")
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, round(SMOOTHING_MAX * 1000))
        self.slider.setMinimumWidth(50)
        self.slider.setMaximumWidth(120)
        self.value = QLabel()
        self.value.setMinimumWidth(QFontMetrics(self.value.font()).horizontalAdvance("0.000"))
        tip = ("Smoothing of the loss curve, as TensorBoard's: a debiased exponential moving "
               "average with weight w (0: none). A jump in the loss shows half-way after "
               "about ln 0.5 / ln w steps (7 at 0.9, 69 at 0.99).")
        for w in (self.slider, self.value):
            w.setToolTip(tip)
        box = QHBoxLayout(self)
        box.setContentsMargins(0, 0, 6, 0)
        box.setSpacing(4)
        label = QLabel("smoothing")
        label.setToolTip(tip)
        for w in (label, self.slider, self.value):
            box.addWidget(w)
        stored = paths.settings().value(SMOOTHING_KEY, default)
        self.slider.setValue(round(_weight(stored, default) * 1000))
        self._show()
        self.slider.valueChanged.connect(self._moved)

    def weight(self) -> float:
        return self.slider.value() / 1000

    def set_weight(self, weight: float) -> None:
        self.slider.setValue(round(min(max(weight, 0.0), SMOOTHING_MAX) * 1000))

    def _moved(self, _value: int) -> None:
        self._show()
        paths.settings().setValue(SMOOTHING_KEY, self.weight())
        self.changed.emit(self.weight())

    def _show(self) -> None:
        self.value.setText(f"{self.weight():.3f}".rstrip("0").rstrip(".") or "0")


def _weight(stored, default: float) -> float:
    try:
        value = float(stored)
    except (TypeError, ValueError):
        return default
    return min(max(value, 0.0), SMOOTHING_MAX)


def hatch_brush() -> QBrush:
    """What 'no value here' looks like: grey diagonal lines, no colour of any colour map."""
    return QBrush(QColor(NO_DATA_LINE), Qt.BDiagPattern)


class NoDataKey(QWidget):
    """The swatch and words that explain the hatched cells of a map."""

    def __init__(self, text: str = "no data", tip: str = "", parent=None):
        super().__init__(parent)
        self.setObjectName("no_data_key")
        pixmap = QPixmap(16, 12)
        pixmap.fill(QColor(NO_DATA_BACK))
        painter = QPainter(pixmap)
        painter.fillRect(pixmap.rect(), hatch_brush())
        painter.setPen(QColor(NO_DATA_LINE))
        painter.drawRect(pixmap.rect().adjusted(0, 0, -1, -1))
        painter.end()
        swatch, words = QLabel(), QLabel(text)
        swatch.setPixmap(pixmap)
        words.setStyleSheet("color: #4b5563; font-size: 11px;")
        box = QHBoxLayout(self)
        box.setContentsMargins(6, 0, 6, 0)
        box.setSpacing(4)
        box.addWidget(swatch)
        box.addWidget(words)
        self.setToolTip(tip)


# ---------------------------------------------------------------------- legible text
def luminance(rgb) -> float:
    """WCAG 2 relative luminance of an sRGB colour given as 0..1 floats."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(float(c)) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colour(background) -> str:
    """Black or white, whichever contrasts more with `background` (0..1 RGB): at least 4.58
    to 1 on any colour, above WCAG's 4.5 for normal text."""
    return "#000000" if contrast(background, (0, 0, 0)) >= contrast(background, (1, 1, 1)) \
        else "#ffffff"
