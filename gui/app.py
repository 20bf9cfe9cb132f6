"""Start the window: paint first, then open the file given, offer recovery, and load torch in
the background so the first Open or Save does not wait for it."""
from __future__ import annotations

import os
import sys
import threading
from typing import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

from . import collector, paths
from .main_window import MainWindow


def display_problem() -> str | None:
    """Why no window can be shown here, or None."""
    if sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            or os.environ.get("QT_QPA_PLATFORM")):
        return ("no display found (DISPLAY is not set): run Layerwise on a desktop, under "
                "xvfb-run, or use a command such as `layerwise info FILE`")
    return None


def preload_torch() -> threading.Thread:
    """Import the torch-backed parts of the engine in a daemon thread."""
    import engine
    thread = threading.Thread(target=getattr, args=(engine, "load"),
                              name="layerwise-preload", daemon=True)
    thread.start()
    return thread


class _FirstPaint(QObject):
    def __init__(self, callback: Callable[[], None]):
        super().__init__()
        self.callback = callback

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Paint and self.callback is not None:
            callback, self.callback = self.callback, None
            QTimer.singleShot(0, callback)
        return False


def make_app() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Layerwise")
    app.setOrganizationName("Layerwise")
    app.setStyle("Fusion")
    collector.install()           # cyclic garbage is collected in this thread only
    try:
        app.setStyleSheet(paths.STYLE.read_text("utf-8"))
    except OSError:
        pass
    return app


def main(files: list[str], on_first_paint: Callable[[], None] | None = None) -> int:
    problem = display_problem()
    if problem:
        print(f"layerwise: error: {problem}", file=sys.stderr)
        return 1
    app = make_app()
    window = MainWindow()
    window.restore_layout()
    painted = _FirstPaint(lambda: _after_paint(window, files, on_first_paint))
    window.view.viewport().installEventFilter(painted)
    window.show()
    return app.exec()


def _after_paint(window: MainWindow, files: list[str], hook) -> None:
    if hook is not None:
        hook()
        return
    loading = preload_torch()

    def ready() -> None:
        try:
            warming = window.ensure_training().warm_up()   # the panels; a first run's imports
        except Exception as exc:          # a broken PyTorch install: say so where it is missed
            window.training_unavailable(f"{type(exc).__name__}: {exc}")
            return
        after_thread(window, warming, collector.freeze)  # then: out of every full collection
        if files:
            window.open_path(files[0])    # asks first if the network was edited meanwhile
    if files:
        window.show_message(f"Opening {files[0]}…")
    after_thread(window, loading, ready)
    if not files:
        window.offer_recovery()


def after_thread(window: MainWindow, thread: threading.Thread, then: Callable[[], None],
                 poll_ms: int = 50) -> None:
    """Call `then` in the GUI thread once `thread` has finished, without blocking the window
    meanwhile (nothing is called if the window is gone by then)."""
    def poll() -> None:
        if thread.is_alive():
            QTimer.singleShot(poll_ms, window, poll)
        else:
            then()
    QTimer.singleShot(0, window, poll)
