"""Draw the README's training screenshot: the deep sigmoid example training on mnist-5k, the
dashboard live and the layers coloured by the gradient that reaches them.

    xvfb-run -a -s '-screen 0 1600x1200x24' .venv/bin/python bench/gui_training_screenshot.py
    .venv/bin/python bench/gui_training_screenshot.py [--steps N] [--example NAME] [--out PATH]
        [--show "Through time"]

Trains until N steps are done (the run is still going), grabs the window, then stops.
Writes docs/training.png unless told otherwise.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LAYERWISE_HOME", "/tmp/layerwise-screenshot")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gui.app import make_app  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402


def pump(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--example", default="deep_sigmoid")
    p.add_argument("--out", default=str(ROOT / "docs" / "training.png"))
    p.add_argument("--show", action="append", default=[], metavar="TITLE",
                   help="a dashboard dock to bring to the front of its tabs (repeatable)")
    args = p.parse_args()
    app = make_app()
    window = MainWindow()
    window.resize(1600, 1150)
    window.show()
    session = window.ensure_training()
    window.open_example(str(ROOT / "resources" / "examples" / f"{args.example}.json"))
    session.panel.load(session.panel.recipe().with_settings(train={"epochs": 20}))
    dash = session.dashboard
    unknown = [title for title in args.show if title not in dash.docks]
    if unknown:             # before training starts: no run to leave behind
        window.doc.results_unsaved = False
        window.close()
        p.error(f"no dashboard dock {', '.join(map(repr, unknown))}; the docks are "
                f"{', '.join(map(repr, dash.docks))}")
    window.resizeDocks([dash.docks["Loss"], dash.docks["Gradients"], dash.docks["Activations"]],
                       [520, 560, 520], Qt.Horizontal)
    window.resizeDocks([dash.docks["Loss"]], [330], Qt.Vertical)
    pump(app, 0.3)
    window.view.fit()
    assert window.start_training()
    deadline = time.monotonic() + 600
    while session.dashboard.store.run.step < args.steps and time.monotonic() < deadline:
        pump(app, 0.05)
    for title in args.show:
        dash.docks[title].raise_()
    session.dashboard.flush()      # as the next sweep (within about a second) draws them
    pump(app, 0.2)
    image = window.grab()
    image.save(args.out)
    print(f"wrote {args.out} ({image.width()}x{image.height()}, {QApplication.platformName()}, "
          f"step {session.dashboard.store.run.step})")
    session.wait()
    window.doc.results_unsaved = False
    window.doc.undo_stack.setClean()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
