"""New, Open, Open Recent, Examples, Save, Save As, Revert, and the unsaved-changes question.

A file is read completely (`engine.load`) before the document is touched, so a file that fails
to load leaves the current network as it was. Saving keeps the trained weights, history and
training configuration that came with an opened .lwnet file; if the edits made the weights no
longer fit the network, the file is saved without them and the status bar says so.
"""
from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QWidget

import engine

from . import dialogs, paths
from .document import Document

MAX_RECENT = 10


class FileOps(QObject):
    recent_changed = Signal()
    message = Signal(str)

    def __init__(self, window: QWidget, doc: Document):
        super().__init__(window)
        self.window, self.doc = window, doc

    # ------------------------------------------------------------------ asking first
    def maybe_save(self, action: str) -> bool:
        """True if it is fine to throw the current document away (saved or discarded)."""
        training = getattr(self.window, "training", None)      # a run is stopped first
        if training is not None and not training.confirm_stop(action):
            return False
        if not self.doc.is_modified():
            return True
        answer = dialogs.ask_save_changes(self.window, self.doc.display_name(), action)
        if answer == "save":        # a save that had to leave results out keeps them unsaved
            return self.save() and not self.doc.is_modified()
        return answer == "discard"

    # ------------------------------------------------------------------ opening
    def new(self) -> bool:
        if not self.maybe_save("starting a new network"):
            return False
        old = self.doc.recipe           # the data set stays chosen: a new Input takes its shape
        self.doc.replace(engine.NetworkSpec(),
                         recipe=engine.Recipe(data=old.data) if old is not None else None)
        self.message.emit("New network: drag an Input and some layers from the palette.")
        return True

    def open_dialog(self) -> bool:
        """Ask for the file first: cancelling the choice leaves a run training and the
        document as it is; then whether to save the current one."""
        folder = str(Path(self.doc.path).parent) if self.doc.path else str(Path.home())
        path = dialogs.open_file_name(self.window, folder)
        if not path or not self.maybe_save("opening another network"):
            return False
        return self.open_path(path, ask=False)

    def open_path(self, path: str, ask: bool = True, example: bool = False) -> bool:
        """Open `path`; on failure show every problem and keep the current document."""
        if ask and not self.maybe_save("opening another network"):
            return False
        example = example or _inside(path, paths.EXAMPLES)   # bundled files stay pristine
        saved = self._load(path)
        if saved is None:
            if not example and not Path(path).exists():
                self._forget(path)
            return False
        if example:
            self.doc.replace(saved.spec, None, saved.spec.name or Path(path).stem)
            self.message.emit(f"Opened the example “{self.doc.title}”; Save asks where to "
                              f"keep your copy.")
        else:
            self.doc.replace(saved.spec, str(Path(path).resolve()), "", saved.model,
                             saved.history, saved.recipe, saved.optimizer_state, saved.runs)
            self.remember(self.doc.path)
            extra = " with trained weights" if saved.model is not None else ""
            self.message.emit(f"Opened {Path(path).name}{extra}.")
        return True

    def _busy(self, text: str) -> None:
        """Say what is happening before a blocking step (the first one loads torch)."""
        QApplication.setOverrideCursor(Qt.WaitCursor)
        self.message.emit(text)
        bar = getattr(self.window, "statusBar", None)
        if bar is not None:
            bar().repaint()

    def _load(self, path: str):
        self._busy(f"Opening {Path(path).name}…")
        try:
            return engine.load(path)
        except engine.FileFormatError as exc:
            problems = exc.problems
        except engine.LayerwiseError as exc:
            problems = [str(exc)]
        except OSError as exc:
            problems = [exc.strerror or str(exc)]
        finally:
            QApplication.restoreOverrideCursor()
        self.message.emit(f"Could not open {Path(path).name}; nothing was changed.")
        dialogs.show_problems(self.window, path, problems)
        return None

    def revert(self) -> bool:
        if not self.doc.path or not self.doc.is_modified():
            return False
        if not dialogs.confirm(self.window, "Revert to saved",
                               f"Discard all changes to “{self.doc.display_name()}” and go "
                               f"back to the saved file?", "Revert"):
            return False
        return self.open_path(self.doc.path, ask=False)

    # ------------------------------------------------------------------ saving
    def save(self) -> bool:
        if not self.doc.path:
            return self.save_as()
        return self.save_to(self.doc.path)

    def save_as(self) -> bool:
        current = self.doc.path or str(Path.home() / dialogs.file_stem(self.doc.title))
        suggested = str(Path(current).with_suffix(".lwnet")) if not self.doc.path else current
        path = dialogs.save_file_name(self.window, suggested)
        return self.save_to(path) if path else False

    def save_to(self, path: str) -> bool:
        path = str(Path(path).resolve())
        self._busy(f"Saving {Path(path).name}…")
        try:
            note, complete = self._write(path)
        except (engine.LayerwiseError, OSError) as exc:
            QApplication.restoreOverrideCursor()
            dialogs.show_error(self.window, "Cannot save", f"{exc}\nNothing was lost: the "
                               f"network is still open, with its changes.")
            return False
        QApplication.restoreOverrideCursor()
        self.doc.path = path
        self.doc.mark_saved(results=complete)
        self.remember(path)
        self.message.emit(f"Saved {Path(path).name}." + (f" {note}" if note else ""))
        return True

    def _write(self, path: str) -> tuple[str, bool]:
        """Write the file; returns (a note for the status bar, '' if nothing to say; whether
        the file holds everything: trained weights left out stay unsaved, so that closing
        still asks)."""
        doc = self.doc
        if path.lower().endswith(".json"):
            from engine import network_json
            data = json.dumps(network_json(doc.spec), indent=1).encode("utf-8")
            engine.write_atomically(Path(path), data)
            if doc.model is not None or doc.history is not None or doc.runs:
                return ("A .json file holds the network only; the trained weights, history "
                        "and runs are kept in memory, unsaved: use Save As .lwnet to keep "
                        "them."), False
            return "", True
        if doc.model is not None:
            try:
                engine.save(path, doc.spec, doc.model, doc.history, doc.recipe,
                            doc.optimizer_state, runs=doc.runs)
                return "Trained weights kept.", True
            except engine.SpecError:
                pass                        # the weights do not fit: saved without them
        engine.save(path, doc.spec, None, doc.history, doc.recipe, runs=doc.runs)
        training = getattr(self.window, "training", None)   # it keeps the trained weights
        if doc.model is None and (training is None or training.source is None):
            return "", True
        why = "the network has problems (see the Problems list)" if not doc.analysis.ok \
            else "the trained weights no longer fit the edited network"
        return (f"The file was saved without the trained weights: {why}. They are kept in "
                f"memory, unsaved: fix the network (or undo) and save again to keep them."), False

    # ------------------------------------------------------------------ recent files
    def recent(self) -> list[str]:
        value = paths.settings().value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value or []]

    def remember(self, path: str) -> None:
        items = [path] + [p for p in self.recent() if p != path]
        self._set_recent(items[:MAX_RECENT])

    def _forget(self, path: str) -> None:
        items = self.recent()
        if path in items:
            items.remove(path)
            self._set_recent(items)

    def clear_recent(self) -> None:
        self._set_recent([])

    def _set_recent(self, items: list[str]) -> None:
        settings = paths.settings()
        settings.setValue("recent", items)
        settings.sync()
        self.recent_changed.emit()


def examples() -> list[tuple[str, Path]]:
    """(name, path) of the bundled example networks, read without building anything."""
    out = []
    for path in sorted(paths.EXAMPLES.glob("*.json")):
        try:
            name = json.loads(path.read_text("utf-8")).get("name") or path.stem
        except (OSError, ValueError, AttributeError):
            continue
        out.append((str(name), path))
    return out


def _inside(path: str, folder: Path) -> bool:
    try:
        return Path(path).resolve().is_relative_to(folder.resolve())
    except OSError:
        return False

