"""Where the window keeps its settings, recovery files and finds the bundled examples."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"
STYLE = Path(__file__).resolve().parent.parent / "resources" / "style.qss"
ICON = Path(__file__).resolve().parent.parent / "resources" / "icons" / "layerwise.svg"


def home() -> Path:
    """LAYERWISE_HOME if set (tests, portable use), else the platform's config folder."""
    if os.environ.get("LAYERWISE_HOME"):
        return Path(os.environ["LAYERWISE_HOME"])
    base = QStandardPaths.writableLocation(QStandardPaths.GenericConfigLocation)
    return Path(base or Path.home()) / "layerwise"


def recovery_dir() -> Path:
    return home() / "recovery"


def settings() -> QSettings:
    return QSettings(str(home() / "settings.ini"), QSettings.IniFormat)
