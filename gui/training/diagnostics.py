"""Diagnostics on the canvas: each node coloured or badged by a chosen statistic, live; the
pre-training marks (the block training, the frozen ones); and the plain-language warnings.

The reading of the numbers (levels, warnings) is engine.run.diagnostics's; this module only paints.
"""
from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QComboBox, QFormLayout, QLabel, QListWidget, QListWidgetItem,
                               QPushButton, QVBoxLayout, QWidget)

from engine import diagnostics as reading

WARNINGS_EVERY_S = 1.0
LOW, HIGH = QColor("#fee2e2"), QColor("#dcfce7")          # tints for level 0 and level 1


def blend(a: QColor, b: QColor, t: float) -> QColor:
    t = min(1.0, max(0.0, t))
    return QColor(int(a.red() + (b.red() - a.red()) * t),
                  int(a.green() + (b.green() - a.green()) * t),
                  int(a.blue() + (b.blue() - a.blue()) * t))


class DiagnosticsPanel(QWidget):
    """Colour-by choice, the Check trainability button and the warnings list."""
    check_clicked = Signal()
    colour_by_changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.colour_by = QComboBox()
        self.colour_by.setObjectName("colour_by")
        self.colour_by.addItem("nothing", "")
        for key, (title, _) in reading.COLOUR_BY.items():
            self.colour_by.addItem(title, key)
        self.colour_by.setCurrentIndex(1)
        self.colour_by.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.colour_by.setMinimumContentsLength(14)     # the panel may be narrower than a name
        self.colour_by.activated.connect(     # the person's choice: kept
            lambda *_: self.colour_by.setProperty("auto", False))
        self.colour_by.currentIndexChanged.connect(
            lambda *_: self.colour_by_changed.emit(self.colour_by.currentData()))
        self.check = QPushButton("Check trainability")
        self.check.setObjectName("check_button")
        self.check.setToolTip("One forward and backward pass on a batch of the data, weights "
                              "unchanged: how much gradient reaches each layer, how many "
                              "units are off")
        self.check.clicked.connect(self.check_clicked)
        self.source = QLabel("No statistics yet: train, or check trainability.")
        self.source.setWordWrap(True)
        self.list = QListWidget()
        self.list.setObjectName("warnings")
        self.list.setWordWrap(True)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)   # the combo takes the room
        form.addRow("Colour layers by", self.colour_by)
        box = QVBoxLayout(self)
        box.addLayout(form)
        box.addWidget(self.check)
        box.addWidget(self.source)
        box.addWidget(self.list, 1)

    def show_warnings(self, items: list[str]) -> None:
        texts = [self.list.item(i).text() for i in range(self.list.count())]
        shown = items or ["No problem is clear from these statistics."]
        if texts == shown:
            return
        self.list.clear()
        for text in shown:
            item = QListWidgetItem(("⚠ " if items else "✓ ") + text)
            item.setForeground(QColor("#b45309") if items else QColor("#15803d"))
            self.list.addItem(item)


class Diagnostics:
    """Paints statistics on the canvas nodes and keeps the warnings up to date."""

    def __init__(self, scene, doc, panel: DiagnosticsPanel):
        self.scene, self.doc, self.panel = scene, doc, panel
        self.stats: dict[str, dict] = {}
        self.colours: dict[str, str] = {}
        self.by = panel.colour_by.currentData()
        self._warned = 0.0
        panel.colour_by_changed.connect(self.set_colour_by)

    def set_colour_by(self, by: str) -> None:
        self.by = by
        self.paint()

    def show(self, stats: dict, source: str, force_warnings: bool = False) -> None:
        self.stats = stats
        self._choose_recorded()
        self.panel.source.setText(source)
        self.paint()
        now = time.monotonic()
        if force_warnings or now - self._warned >= WARNINGS_EVERY_S:
            self._warned = now
            self.panel.show_warnings(self.warnings())

    def _choose_recorded(self) -> None:
        """Statistics saved before a gradient statistic was probed (the per-weight RMS) are
        coloured by the gradient norm they have."""
        box = self.panel.colour_by

        def has(by: str) -> bool:
            return any(reading.COLOUR_BY[by][1] in s for s in self.stats.values())
        if self.by in reading.RELATIVE and self.stats and not has(self.by):
            box.setCurrentIndex(box.findData("gradient"))
            box.setProperty("auto", True)
        elif box.property("auto") and self.stats and has("gradient_rms"):
            box.setCurrentIndex(box.findData("gradient_rms"))      # the first choice again
            box.setProperty("auto", False)

    def warnings(self) -> list[str]:
        spec = self.doc.spec
        present = {n: s for n, s in self.stats.items() if n in spec.nodes}
        labels = {n: spec.label(n) for n in spec.nodes}
        kinds = {n: spec.nodes[n].kind for n in spec.nodes}
        order = [n for n in self.doc.analysis.order if n in present] or list(present)
        return reading.warnings(present, labels, order, kinds)

    def clear(self) -> None:
        self.stats = {}
        self.panel.source.setText("No statistics yet: train, or check trainability.")
        self.panel.show_warnings([])
        self.panel.list.clear()
        self.paint()

    def paint(self) -> None:
        levels = reading.node_levels(self.stats, self.by) if self.by and self.stats else {}
        for node_id, item in self.scene.nodes.items():
            level = levels.get(node_id)
            if level is None:
                item.set_tint(None)
                item.set_badge(None)
                continue
            good = level.level if self.by in reading.RELATIVE else 1.0 - level.level
            item.set_tint(blend(LOW, HIGH, good))
            item.set_badge(level.text, QColor(self.colours.get(node_id, "#6b7280")))

    def set_stages(self, active: list[str], frozen: list[str]) -> None:
        for node_id, item in self.scene.nodes.items():
            item.set_mark("active" if node_id in active else
                          "frozen" if node_id in frozen else "")
