"""The status bar's device readout: where training runs and, on a GPU, the memory in use.

Refreshed once a second while a job runs (engine.device_info), idle otherwise."""
from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel

GiB = 1024 ** 3


def describe(info: dict) -> str:
    text = f"{info['device']} · {info['name']}"
    if info.get("allocated") is not None:
        text += f" · {info['allocated'] / GiB:.2f} GiB in use"
        if info.get("total"):
            text += f" of {info['total'] / GiB:.0f}"
    return text


class DeviceStatus(QLabel):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.device = None
        self.setToolTip("Where training runs, and the GPU memory it uses")
        self.timer = QTimer(self)
        self.timer.setObjectName("device_status")
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.refresh)
        session.worker.started.connect(self._started)
        session.worker.ended.connect(self._ended)

    def _started(self, kind: str) -> None:
        from engine import resolve_device
        import engine
        recipe = self.session.doc.recipe
        try:
            self.device = resolve_device(recipe.train.device if recipe else "auto")
        except engine.LayerwiseError:    # the job itself reports a device that is not there
            self.device = None
            return
        self.refresh()
        self.timer.start()

    def _ended(self, outcome) -> None:
        self.timer.stop()
        self.refresh()

    def refresh(self) -> None:
        if self.device is None:
            return
        import engine
        self.setText(describe(engine.device_info(self.device)))

    def shutdown(self) -> None:
        self.timer.stop()
