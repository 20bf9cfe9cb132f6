"""File → Export…: the network (with its trained weights, if they fit) as PyTorch source,
TorchScript or ONNX, written and checked by engine.export in a worker thread."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

import engine

FORMATS = (("python", "PyTorch source, with a .safetensors weights file (*.py)", ".py"),
           ("torchscript", "TorchScript (*.pt)", ".pt"),
           ("onnx", "ONNX (*.onnx)", ".onnx"))


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
        stem = Path(doc.path).stem if doc.path else (doc.spec.name or "network")
        filters = [f[1] for f in FORMATS]
        path, chosen = QFileDialog.getSaveFileName(self.window, "Export network",
                                                   stem.replace(" ", "_") + ".py",
                                                   ";;".join(filters))
        if not path:
            return False
        fmt = next((f[0] for f in FORMATS if f[1] == chosen), None) or _by_suffix(path)
        return self.export_to(path, fmt)

    def export_to(self, path: str, fmt: str) -> bool:
        if self.worker.busy:
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
            check = ("" if r.max_difference is None else
                     f"; it reproduces the network's outputs (largest difference "
                     f"{r.max_difference:.2g})")
            note = f" Note: {r.note}." if r.note else ""
            self.window.show_message(f"Exported {', '.join(p.name for p in r.paths)}{check}."
                                     f"{note}")
        self.finished.emit(outcome)

    def shutdown(self) -> None:
        self.worker.wait()


def _by_suffix(path: str) -> str:
    suffix = Path(path).suffix.lower()
    return next((f[0] for f in FORMATS if f[2] == suffix), "python")
