"""Small helpers for Qt layouts that the panels rebuild."""
from __future__ import annotations


def empty(layout) -> None:
    """Take every item out of `layout`; its widgets are hidden at once (deletion waits for the
    event loop) and deleted."""
    while layout.count():
        item = layout.takeAt(0)
        if item.widget() is not None:
            item.widget().hide()
            item.widget().deleteLater()
