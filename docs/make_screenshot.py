"""Draw the README screenshot: the window with LeNet-5 open, a layer selected.

    xvfb-run -a -s '-screen 0 1600x1200x24' .venv/bin/python docs/make_screenshot.py    # or on a desktop; off-screen otherwise

Writes docs/screenshot.png (the window as it is painted, without the desktop's frame).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LAYERWISE_HOME", "/tmp/layerwise-screenshot")
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gui.app import make_app  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402

OUT = ROOT / "docs" / "screenshot.png"


def main() -> int:
    app = make_app()
    window = MainWindow()
    window.resize(1440, 1060)
    window.show()
    window.resizeDocks([window.problems_dock], [60], Qt.Vertical)
    window.open_example(str(ROOT / "resources" / "examples" / "lenet5.json"))
    for _ in range(5):
        app.processEvents()
    window.view.fit()
    window.scene.select_nodes(["conv2d_2"])
    window.show_message("Opened the example “LeNet-5”.")
    app.processEvents()
    image = window.grab()
    image.save(str(OUT))
    print(f"wrote {OUT} ({image.width()}x{image.height()}, {QApplication.platformName()})")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
