"""The data sets the Training panel has read, and its preview of the chosen one, read without
freezing the window.

`DataSets` keeps what was read (by name and options: training reuses it) and shows the chosen
one in the panel's data box.

Each read runs in its own thread. `load()` waits a moment for it, once (most data sets are read
in a few milliseconds, and showing them at once avoids a flash of "Reading…"); a read that takes
longer is delivered later by the `loaded` or `failed` signal, in the GUI thread. Reads are
keyed (the data set's name and options): a result arrives under its own key, so the caller can
tell a stale read (the person chose something else meanwhile) from the one it is waiting for.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path

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
        raises engine.LayerwiseError), else None: `loaded` or `failed` follows with `key`.
        A read already under way is not waited for again."""
        if key in self._reads:
            return None
        if not self._reads:
            QTimer.singleShot(POLL_MS, self, self._poll)
        read = self._reads[key] = _Read(key, ref)
        read.start()
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


def key(ref: dict) -> str:
    """A data set's name and options as one string (the cache key), with, for a file or a
    folder, its size and time of change: a file changed, replaced or removed on disk is read
    again, never served from what was read before."""
    return json.dumps({**ref, "on disk": _stamp(str(ref.get("name") or ""))}, sort_keys=True,
                      default=str)


def _stamp(name: str) -> list | None:
    if not name:
        return None
    try:                        # a built-in set's name is no file here (a file so named: harmless)
        st = Path(name).stat()
    except (OSError, ValueError):
        return None
    return [st.st_mtime_ns, st.st_size]


class DataSets(QObject):
    """The data sets read so far, and the preview in `box` (the panel's DatasetBox) of the one
    chosen there. `chosen` says what the chosen one is once it is read (its describe(), or
    None): whether it fits the network is gui.data_fit's to say."""
    chosen = Signal(object)

    def __init__(self, box, parent=None):
        super().__init__(parent)
        self.box, self.info = box, None
        self.cache: dict[str, engine.Dataset] = {}
        self.loader = DataLoader(self)
        self.loader.loaded.connect(self._loaded)
        self.loader.failed.connect(self._failed)

    def dataset_for(self, ref: dict):
        """The data set `ref` if it was read, else None (the job reads it)."""
        return self.cache.get(key(ref))

    def keep(self, dataset) -> None:
        self.cache[key(dataset.reference())] = dataset

    def forget(self, name: str) -> None:
        """A file opened again is read again (it may have changed on disk)."""
        self.cache = {k: v for k, v in self.cache.items() if json.loads(k).get("name") != name}

    def show(self) -> None:
        """Show the chosen data set (read in the background when that takes a while)."""
        box, ref = self.box, self.box.reference()
        if not ref["name"]:
            box.show_text("Choose a data set.")
            return self._tell(None)        # nothing to check the network against
        k = key(ref)
        if box.needs_download() and k not in self.cache:
            box.show_text("Not downloaded yet: it is downloaded when training starts, or now "
                          "with Download now.")
            return self._tell(None)
        try:
            data = self.cache.get(k) or self.loader.load(k, ref)
        except engine.LayerwiseError as exc:
            box.show_text(str(exc), error=True)
            return self._tell(None)
        if data is None:
            box.show_text(f"Reading {Path(ref['name']).name or ref['name']}…")
            return self._tell(None)
        self._show(k, data)

    def wait(self) -> None:
        self.loader.wait()

    def _loaded(self, k: str, data) -> None:
        self.cache[k] = data
        if k == key(self.box.reference()):
            self._show(k, data)

    def _failed(self, k: str, message: str) -> None:
        if k == key(self.box.reference()):
            self.box.show_text(message, error=True)
            self._tell(None)

    def _show(self, k: str, data) -> None:
        self.cache[k] = data
        try:
            from engine import preview
            self.box.show_preview(preview(data))
        except engine.LayerwiseError as exc:
            self.box.show_text(str(exc), error=True)
            return self._tell(None)
        self._tell(data.describe())

    def _tell(self, info: dict | None) -> None:
        if info != self.info:
            self.info = info
            self.chosen.emit(info)
