"""Starting the window: torch is not imported before the first paint; clear errors without a
display; the command line keeps going to the headless commands."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_window_modules_do_not_import_torch():
    code = textwrap.dedent("""
        import sys
        import gui.app, gui.main_window
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        w = gui.main_window.MainWindow()
        w.show()
        app.processEvents()
        heavy = [m for m in ("torch", "numpy", "pyqtgraph", "safetensors") if m in sys.modules]
        print(",".join(heavy))
        w.close()
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_no_display_gives_one_clear_line(monkeypatch):
    from gui import app
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert "no display" in app.display_problem()
    monkeypatch.setenv("DISPLAY", ":0")
    assert app.display_problem() is None


def test_other_commands_still_reach_the_headless_cli():
    out = subprocess.run([sys.executable, "main.py", "--version"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("layerwise ")


def test_many_binding_calls_do_not_exhaust_none():
    """PySide6 6.12 on CPython < 3.12 drops a reference to None per void call; gui guards it."""
    code = textwrap.dedent("""
        import gc, sys
        import gui
        from PySide6.QtCore import QObject, Signal
        class Flag(QObject):
            changed = Signal(bool)
        obj, flag = QObject(), Flag()
        flag.changed.connect(lambda v: None)
        for _ in range(50_000):          # None has ~5,000 references at this point
            obj.setObjectName("x")
        for _ in range(5_000):           # True and False have a few hundred
            flag.changed.emit(True)
            flag.changed.emit(False)
        gc.collect()
        print("alive")
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and "alive" in out.stdout, out.stderr[-500:]


def test_window_layout_is_remembered(qtbot):
    from gui.main_window import MainWindow
    first = MainWindow()
    first.show()
    first.resize(700, 500)
    first.problems_dock.hide()
    size = first.size()
    first.close()
    second = MainWindow()
    second.restore_layout()
    second.show()
    try:
        assert second.size() == size and not second.problems_dock.isVisible()
    finally:
        second.close()
        for w in (first, second):
            w.deleteLater()


def test_work_waiting_for_torch_runs_when_it_is_loaded_without_blocking(window, qtbot):
    import threading
    import time
    from gui.app import after_thread
    loading = threading.Thread(target=time.sleep, args=(0.3,))
    loading.start()
    path = ROOT / "resources" / "examples" / "mlp.json"
    after_thread(window, loading, lambda: window.open_path(path), poll_ms=20)
    qtbot.wait(50)
    assert window.spec.nodes == {}                   # not yet, and the window stays responsive
    qtbot.waitUntil(lambda: len(window.spec.nodes) == 7, timeout=5000)
    loading.join()


def test_a_broken_pytorch_install_is_said_where_training_would_be(window, qtbot, monkeypatch):
    from gui import app
    from gui.window_layout import LOADING

    def broken(self):
        raise ImportError("libtorch_cpu.so: cannot open shared object file")
    monkeypatch.setattr(type(window), "ensure_training", broken)
    app._after_paint(window, [], None)
    label = window.training_dock.widget()
    qtbot.waitUntil(lambda: label.text() != LOADING, timeout=10000)
    assert "Training is unavailable" in label.text() and "libtorch_cpu.so" in label.text()
    assert "pip install torch" in label.text()
    assert window.panels.docks["dash_loss"].widget().text() == label.text()
    assert "PyTorch could not be loaded" in window.statusBar().currentMessage()
    window.doc.undo_stack.setClean()
