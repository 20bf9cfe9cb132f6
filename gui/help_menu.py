"""The Help menu: Keyboard Shortcuts (made from the window's actions, so it lists what the keys
really do), the Layerwise guide (the README, rendered), the Lab, and About.

The guide is the README beside the source tree when Layerwise runs from a checkout (or an
editable install); an installed wheel carries the same text as its package description.
"""
from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from PySide6.QtCore import QByteArray, QSize, QUrl
from PySide6.QtGui import (QAction, QImage, QKeySequence, QPixmap, QTextCursor, QTextDocument,
                           QTextImageFormat)
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLabel,
                               QMenu, QMenuBar, QTableWidget, QTableWidgetItem, QTextBrowser,
                               QVBoxLayout)

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
IMAGE_WIDTH = 640                   # pictures in the guide are shown at most this wide


def plain(text: str) -> str:
    """A menu text as read: without its '&' mnemonic marks or a trailing ellipsis."""
    return re.sub(r"&(.)", r"\1", text).rstrip("…").rstrip(".").strip()


def keys_of(action: QAction) -> str:
    return ", ".join(k.toString(QKeySequence.NativeText) for k in action.shortcuts())


def shortcut_rows(window) -> list[tuple[str, str, str]]:
    """(menu, action, keys) for every action of the window that has a shortcut: those in
    the menus (under the menu's name) first, then any others the window handles."""
    rows, seen = [], set()

    def walk(menu: QMenu, path: str) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu(), f"{path} → {plain(action.menu().title())}")
            elif action not in seen and not action.isSeparator():
                seen.add(action)
                if action.shortcuts():
                    rows.append((path, plain(action.text()), keys_of(action)))

    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.menu(), plain(top.menu().title()))
    for action in window.findChildren(QAction):
        if action not in seen and action.shortcuts() and action.text():
            seen.add(action)
            rows.append(("Window", plain(action.text()), keys_of(action)))
    return rows


class ShortcutsDialog(QDialog):
    """Every shortcut of the window, by menu, as the actions have them now."""

    def __init__(self, window):
        super().__init__(window)
        self.setWindowTitle("Keyboard Shortcuts — Layerwise")
        rows = shortcut_rows(window)
        self.table = QTableWidget(len(rows), 3)
        self.table.setObjectName("shortcuts_table")
        self.table.setHorizontalHeaderLabels(["Menu", "Action", "Keys"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setAlternatingRowColors(True)
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setCurrentCell(-1, -1)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        note = QLabel("The mouse on the canvas (zoom, pan, connect): Help → Layerwise Guide.")
        note.setWordWrap(True)
        note.setStyleSheet("color: #6b7280;")
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        box = QVBoxLayout(self)
        box.addWidget(self.table, 1)
        box.addWidget(note)
        box.addWidget(buttons)
        width = sum(self.table.columnWidth(c) for c in range(3)) + 60
        self.resize(QSize(max(520, min(width, 760)), 560))


def guide_text() -> str:
    """The README: from the source tree, else from the installed package's description."""
    try:
        text = README.read_text("utf-8")
    except OSError:                       # installed from a wheel: no source tree
        try:
            text = metadata.metadata("layerwise").get_payload()
        except metadata.PackageNotFoundError:
            text = ""
    return text or ("# Layerwise\n\nThe guide (README.md) was not found in this installation. "
                    "It is on the project's page.")


class GuideDialog(QDialog):
    """The README, rendered as Markdown, with its pictures scaled to fit."""

    def __init__(self, window):
        super().__init__(window)
        self.setWindowTitle("Layerwise Guide")
        self.browser = QTextBrowser()
        self.browser.setObjectName("guide")
        self.browser.setOpenExternalLinks(True)
        self.browser.setSearchPaths([str(ROOT)])
        self.browser.setMarkdown(guide_text())
        self._fit_images()
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        box = QVBoxLayout(self)
        box.addWidget(self.browser, 1)
        box.addWidget(buttons)
        screen = window.screen().availableGeometry() if window.screen() else None
        height = min(820, screen.height() - 80) if screen is not None else 700
        self.resize(760, height)

    def _fit_images(self) -> None:
        """Pictures wider than IMAGE_WIDTH are shown at that width (their aspect kept)."""
        doc = self.browser.document()
        block = doc.begin()
        while block.isValid():
            it = block.begin()
            while not it.atEnd():
                fragment = it.fragment()
                fmt = fragment.charFormat()
                if fmt.isImageFormat():
                    self._fit_image(fragment, fmt.toImageFormat())
                it += 1
            block = block.next()

    def _fit_image(self, fragment, fmt: QTextImageFormat) -> None:
        image = _image(self.browser.document().resource(QTextDocument.ImageResource,
                                                        QUrl(fmt.name())))
        if image is None or image.isNull() or image.width() <= IMAGE_WIDTH:
            return
        fmt.setWidth(IMAGE_WIDTH)
        fmt.setHeight(image.height() * IMAGE_WIDTH / image.width())
        cursor = QTextCursor(self.browser.document())
        cursor.setPosition(fragment.position())
        cursor.setPosition(fragment.position() + fragment.length(), QTextCursor.KeepAnchor)
        cursor.setCharFormat(fmt)


def _image(data) -> QImage | None:
    """A document's image resource, whichever form it was loaded in."""
    if isinstance(data, QImage):
        return data
    if isinstance(data, QPixmap):
        return data.toImage()
    if isinstance(data, (QByteArray, bytes, bytearray)):
        return QImage.fromData(bytes(data))
    return None


class HelpMenu:
    """The window's Help menu; its dialogs are made when first asked for."""

    def __init__(self, window, bar: QMenuBar):
        self.window = window
        self.menu = bar.addMenu("&Help")
        self.shortcuts_action = self._add("&Keyboard Shortcuts", self.show_shortcuts,
                                          "Ctrl+/", "Every keyboard shortcut of the window")
        self.guide_action = self._add("Layerwise &Guide", self.show_guide, "F1",
                                      "The README: what Layerwise does and how to use it")
        self.lab_action = self._add("&Lab Window…", self.show_lab, None,
                                    "The lecture's experiments, with their reports")
        self.menu.addSeparator()
        self.menu.addAction(window.about_action)
        self.dialogs: dict[str, QDialog] = {}

    def _add(self, text: str, slot, keys, tip: str) -> QAction:
        action = QAction(text, self.window)
        if keys:
            action.setShortcut(QKeySequence(keys))
        action.setStatusTip(tip)
        action.triggered.connect(lambda checked=False: slot())
        self.window.addAction(action)
        self.menu.addAction(action)
        return action

    def _show(self, name: str, make) -> QDialog:
        dialog = self.dialogs.get(name)
        if dialog is None:
            dialog = self.dialogs[name] = make(self.window)
        dialog.show()
        dialog.raise_()
        return dialog

    def show_shortcuts(self) -> QDialog:
        old = self.dialogs.pop("shortcuts", None)    # made anew: the actions may have changed
        if old is not None:
            old.close()
            old.deleteLater()
        return self._show("shortcuts", ShortcutsDialog)

    def show_guide(self) -> QDialog:
        return self._show("guide", GuideDialog)

    def show_lab(self):
        from .lab_window import open_lab
        return open_lab(self.window, "")
