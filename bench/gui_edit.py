"""How long one edit takes in the window on a 300-layer network: the undo command, the
re-analysis, the canvas, inspector and status bar updates, and a synchronous repaint.

    .venv/bin/python bench/gui_edit.py          # off-screen unless DISPLAY is set

Prints one table: median and worst wall time (and median CPU time) per edit over 30
repetitions, with the whole network in view (fit: every node drawn) and at 100% zoom, against
the 50 ms target. Each measurement includes exactly one repaint of the canvas.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LAYERWISE_HOME", "/tmp/layerwise-bench")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEvent, QObject  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import engine  # noqa: E402
from gui.app import make_app  # noqa: E402
from gui.commands import (AddNodeCommand, MoveNodesCommand, RemoveItemsCommand,  # noqa: E402
                          insert_command)
from gui.main_window import MainWindow  # noqa: E402

TARGET_MS = 50.0
REPS = 30
LAYERS = 300


def network() -> engine.NetworkSpec:
    layers = []
    while len(layers) < LAYERS - 1:
        layers += [("Linear", {"out_features": 64}), ("ReLU", {})]
    return engine.NetworkSpec.sequential((784,), layers[:LAYERS - 1], name="300 layers")


class PaintCounter(QObject):
    def __init__(self):
        super().__init__()
        self.count = 0

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Paint:
            self.count += 1
        return False


PAINTS = PaintCounter()


def timed(app: QApplication, win: MainWindow, action) -> tuple[float, float]:
    """Wall and CPU milliseconds for the edit and the canvas repaint it causes (exactly one
    paint of the viewport: the one Qt does for the edit, or a forced one if it did none)."""
    painted = PAINTS.count
    t0, c0 = time.perf_counter(), time.process_time()
    action()
    app.processEvents()
    if PAINTS.count == painted:
        win.view.viewport().repaint()
    return (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000


def edits(win: MainWindow):
    doc = win.doc
    toggle = iter(range(10 ** 6))

    def set_param():             # first Linear: every shape and count below changes
        win.scene.select_nodes(["linear_1"])
        win.inspector.propose("out_features", 64 + next(toggle) % 2)

    def add():
        doc.undo_stack.push(AddNodeCommand(doc, "ReLU", None, (400.0, 300.0)))

    def insert():
        doc.undo_stack.push(insert_command(doc, "Dropout", None, (0.0, 15000.0),
                                           ("linear_75", "relu_75")))

    def delete():
        doc.undo_stack.push(RemoveItemsCommand(doc, ["relu_100"]))

    def move():
        x, y = doc.position("linear_50")
        doc.undo_stack.push(MoveNodesCommand(doc, {"linear_50": ((x, y), (x + 7, y))}))

    return [("set parameter (shapes change below)", set_param, False),
            ("add layer", add, True), ("insert layer into edge", insert, True),
            ("delete layer with its edges", delete, True), ("move layer", move, True),
            ("undo", doc.undo_stack.undo, False), ("redo", doc.undo_stack.redo, False)]


def measure(app, win, zoom: str) -> list[tuple[str, float, float, float]]:
    rows = []
    for name, action, undo_after in edits(win):
        walls, cpus = [], []
        for _ in range(REPS):
            if name == "redo":
                win.doc.undo_stack.undo()
                app.processEvents()
            wall, cpu = timed(app, win, action)
            walls.append(wall)
            cpus.append(cpu)
            if undo_after:
                win.doc.undo_stack.undo()
                app.processEvents()
        rows.append((f"{name} [{zoom}]", statistics.median(walls), max(walls),
                     statistics.median(cpus)))
    return rows


def main() -> int:
    global REPS
    parser = argparse.ArgumentParser(description="Time one edit of a 300-layer network in the "
                                                 "window (re-analysis and redraw).")
    parser.add_argument("--reps", type=int, default=REPS, help=f"edits timed (default {REPS})")
    REPS = max(1, parser.parse_args().reps)
    app = make_app()
    win = MainWindow()
    win.resize(1400, 900)
    win.show()
    win.view.viewport().installEventFilter(PAINTS)
    win.doc.replace(network())
    app.processEvents()
    win.view.fit()
    app.processEvents()
    rows = measure(app, win, "fit: all 300 drawn")
    win.view.reset_zoom()
    win.view.centerOn(0, 5000)
    app.processEvents()
    rows += measure(app, win, "100%")
    width = max(len(r[0]) for r in rows)
    print(f"GUI edit latency, {len(win.spec.nodes)}-layer network "
          f"({QApplication.platformName()}), {REPS} reps; target < {TARGET_MS:.0f} ms")
    print(f"{'edit':<{width}}  median ms  worst ms  median CPU ms  ok")
    for name, med, worst, cpu in rows:
        print(f"{name:<{width}}  {med:9.1f}  {worst:8.1f}  {cpu:13.1f}  "
              f"{'yes' if worst < TARGET_MS else 'NO'}")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} "
          f"(on {os.cpu_count()} CPUs; wall times grow with it, CPU times much less)")
    win.doc.undo_stack.setClean()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
