"""Live training in the window: the Training panel, the dashboard docks, diagnostics on the
canvas, and the Training menu. `install(window)` puts them in the docks the window made for
them (gui.window_layout) and returns the session."""
from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from .session import TrainingSession

__all__ = ["TrainingSession", "install"]


def install(window) -> TrainingSession:
    session = TrainingSession(window)
    window.fill_panel("training_dock", session.panel)
    window.fill_panel("diagnostics_dock", session.diag_panel)
    _menu(window, session)
    session.message.connect(window.show_message)
    session.document_replaced()
    return session


def _action(window, text, slot, shortcut=None, tip="") -> QAction:
    act = QAction(text, window)
    if shortcut:
        act.setShortcut(QKeySequence(shortcut))
    act.setStatusTip(tip)
    act.triggered.connect(lambda checked=False: slot())
    window.addAction(act)
    return act


def _menu(window, s: TrainingSession) -> None:
    acts = {
        "train": _action(window, "&Train", s.start, "F5", "Train the network"),
        "pause": _action(window, "&Pause / Resume", s.toggle_pause, "F6",
                         "Pause or resume training"),
        "stop": _action(window, "&Stop", s.stop, "Shift+F5",
                        "Stop training and keep the weights"),
        "reset": _action(window, "&Reset Weights…", s.reset_weights, None,
                         "Forget the trained weights and history"),
        "check": _action(window, "&Check Trainability", lambda: s.start("probe"), "F7",
                         "Probe one batch: gradients reaching each layer, units switched off"),
        "compare": _action(window, "Compare with &Random Init", lambda: s.start("compare"),
                           None, "Train with and without pre-training from the same seed"),
    }
    log_x = QAction("&Log-Scale Steps", window)
    log_x.setCheckable(True)
    log_x.toggled.connect(s.dashboard.set_log_x)
    window.training_actions = {**acts, "log_x": log_x}
    bar = window.menuBar()
    menu = QMenu("&Training", window)
    bar.insertMenu(bar.actions()[-1], menu)           # before Help
    menu.addActions([acts["train"], acts["pause"], acts["stop"]])
    menu.addSeparator()
    menu.addActions([acts["reset"], acts["check"], acts["compare"]])
    menu.addSeparator()
    menu.addAction(log_x)
    panels = menu.addMenu("&Panels")
    panels.addAction(window.training_dock.toggleViewAction())
    panels.addAction(window.diagnostics_dock.toggleViewAction())
    for dock in s.dashboard.docks.values():
        panels.addAction(dock.toggleViewAction())

    def update() -> None:
        state = s.state()
        acts["train"].setEnabled(state == "idle")
        acts["pause"].setEnabled(state in ("training", "paused"))
        acts["stop"].setEnabled(state in ("training", "paused", "busy"))
        acts["reset"].setEnabled(state == "idle" and s.source is not None)
        acts["check"].setEnabled(state == "idle")
        acts["compare"].setEnabled(state == "idle")
        s.diag_panel.check.setEnabled(state == "idle")
    s.state_changed = update
    update()
