"""File → Export…: the network (with its trained weights, if they fit) as PyTorch source,
TorchScript or ONNX, written and checked by engine.export in a worker thread.

ONNX is offered only where the packages it needs (onnx, onnxscript: installed with Layerwise)
can be imported; ONNX Runtime, which checks the exported file, is optional."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

import engine
from gui.dialogs import file_stem

FORMATS = (("python", "PyTorch source, with a .safetensors weights file (*.py)", ".py"),
           ("torchscript", "TorchScript (*.pt)", ".pt"),
           ("onnx", "ONNX (*.onnx)", ".onnx"))
NEEDS = {"onnx": ("onnx", "onnxscript")}     # the packages a format needs to be written
ONNX_NEEDS = "it needs the packages onnx and onnxscript (pip install onnx onnxscript)"


def available_formats() -> tuple:
    """The formats this installation can write (FORMATS' rows)."""
    return tuple(f for f in FORMATS
                 if all(importlib.util.find_spec(m) is not None for m in NEEDS.get(f[0], ())))


@dataclass
class ExportOutcome:
    kind: str
    status: str = "finished"
    message: str = ""
    result: object = None


def export_job(network, path: str, fmt: str):
    def job(queue, control) -> ExportOutcome:
        try:
            return ExportOutcome("export", result=engine.export(network, path, format=fmt))
        except engine.LayerwiseError as exc:
            return ExportOutcome("export", "failed", str(exc))
        except Exception as exc:  # shown to the user, never raised in the thread
            return ExportOutcome("export", "failed", f"the export failed: {exc}")
    return job


class ExportController(QObject):
    finished = Signal(object)          # the ExportOutcome

    def __init__(self, window):
        super().__init__(window)
        from gui.training.worker import Worker
        self.window = window
        self.worker = Worker(self)
        self.worker.ended.connect(self._ended)

    def network(self):
        """The trained model if it belongs to the network as it is now, else the network."""
        doc = self.window.doc
        model = doc.model
        if model is not None and getattr(model, "spec", None) == doc.spec:
            return model
        return doc.spec

    def ask(self) -> bool:
        doc = self.window.doc
        if not doc.analysis.ok:
            QMessageBox.information(self.window, "Export", "The network has problems (see the "
                                                           "Problems list): fix them first.")
            return False
        stem = Path(doc.path).stem if doc.path else file_stem(doc.spec.name)
        formats = available_formats()
        if len(formats) < len(FORMATS):
            self.window.show_message(f"ONNX export is not offered: {ONNX_NEEDS}.")
        path, chosen = QFileDialog.getSaveFileName(self.window, "Export network",
                                                   stem + ".py",
                                                   ";;".join(f[1] for f in formats))
        if not path:
            return False
        fmt = next((f[0] for f in formats if f[1] == chosen), None) or _by_suffix(path)
        return self.export_to(path, fmt)

    def export_to(self, path: str, fmt: str) -> bool:
        if self.worker.busy:
            return False
        if fmt not in (f[0] for f in available_formats()):
            QMessageBox.warning(self.window, "Export", f"Cannot export as {fmt}: {ONNX_NEEDS}.")
            return False
        if not Path(path).suffix:
            path += dict((f[0], f[2]) for f in FORMATS)[fmt]
        self.target = path
        self.window.show_message(f"Exporting to {Path(path).name}…")
        return self.worker.start("export", export_job(self.network(), path, fmt))

    def _ended(self, outcome) -> None:
        if outcome.status == "failed":
            QMessageBox.warning(self.window, "Export", f"Could not export: {outcome.message}")
            self.window.show_message("Export failed.")
        else:
            r = outcome.result
            check = (f"; it reproduces the network's outputs (largest difference "
                     f"{r.max_difference:.2g})" if r.max_difference is not None else
                     " (not checked: the check runs it in ONNX Runtime, pip install "
                     "onnxruntime)" if r.format == "onnx" else "")
            note = f" Note: {r.note}." if r.note else ""
            self.window.show_message(f"Exported {', '.join(p.name for p in r.paths)}{check}."
                                     f"{note}")
        self.finished.emit(outcome)

    def shutdown(self) -> None:
        self.worker.wait()


def _by_suffix(path: str) -> str:
    suffix = Path(path).suffix.lower()
    return next((f[0] for f in available_formats() if f[2] == suffix), "python")
