"""Autosave to a recovery file while there are unsaved changes; find the files a crash left.

Each window session writes `<session>.json` in the recovery folder a few seconds after an edit
(never more often than `interval_ms`), removes it when the document becomes clean or the window
closes, and holds `<session>.json.lock` (a QLockFile) while it runs. A recovery file whose lock
can be taken belongs to a session that did not close properly: it is offered at the next start.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QTimer, Signal

import engine

from .document import Document

FORMAT = "layerwise-recovery"


@dataclass
class Orphan:
    file: Path
    lock: QLockFile
    spec: engine.NetworkSpec
    path: str | None
    title: str
    saved: str

    def discard(self) -> None:
        try:
            self.file.unlink()
        except OSError:
            pass
        self.lock.unlock()


class Autosave(QObject):
    failed = Signal(str)

    def __init__(self, doc: Document, folder: Path, interval_ms: int = 5000, parent=None):
        super().__init__(parent)
        self.doc, self.folder = doc, Path(folder)
        self.file = self.folder / f"{uuid.uuid4().hex[:12]}.json"
        self.lock: QLockFile | None = None
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.write)
        doc.undo_stack.indexChanged.connect(self._changed)
        doc.undo_stack.cleanChanged.connect(self._changed)
        doc.spec_replaced.connect(self._changed)

    def _changed(self, *_) -> None:
        try:
            modified = self.doc.is_modified()
        except RuntimeError:       # the stack is being destroyed with the window
            return
        if modified:
            if not self.timer.isActive():
                self.timer.start()
        else:
            self.discard()

    def write(self) -> bool:
        if not self.doc.is_modified():
            return False
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if self.lock is None:
                self.lock = QLockFile(str(self.file) + ".lock")
                self.lock.setStaleLockTime(0)
                self.lock.tryLock(0)
            data = {"format": FORMAT, "version": 1, "path": self.doc.path,
                    "title": self.doc.display_name(),
                    "saved": dt.datetime.now().isoformat(timespec="seconds"),
                    "network": self.doc.spec.to_dict()}
            engine.write_atomically(self.file, json.dumps(data, indent=1).encode("utf-8"))
            return True
        except OSError as exc:
            self.failed.emit(f"Autosave failed: {exc.strerror or exc}")
            return False
        except engine.LayerwiseError as exc:
            self.failed.emit(f"Autosave failed: {exc}")
            return False

    def discard(self) -> None:
        self.timer.stop()
        try:
            self.file.unlink()
        except OSError:
            pass

    def close(self) -> None:
        """The window is closing normally: nothing to recover."""
        self.discard()
        if self.lock is not None:
            self.lock.unlock()
            self.lock = None


def orphans(folder: Path, own: Path | None = None) -> list[Orphan]:
    """Recovery files left by sessions that are no longer running, newest first. Each is
    returned locked; call `discard()` once it is recovered or declined."""
    found = []
    for file in sorted(Path(folder).glob("*.json")) if Path(folder).is_dir() else []:
        if own is not None and file == own:
            continue
        lock = QLockFile(str(file) + ".lock")
        lock.setStaleLockTime(0)
        if not lock.tryLock(0):
            continue          # its session is still running
        try:
            data = json.loads(file.read_text("utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError("not a recovery file")
            spec = engine.NetworkSpec.from_dict(data["network"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, engine.SpecError):
            Orphan(file, lock, engine.NetworkSpec(), None, "", "").discard()
            continue
        found.append(Orphan(file, lock, spec, data.get("path"), str(data.get("title", "")),
                            str(data.get("saved", ""))))
    found.sort(key=lambda o: o.saved, reverse=True)
    return found
