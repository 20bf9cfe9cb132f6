"""Whether the chosen data set fits the open network, said where the network's problems are.

`DataFit` holds the chosen data set's description (from the Training panel, once it is read)
and engine.data_fit's verdict on it, recomputed after every edit and every change of data or
loss. The Problems list and the status bar count its problems with the network's own; the
Training panel shows them under the data set with a button for each one-step repair
(`FitHint`). A new Input takes the chosen data's sample shape (gui.commands.first_params
reads `doc.data_shape`, kept here).
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

import engine

from .commands import fix_command
from .document import Document
from .layouts import empty

ERROR_COLOUR = "#b91c1c"


class DataFit(QObject):
    changed = Signal()                  # the fit's problems changed

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.data: dict | None = None   # the chosen data set's describe(), once read
        self.fit = engine.Fit()
        doc.analysis_changed.connect(self.refresh)
        doc.results_changed.connect(self.refresh)       # the loss is a training setting

    @property
    def problems(self) -> list[tuple[str, str]]:
        return self.fit.problems

    def fix_for(self, node_id: str, message: str) -> engine.Fix | None:
        return self.fit.fixes.get((node_id, message))

    def set_data(self, info: dict | None) -> None:
        self.data = info
        self.doc.data_shape = tuple(info["input_shape"]) if info else None
        self.refresh()

    def refresh(self) -> None:
        doc = self.doc
        train = doc.recipe.train if doc.recipe is not None else engine.TrainConfig()
        fit = (engine.data_fit(doc.spec, doc.analysis, self.data, train.loss, train.target)
               if self.data else engine.Fit())
        changed = fit.problems != self.fit.problems
        self.fit = fit
        if changed:
            self.changed.emit()

    def apply(self, fix: engine.Fix) -> None:
        """Make the repair, as one undoable step."""
        self.doc.undo_stack.push(fix_command(self.doc, fix))

    def attach(self, session) -> "FitHint":
        """Follow the Training panel's data set, and show the fit under it."""
        session.data.chosen.connect(self.set_data)
        self.set_data(session.data.info)
        hint, box = FitHint(self), session.panel.dataset
        box.layout().insertWidget(box.layout().indexOf(box.summary) + 1, hint)   # under it
        return hint


class FitHint(QWidget):
    """The fit's problems in the Training panel, each with its repair's button; hidden while
    the data fits."""

    def __init__(self, fit: DataFit, parent=None):
        super().__init__(parent)
        self.setObjectName("fit_hint")
        self.fit = fit
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(0, 4, 0, 0)
        self.labels: list[QLabel] = []
        self.buttons: list[QPushButton] = []
        fit.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        empty(self.box)
        self.labels, self.buttons = [], []
        for node_id, message in self.fit.problems:
            self.box.addWidget(self._row(message, self.fit.fix_for(node_id, message)))
        self.setVisible(bool(self.fit.problems))

    def _row(self, message: str, fix: engine.Fix | None) -> QWidget:
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        label = QLabel(message)
        label.setWordWrap(True)
        label.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.labels.append(label)
        line.addWidget(label, 1)
        if fix is not None:
            button = QPushButton(fix.title)
            button.setObjectName("fit_fix_button")
            button.setToolTip(f"{fix.title} (undo with Ctrl+Z)")
            button.clicked.connect(lambda checked=False, f=fix: self.fit.apply(f))
            self.buttons.append(button)
            line.addWidget(button)
        return row
