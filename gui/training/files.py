"""The few questions the training UI asks (tests replace these functions), and the writing of
exported data in pieces."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

import engine

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
    """A data folder: images in one sub-folder per class, IDX files, or sharded arrays."""
    return QFileDialog.getExistingDirectory(parent, "Open a data folder (images in one "
                                                    "sub-folder per class, or shards)",
                                            str(Path.home()))


def confirm(parent: QWidget, title: str, text: str, yes: str) -> bool:
    from gui.dialogs import confirm as ask
    return ask(parent, title, text, yes, name="training_confirm")


def ask_export(widget, title: str, stem: str, kind: str, export) -> None:
    """Ask where to export `title` as CSV data or a PNG image, then run `export(path)`."""
    what, suffix, pattern = (("data", ".csv", "CSV files (*.csv)") if kind == "csv" else
                             ("image", ".png", "PNG images (*.png)"))
    path = ask_save_path(widget, f"Export {title} {what}", stem + suffix, pattern)
    if path:
        report(widget, lambda: export(path), path)


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
    except engine.LayerwiseError as exc:
        show_error(parent, "Cannot export", str(exc))
    return False


def write_pieces(path: str, pieces: Iterable[str]) -> None:
    """Write the text `pieces` yields to `path` (UTF-8) one piece at a time, so that the whole
    text is never held, through engine's atomic writer (`engine.write_with`: the target checked
    first, a temporary file beside it renamed over the target once complete and on disk; on any
    failure the old file stays as it was)."""
    def write(fh) -> None:
        for piece in pieces:
            fh.write(piece.encode("utf-8"))
    engine.write_with(path, write, "export")
