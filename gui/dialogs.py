"""The few modal questions the window asks, in one place (tests replace these functions)."""
from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

FILTERS = "Layerwise networks (*.lwnet *.json);;Layerwise file (*.lwnet);;Network JSON (*.json)"


def ask_save_changes(parent: QWidget, name: str, action: str) -> str:
    """'save', 'discard' or 'cancel'."""
    box = QMessageBox(QMessageBox.Warning, "Unsaved changes",
                      f"Save the changes to “{name}” before {action}?", parent=parent)
    box.setInformativeText("Your changes will be lost if you don't save them.")
    box.setStandardButtons(QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel)
    box.setDefaultButton(QMessageBox.Save)
    box.setObjectName("unsaved_prompt")
    answer = box.exec()
    return {QMessageBox.Save: "save", QMessageBox.Discard: "discard"}.get(answer, "cancel")


def show_problems(parent: QWidget, path: str, problems: list[str]) -> None:
    """A file could not be opened: say why, every problem."""
    box = QMessageBox(QMessageBox.Critical, "Cannot open file",
                      f"“{Path(path).name}” cannot be opened. The current network is unchanged.",
                      parent=parent)
    items = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    box.setInformativeText(f"<p>{count} in {html.escape(str(path))}:</p><ul>{items}</ul>")
    box.setObjectName("open_problems")
    box.exec()


def show_error(parent: QWidget, title: str, message: str) -> None:
    box = QMessageBox(QMessageBox.Critical, title, message, parent=parent)
    box.setObjectName("error_box")
    box.exec()


def confirm(parent: QWidget, title: str, text: str, yes: str,
            name: str = "confirm_box") -> bool:
    box = QMessageBox(QMessageBox.Question, title, text, parent=parent)
    ok = box.addButton(yes, QMessageBox.AcceptRole)
    box.addButton(QMessageBox.Cancel)
    box.setDefaultButton(ok)
    box.setObjectName(name)
    box.exec()
    return box.clickedButton() is ok


def choose(parent: QWidget, title: str, text: str, detail: str,
           choices: list[tuple[str, str]], name: str = "choice_box") -> str:
    """One of `choices` ((key, button text), the first the default); "" if closed."""
    box = QMessageBox(QMessageBox.Question, title, text, parent=parent)
    box.setInformativeText(detail)
    buttons = {box.addButton(label, QMessageBox.AcceptRole): key for key, label in choices}
    box.setDefaultButton(next(iter(buttons)))
    box.setObjectName(name)
    box.exec()
    return buttons.get(box.clickedButton(), "")


def ask_recover(parent: QWidget, name: str, when: str) -> bool:
    box = QMessageBox(QMessageBox.Question, "Recover unsaved changes",
                      "Layerwise did not close properly last time.", parent=parent)
    box.setInformativeText(f"Unsaved changes to “{name}” were saved automatically at {when}. "
                           f"Recover them?")
    recover = box.addButton("Recover", QMessageBox.AcceptRole)
    box.addButton("Discard", QMessageBox.DestructiveRole)
    box.setDefaultButton(recover)
    box.setObjectName("recover_prompt")
    box.exec()
    return box.clickedButton() is recover


def open_file_name(parent: QWidget, folder: str) -> str:
    path, _ = QFileDialog.getOpenFileName(parent, "Open network", folder, FILTERS)
    return path


def import_file_name(parent: QWidget, folder: str) -> str:
    path, _ = QFileDialog.getOpenFileName(
        parent, "Import network", folder,
        "Networks to import (*.onnx *.py);;ONNX models (*.onnx);;PyTorch modules (*.py)")
    return path


def ask_module_class(parent: QWidget, path: str) -> tuple[str, tuple[int, ...] | None] | None:
    """(class name, input shape or None: the module's INPUT_SHAPE) of a PyTorch module in the
    Python file `path`, after saying that importing runs the file's code; None if cancelled."""
    from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit
    box = QDialog(parent)
    box.setWindowTitle("Import a PyTorch module")
    box.setObjectName("module_class_dialog")
    form = QFormLayout(box)
    warning = QLabel(f"Importing runs the code of “{html.escape(Path(path).name)}”: only "
                     f"import files you trust.")
    warning.setWordWrap(True)
    form.addRow(warning)
    name, shape = QLineEdit(), QLineEdit()
    name.setPlaceholderText("e.g. Net")
    shape.setPlaceholderText("e.g. 1, 28, 28 (empty: the file's INPUT_SHAPE)")
    form.addRow("Class", name)
    form.addRow("Input shape", shape)
    buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
    buttons.accepted.connect(box.accept)
    buttons.rejected.connect(box.reject)
    form.addRow(buttons)
    while box.exec() == QDialog.Accepted:
        parsed = _shape(shape.text())
        if name.text().strip().isidentifier() and parsed is not False:
            return name.text().strip(), parsed
        show_error(parent, "Import a PyTorch module", "Give the class's name (a Python "
                   "identifier) and the input shape as whole numbers separated by commas.")
    return None


def _shape(text: str):
    """'1, 28, 28' -> (1, 28, 28); '' -> None; anything else -> False."""
    parts = [p.strip() for p in text.replace("x", ",").split(",") if p.strip()]
    if not parts:
        return None
    if not all(p.isdigit() and int(p) > 0 for p in parts):
        return False
    return tuple(int(p) for p in parts)


def file_stem(title: str) -> str:
    """A file name (without suffix) to suggest for a network called `title`: its letters,
    digits, '-' and '_' only (a name from a stranger's file holds no '/' or '..' to steer the
    suggested path), spaces as '_'."""
    stem = "".join(c if c.isalnum() or c in "-_ " else "_" for c in title).strip()
    return (stem or "network").replace(" ", "_")


def save_file_name(parent: QWidget, suggested: str) -> str:
    path, chosen = QFileDialog.getSaveFileName(parent, "Save network as", suggested, FILTERS)
    if path and not Path(path).suffix:
        path += ".json" if "Network JSON" in chosen else ".lwnet"
    return path
