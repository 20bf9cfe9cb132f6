"""Reading a data set for the Training panel's preview without freezing the window.

Each read runs in its own thread. `load()` waits a moment for it (most data sets are read in a
few milliseconds, and showing them at once avoids a flash of "Loading…"); a read that takes
longer is delivered later by the `loaded` or `failed` signal, in the GUI thread. Reads are
keyed (the data set's name and options): a result arrives under its own key, so the caller can
tell a stale read (the person chose something else meanwhile) from the one it is waiting for.
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QTimer, Signal

import engine

WAIT_MS = 120        # how long load() waits before answering "still reading"
POLL_MS = 30


class _Read(threading.Thread):
    def __init__(self, key: str, ref: dict):
        super().__init__(name=f"layerwise-data-{ref.get('name', '')}", daemon=True)
        self.key, self.ref = key, ref
        self.data: engine.Dataset | None = None
        self.error = ""

    def run(self) -> None:
        try:
            self.data = engine.load_dataset(self.ref["name"], **self.ref.get("options", {}))
        except engine.LayerwiseError as exc:
            self.error = str(exc)
        except MemoryError:
            self.error = (f"not enough memory to read {self.ref['name']}; choose a smaller "
                          f"file or fewer samples")
        except Exception as exc:               # a reader's bug must not vanish in a thread
            self.error = f"cannot read {self.ref['name']}: {type(exc).__name__}: {exc}"


class DataLoader(QObject):
    loaded = Signal(str, object)      # key, engine.Dataset
    failed = Signal(str, str)         # key, message

    def __init__(self, parent=None, wait_ms: int = WAIT_MS):
        super().__init__(parent)
        self.wait_ms = wait_ms
        self._reads: dict[str, _Read] = {}

    def load(self, key: str, ref: dict) -> engine.Dataset | None:
        """The data set `ref` ({name, options}) if it is read within a moment (a bad one
        raises engine.LayerwiseError), else None: `loaded` or `failed` follows with `key`."""
        read = self._reads.get(key)
        if read is None:
            read = self._reads[key] = _Read(key, ref)
            read.start()
            if not self._reads_running_before(read):
                QTimer.singleShot(POLL_MS, self, self._poll)
        read.join(self.wait_ms / 1000)
        if read.is_alive():
            return None
        del self._reads[key]
        if read.error:
            raise engine.DatasetError(read.error)
        return read.data

    def wait(self, seconds: float = 30.0) -> None:
        """Let running reads finish (the window closes), their results unused."""
        for read in list(self._reads.values()):
            read.join(seconds)
        self._reads.clear()

    def _reads_running_before(self, new: _Read) -> bool:
        return any(r is not new for r in self._reads.values())

    def _poll(self) -> None:
        for key, read in list(self._reads.items()):
            if read.is_alive():
                continue
            del self._reads[key]
            if read.error:
                self.failed.emit(key, read.error)
            else:
                self.loaded.emit(key, read.data)
        if self._reads:
            QTimer.singleShot(POLL_MS, self, self._poll)
