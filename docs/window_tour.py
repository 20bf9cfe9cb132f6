"""A new user's first minutes, clicked through the window and photographed:

    xvfb-run -a -s '-screen 0 1366x768x24' .venv/bin/python docs/window_tour.py

Builds a network for moons from the palette without typing a shape (the Input takes the data's
shape; the output's fix is one click), trains it, pauses, inserts a Linear and a Tanh, resumes
(the run goes on with the edited network), opens another example (nothing of the first stays),
saves the trained network, then starts a second window process that reopens the file (every
view comes back). Writes docs/tour/NN_what.png (the whole screen).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "tour"
SAVED = Path(tempfile.gettempdir()) / "layerwise-tour" / "moons.lwnet"
os.environ.setdefault("LAYERWISE_HOME", str(SAVED.parent / "home"))
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QEvent, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gui import dialogs  # noqa: E402
from gui.app import make_app  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.training import files as tfiles  # noqa: E402

dialogs.ask_save_changes = lambda *a: "discard"      # the tour answers its own questions
tfiles.confirm = lambda *a: True


def wait(seconds: float = 0.3, until=None, limit: float = 120.0) -> None:
    end = time.monotonic() + (limit if until else seconds)
    while time.monotonic() < end and not (until and until()):
        QApplication.processEvents()
        time.sleep(0.01)
    if until and not until():
        raise TimeoutError("the window did not get there in time")


def shot(name: str) -> None:
    wait(0.5)
    OUT.mkdir(parents=True, exist_ok=True)
    QApplication.primaryScreen().grabWindow(0).save(str(OUT / f"{name}.png"))
    print("wrote", OUT / f"{name}.png")


def click(widget) -> None:
    pos = QPointF(widget.rect().center())
    for kind in (QEvent.MouseButtonPress, QEvent.MouseButtonRelease):
        QApplication.sendEvent(widget, QMouseEvent(kind, pos, QPointF(widget.mapToGlobal(
            pos.toPoint())), Qt.LeftButton, Qt.LeftButton if kind == QEvent.MouseButtonPress
            else Qt.NoButton, Qt.NoModifier))
    wait(0.2)


def add_from_palette(window, kind: str) -> None:
    """A double click on the layer's name in the palette (after the selected layer)."""
    tree = window.palette.tree
    item = next(i for i in tree.findItems(kind, Qt.MatchExactly | Qt.MatchRecursive, 0)
                if i.childCount() == 0)
    tree.scrollToItem(item)
    pos = QPointF(tree.visualItemRect(item).center())
    viewport = tree.viewport()
    for kind_, buttons in ((QEvent.MouseButtonPress, Qt.LeftButton),
                           (QEvent.MouseButtonRelease, Qt.NoButton),
                           (QEvent.MouseButtonDblClick, Qt.LeftButton),
                           (QEvent.MouseButtonRelease, Qt.NoButton)):
        QApplication.sendEvent(viewport, QMouseEvent(kind_, pos, QPointF(viewport.mapToGlobal(
            pos.toPoint())), Qt.LeftButton, buttons, Qt.NoModifier))
    wait(0.2)


def first_window() -> None:
    make_app()
    window = MainWindow()
    window.show()
    session = window.ensure_training()
    wait(1.0)
    shot("01_empty")
    box = session.panel.dataset
    box.combo.setCurrentIndex(box.combo.findData("moons"))
    box.combo.activated.emit(box.combo.currentIndex())       # as choosing it in the list
    wait(1.0)
    for kind in ("Input", "Linear", "ReLU", "Linear"):
        add_from_palette(window, kind)
    shot("02_built_for_moons_with_the_output_fix")
    for button in [b for b in session.panel.findChildren(type(session.panel.train_button))
                   if b.isVisible() and b.text().startswith("Set ")]:
        click(button)
    session.panel.editors[("train", "epochs")].field.setValue(60)
    click(session.panel.train_button)
    wait(until=lambda: session.progress.last is not None and session.progress.last.step > 150)
    click(session.panel.pause_button)
    wait(until=lambda: session.state() == "paused")
    window.scene.select_nodes(["relu_1"])
    add_from_palette(window, "Linear")
    add_from_palette(window, "Tanh")
    shot("03_edited_while_paused")
    click(session.panel.pause_button)                          # Resume
    wait(until=lambda: session.state() == "idle")
    session.dashboard.docks["Decision boundary"].raise_()
    shot("04_resumed_with_the_edit_and_finished")
    SAVED.parent.mkdir(parents=True, exist_ok=True)
    window.files.save_to(str(SAVED))
    window.open_example(str(ROOT / "resources" / "examples" / "lenet5.json"))
    wait(1.0)
    shot("05_another_example_shows_nothing_of_the_first")
    window.close()


def second_window() -> None:
    make_app()
    window = MainWindow()
    window.show()
    session = window.ensure_training()
    window.open_path(str(SAVED), ask=False)
    wait(until=lambda: session.dashboard.store.run.confusion is not None)
    session.dashboard.docks["Decision boundary"].raise_()
    session.dashboard.docks["Confusion"].raise_()
    shot("06_reopened_every_view_is_back")
    window.close()


if __name__ == "__main__":
    if sys.argv[1:] == ["--reopen"]:
        second_window()
    else:
        first_window()
        subprocess.run([sys.executable, __file__, "--reopen"], check=True)
