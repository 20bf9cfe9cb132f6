"""File → Import…: an ONNX model, or a PyTorch module class in a .py file, opened as a new unsaved
network with its weights (engine.import_network does the work and checks the outputs)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

import engine

from . import dialogs


def import_dialog(window) -> bool:
    """Ask for the file (and, for Python, the class and input shape), import it and open it as
    a new document; on failure say why and leave the current document as it is."""
    folder = str(Path(window.doc.path).parent) if window.doc.path else str(Path.home())
    path = dialogs.import_file_name(window, folder)
    if not path:
        return False
    class_name = shape = None
    if Path(path).suffix.lower() == ".py":
        answer = dialogs.ask_module_class(window, path)
        if answer is None:
            return False
        class_name, shape = answer
    # asked once the file is chosen: cancelling the choice leaves a run training
    if not window.files.maybe_save("importing a network"):
        return False
    return import_source(window, path, class_name, shape)


def import_source(window, path: str, class_name: str | None = None, input_shape=None) -> bool:
    """Import the ONNX model at `path`, or the module class `class_name` of the Python file at
    `path`, as a new unsaved document."""
    source = f"{path}:{class_name}" if class_name else path
    QApplication.setOverrideCursor(Qt.WaitCursor)
    window.files.message.emit(f"Importing {Path(path).name}…")
    try:
        result = engine.import_network(source, input_shape=input_shape)
    except engine.FileFormatError as exc:
        problems = exc.problems
    except engine.UnsupportedOperations as exc:
        problems = [f"node '{name}': {op}" for name, op in exc.operations] + [
            "Layerwise has no layer for these operations; nothing was imported"]
    except engine.LayerwiseError as exc:
        problems = [str(exc)]
    else:
        problems = []
    finally:
        QApplication.restoreOverrideCursor()
    if problems:
        window.files.message.emit(f"Could not import {Path(path).name}; nothing was changed.")
        dialogs.show_problems(window, path, problems)
        return False
    window.doc.replace(result.spec, None, result.spec.name or Path(path).stem, result.model)
    window.doc.mark_results_unsaved()             # the imported weights are in no file yet
    layers = len(result.spec.nodes) - 1
    window.files.message.emit(
        f"Imported {Path(path).name}: {layers} layers with their weights, outputs equal to "
        f"the source's within {result.max_difference:.1g}; Save asks where to keep it.")
    return True
