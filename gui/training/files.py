"""The few questions the training UI asks (tests replace these functions)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

DATA_FILTERS = "Data files (*.csv *.npz *.gz *-ubyte *.idx);;All files (*)"


def ask_save_path(parent: QWidget, title: str, suggested: str, filters: str) -> str:
    path, _ = QFileDialog.getSaveFileName(parent, title, str(Path.home() / suggested), filters)
    return path


def ask_data_path(parent: QWidget) -> str:
    """A data file (CSV, NPZ, IDX) or, when cancelled there, nothing."""
    path, _ = QFileDialog.getOpenFileName(parent, "Open a data set", str(Path.home()),
                                          DATA_FILTERS)
    return path


def ask_data_folder(parent: QWidget) -> str:
    return QFileDialog.getExistingDirectory(parent, "Open a folder of images (one sub-folder "
                                                    "per class)", str(Path.home()))


def confirm(parent: QWidget, title: str, text: str, yes: str) -> bool:
    box = QMessageBox(QMessageBox.Question, title, text, parent=parent)
    ok = box.addButton(yes, QMessageBox.AcceptRole)
    box.addButton(QMessageBox.Cancel)
    box.setDefaultButton(ok)
    box.setObjectName("training_confirm")
    box.exec()
    return box.clickedButton() is ok


def show_error(parent: QWidget, title: str, text: str) -> None:
    box = QMessageBox(QMessageBox.Critical, title, text, parent=parent)
    box.setObjectName("training_error")
    box.exec()


def report(parent: QWidget, action, path: str) -> bool:
    """Run a file-writing action; a failure is shown, never raised."""
    try:
        action()
        return True
    except OSError as exc:
        show_error(parent, "Cannot export", f"Cannot write {path}: {exc.strerror or exc}")
        return False
