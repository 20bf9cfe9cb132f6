"""The main window: palette (left), canvas (centre), inspector (right), problems (bottom),
menus, shortcuts and the status bar. Testing seam: `MainWindow.open_path(path)` and `.spec`;
for training, `start_training()`, `stop_training()` and the `training_finished` signal.

This module must not import torch: the window paints first, torch loads later (on first open or
save, or in the background after the window is shown). The training UI (gui.training, which
needs torch and pyqtgraph) is installed by `ensure_training()`, after the first paint.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow, QMessageBox

import engine
from engine import describe as D
from engine import LAYOUT_DY as DY, layered_positions

from . import analyze_view, clipboard, paths
from .canvas.scene import CanvasScene
from .canvas.view import CanvasView, local_files
from .commands import (AddNodeCommand, AutoLayoutCommand, PasteNodesCommand, RemoveItemsCommand,
                       append_command)
from .document import Document
from .file_ops import FileOps, examples
from .import_action import import_dialog
from .inspector import Inspector
from .lab_window import fill_lab_menu
from .palette import Palette
from .problems import ProblemsList
from .recovery import Autosave, orphans
from .window_layout import PanelLayout, dock_widget

MESSAGE_MS = 8000


class MainWindow(QMainWindow):
    training_finished = Signal(str)       # finished, stopped or failed

    def __init__(self, autosave_ms: int = 5000):
        super().__init__()
        self.training = None              # gui.training.TrainingSession, once installed
        self.doc = Document(self)
        self.files = FileOps(self, self.doc)
        self.autosave = Autosave(self.doc, paths.recovery_dir(), autosave_ms, self)
        self.scene = CanvasScene(self.doc, self)
        self.view = CanvasView(self.scene)
        self.view.setObjectName("canvas")
        self.setCentralWidget(self.view)
        self.palette = Palette()
        self.inspector = Inspector(self.doc)
        self.problems = ProblemsList(self.doc)
        self._docks()
        self.panels = PanelLayout(self)
        self.training_dock = self.panels.docks["training_dock"]
        self.diagnostics_dock = self.panels.docks["diagnostics_dock"]
        self.runs_dock = self.panels.docks["runs_dock"]
        self.panels.arrange_default()
        self._status_bar()
        self._actions()
        self._menus()
        self._wire()
        self._shown = False
        self.setAcceptDrops(True)
        self.setWindowIcon(QIcon(str(paths.ICON)))
        self.panels.fit_to_screen()
        self._paste_count = 0
        analyze_view.install(self)        # the data fit and View → Analyze Network…
        self._update_title()
        self._update_totals()
        self._update_edit_actions()

    # ------------------------------------------------------------------ testing seam
    @property
    def spec(self) -> engine.NetworkSpec:
        return self.doc.spec

    def open_path(self, path: str, ask: bool = True) -> bool:
        ok = self.files.open_path(str(path), ask=ask)
        if ok:
            QTimer.singleShot(0, self.view.fit)
        return ok

    def ensure_training(self):
        """Install the Training panel, dashboard and diagnostics (imports torch) once."""
        if self.training is None:
            from .training import install
            self.training = install(self)
            self.data_fit.attach(self.training)
            self._install_runs()
            self.training.finished.connect(self.training_finished)
        return self.training

    def training_unavailable(self, reason: str) -> None:
        """PyTorch (or the training panels) could not be loaded: every panel that needed it
        says why and what to do, instead of 'Loading…'; editing goes on."""
        self.panels.unavailable(
            f"Training is unavailable: PyTorch could not be loaded ({reason}). Building and "
            f"saving networks still works. To train, reinstall PyTorch in this environment, "
            f"e.g. pip install torch==2.13.0, and start Layerwise again.")
        self.show_message("PyTorch could not be loaded: training is unavailable (see the "
                          "Training panel).")

    def export_network(self) -> bool:
        """File → Export…: asks where and in which format, then exports in the background."""
        if getattr(self, "exporter", None) is None:
            from .export_action import ExportController
            self.exporter = ExportController(self)
        return self.exporter.ask()

    def _install_runs(self) -> None:
        """The Runs panel, and the keeper that records every training run in the document."""
        from .run_keeper import RunKeeper
        from .runs_panel import RunsPanel
        self.run_keeper = RunKeeper(self.doc, self.training, self)
        self.runs_panel = RunsPanel(self.doc)
        self.fill_panel("runs_dock", self.runs_panel)
        from .device_status import DeviceStatus
        self.device_status = DeviceStatus(self.training, self)
        self.statusBar().addPermanentWidget(self.device_status)

    def start_training(self) -> bool:
        """Train with the document's settings; False (with a message) if it cannot start."""
        return self.ensure_training().start("train")

    def stop_training(self) -> None:
        if self.training is not None:
            self.training.stop()

    # ------------------------------------------------------------------ construction
    def _docks(self) -> None:
        self.palette_dock = dock_widget(self, "Layers", "palette_dock", self.palette)
        self.inspector_dock = dock_widget(self, "Inspector", "inspector_dock", self.inspector)
        self.problems_dock = dock_widget(self, "Problems", "problems_dock", self.problems)

    def _status_bar(self) -> None:
        bar = self.statusBar()
        self.params_label = QLabel()
        self.flops_label = QLabel()
        self.valid_label = QLabel()
        for w in (self.params_label, self.flops_label, self.valid_label):
            w.setContentsMargins(8, 0, 8, 0)
            bar.addPermanentWidget(w)

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(lambda checked=False: slot())
        self.addAction(action)
        return action

    def _actions(self) -> None:
        f, a = self.files, self._action
        self.new_action = a("&New", f.new, QKeySequence.New, "Start an empty network")
        self.open_action = a("&Open…", f.open_dialog, QKeySequence.Open,
                             "Open a .lwnet file or a network.json")
        self.save_action = a("&Save", f.save, QKeySequence.Save, "Save the network")
        self.save_as_action = a("Save &As…", f.save_as, "Ctrl+Shift+S",
                                "Save the network under a new name")
        self.revert_action = a("&Revert to Saved", f.revert, None,
                               "Discard the changes since the last save")
        self.import_action = a("&Import…", lambda: import_dialog(self), "Ctrl+I",
                               "Open an ONNX model or a PyTorch module as a new network")
        self.export_action = a("&Export…", self.export_network, "Ctrl+E",
                               "Export the network as PyTorch source, TorchScript or ONNX")
        self.quit_action = a("&Quit", self.close, "Ctrl+Q", "Close Layerwise")
        stack = self.doc.undo_stack
        self.undo_action = stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts([QKeySequence.Undo])
        self.redo_action = stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.cut_action = a("Cu&t", self.cut, QKeySequence.Cut, "Cut the selected layers")
        self.copy_action = a("&Copy", self.copy, QKeySequence.Copy, "Copy the selected layers")
        self.paste_action = a("&Paste", self.paste, QKeySequence.Paste, "Paste layers")
        self.duplicate_action = a("&Duplicate", self.duplicate, "Ctrl+D",
                                  "Duplicate the selected layers")
        self.delete_action = a("De&lete", self.delete_selection, ["Delete", "Backspace"],
                               "Delete the selected layers and connections")
        self.select_all_action = a("Select &All", self.scene.select_all, QKeySequence.SelectAll)
        self.layout_action = a("Arrange &Automatically", self.auto_layout, "Ctrl+L",
                               "Lay the network out from top to bottom")
        self.fit_action = a("&Fit to Window", self.view.fit, "F", "Show the whole network")
        self.reset_zoom_action = a("&Actual Size", self.view.reset_zoom, "Ctrl+0")
        self.zoom_in_action = a("Zoom &In", lambda: self.view.zoom_by(1.25), QKeySequence.ZoomIn)
        self.zoom_out_action = a("Zoom &Out", lambda: self.view.zoom_by(0.8),
                                 QKeySequence.ZoomOut)
        self.about_action = a("&About Layerwise", self.about)
        self.reset_layout_action = a("&Reset Layout", self.reset_layout, None,
                                     "Put every panel back in its default place")
        for act in (self.cut_action, self.copy_action, self.paste_action,
                    self.duplicate_action, self.delete_action, self.select_all_action):
            self._on_canvas_only(act)

    def _on_canvas_only(self, action: QAction) -> None:
        """Give `action`'s keys to a twin that acts only while the canvas has the focus:
        Delete in the Runs table, Ctrl+C in a list, must not delete or copy the selected
        layers. (An action in a menu bar takes its keys window-wide whatever its shortcut
        context, so the menu's action shows the keys after a tab and has none itself.)"""
        twin = QAction(action.text(), self.view)
        twin.setShortcuts(action.shortcuts())
        twin.setShortcutContext(Qt.WidgetWithChildrenShortcut)
        twin.triggered.connect(lambda checked=False: action.trigger())   # not while disabled
        self.view.addAction(twin)
        keys = ", ".join(k.toString(QKeySequence.NativeText) for k in action.shortcuts())
        action.setShortcuts([])
        action.setText(f"{action.text()}\t{keys}")

    def _menus(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        m.addActions([self.new_action, self.open_action])
        self.recent_menu = m.addMenu("Open &Recent")
        self.examples_menu = m.addMenu("&Examples")
        for name, path in examples():
            act = self.examples_menu.addAction(name)
            act.triggered.connect(lambda checked=False, p=str(path): self.open_example(p))
        m.addSeparator()
        m.addActions([self.save_action, self.save_as_action, self.revert_action])
        m.addSeparator()
        m.addActions([self.import_action, self.export_action])
        m.addSeparator()
        m.addAction(self.quit_action)
        m = bar.addMenu("&Edit")
        m.addActions([self.undo_action, self.redo_action])
        m.addSeparator()
        m.addActions([self.cut_action, self.copy_action, self.paste_action,
                      self.duplicate_action, self.delete_action])
        m.addSeparator()
        m.addActions([self.select_all_action, self.layout_action])
        m = self.view_menu = bar.addMenu("&View")
        m.addActions([self.fit_action, self.reset_zoom_action, self.zoom_in_action,
                      self.zoom_out_action])
        m.addSeparator()
        for dock in (self.palette_dock, self.inspector_dock, self.problems_dock,
                     self.runs_dock):
            m.addAction(dock.toggleViewAction())
        self.layout_separator = m.addSeparator()
        m.addAction(self.reset_layout_action)
        self.lab_menu = bar.addMenu("&Lab")
        self.lab_menu.aboutToShow.connect(lambda: fill_lab_menu(self, self.lab_menu))
        from .help_menu import HelpMenu      # Keyboard Shortcuts, the guide, the Lab, About
        self.help_menu = HelpMenu(self, bar)
        self._fill_recent()

    def _wire(self) -> None:
        doc = self.doc
        doc.undo_stack.cleanChanged.connect(self._update_title)
        doc.results_changed.connect(self._update_title)
        doc.spec_replaced.connect(self._update_title)
        doc.spec_replaced.connect(self._update_edit_actions)
        doc.undo_stack.indexChanged.connect(self._update_edit_actions)
        doc.analysis_changed.connect(self._update_totals)
        self.files.message.connect(self.show_message)
        self.files.recent_changed.connect(self._fill_recent)
        self.autosave.failed.connect(self.show_message)
        self.scene.selectionChanged.connect(self._selection_changed)
        self.scene.connection_refused.connect(self.show_message)
        self.view.files_dropped.connect(self._open_dropped)
        self.palette.kind_activated.connect(self.append_kind)
        self.problems.node_chosen.connect(self.reveal_node)
        self.problems.count_changed.connect(self._problems_title)
        QApplication.clipboard().dataChanged.connect(self._update_edit_actions)

    # ------------------------------------------------------------------ state shown
    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.doc.display_name()}[*] — Layerwise")
        self.setWindowModified(self.doc.is_modified())

    def _update_totals(self) -> None:
        """Parameters, FLOPs, and the verdict: the network's problems and the chosen data
        set's misfits (as the Problems list counts them), or valid, with any warnings."""
        a, fit = self.doc.analysis, self.data_fit
        self.params_label.setText(f"Parameters: {D.count(a.total_params)}")
        self.flops_label.setText(f"FLOPs per sample: {D.flops(a.flops)}")
        n, w = len(a.problems) + len(fit.problems), len(a.warnings)
        warned = f" · {w} warning{'s' if w != 1 else ''}" if w else ""
        if n:
            text, colour = f"✗ {n} problem{'s' if n != 1 else ''}{warned}", "#b91c1c"
        else:
            text, colour = f"✓ Valid network{warned}", "#b45309" if w else "#15803d"
        self.valid_label.setText(text)
        self.valid_label.setStyleSheet(f"color: {colour}; font-weight: 600;")
        self.valid_label.setToolTip(
            f"Checked against data set '{fit.data['name']}'." if fit.data else
            "Not checked against a data set yet (choose one in the Training panel).")

    def _problems_title(self, n: int) -> None:
        self.problems_dock.setWindowTitle(f"Problems ({n})" if n else "Problems")

    def _update_edit_actions(self, *_) -> None:
        has_nodes = bool(self.scene.selected_node_ids())
        has_any = has_nodes or bool(self.scene.selected_edges())
        for act in (self.cut_action, self.copy_action, self.duplicate_action):
            act.setEnabled(has_nodes)
        self.delete_action.setEnabled(has_any)
        self.paste_action.setEnabled(clipboard.from_mime(
            QApplication.clipboard().mimeData()) is not None)
        self.revert_action.setEnabled(bool(self.doc.path) and self.doc.is_modified())

    def _selection_changed(self) -> None:
        self.inspector.show_selection(self.scene.selected_node_ids())
        self._update_edit_actions()

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, MESSAGE_MS)

    def _fill_recent(self) -> None:
        menu = self.recent_menu
        menu.clear()
        recent = self.files.recent()
        for path in recent:
            act = menu.addAction(Path(path).name)
            act.setStatusTip(path)
            act.setToolTip(path)
            act.triggered.connect(lambda checked=False, p=path: self.open_path(p))
        if recent:
            menu.addSeparator()
        menu.addAction("Clear Menu", self.files.clear_recent).setEnabled(bool(recent))

    # ------------------------------------------------------------------ editing
    def append_kind(self, kind: str) -> str:
        """Palette double-click: add `kind` after the selected node (or after the network's
        output when nothing is selected), connected."""
        doc = self.doc
        selected = self.scene.selected_node_ids()
        after = selected[-1] if len(selected) == 1 else (
            doc.analysis.output_id if not selected else None)
        if after is not None and engine.LAYERS[kind].max_inputs != 0:
            cmd = append_command(doc, kind, after)
        else:
            cmd = AddNodeCommand(doc, kind, None, self._free_spot())
        doc.undo_stack.push(cmd)
        self.scene.select_nodes([cmd.node_id])
        self.view.show_nodes([cmd.node_id])
        return cmd.node_id

    def _free_spot(self) -> tuple[float, float]:
        if not self.doc.spec.nodes:
            return (0.0, 0.0)
        lowest = max(self.doc.spec.nodes.values(), key=lambda n: n.position[1])
        return (lowest.position[0], lowest.position[1] + DY)

    def delete_selection(self) -> None:
        nodes, edges = self.scene.selected_node_ids(), self.scene.selected_edges()
        if nodes or edges:
            self.doc.undo_stack.push(RemoveItemsCommand(self.doc, nodes, edges))

    def copy(self) -> bool:
        nodes = self.scene.selected_node_ids()
        if not nodes:
            return False
        QApplication.clipboard().setMimeData(
            clipboard.to_mime(clipboard.fragment(self.doc.spec, nodes)))
        self._paste_count = 0
        self.show_message(f"Copied {len(nodes)} layer{'s' if len(nodes) != 1 else ''}.")
        return True

    def cut(self) -> None:
        nodes = self.scene.selected_node_ids()
        if self.copy():
            self.doc.undo_stack.push(RemoveItemsCommand(self.doc, nodes, verb="Cut"))

    def paste(self) -> list[str]:
        part = clipboard.from_mime(QApplication.clipboard().mimeData())
        if part is None:
            self.show_message("Nothing to paste: copy some layers first.")
            return []
        self._paste_count += 1
        return self._paste(part, "Paste", self._paste_count)

    def duplicate(self) -> list[str]:
        nodes = self.scene.selected_node_ids()
        if not nodes:
            return []
        return self._paste(clipboard.fragment(self.doc.spec, nodes), "Duplicate", 1)

    def _paste(self, part: engine.NetworkSpec, verb: str, step: int) -> list[str]:
        if any(n.position is None for n in part.nodes.values()):
            for node_id, pos in layered_positions(part).items():
                part.nodes[node_id].position = pos
        taken = {n.position for n in self.doc.spec.nodes.values()}
        offset = (40.0 * step, 40.0 * step)
        while any((n.position[0] + offset[0], n.position[1] + offset[1]) in taken
                  for n in part.nodes.values()):
            offset = (offset[0] + 40.0, offset[1] + 40.0)
        cmd = PasteNodesCommand(self.doc, part, offset, verb)
        self.doc.undo_stack.push(cmd)
        self.scene.select_nodes(cmd.new_ids)
        self.view.show_nodes(cmd.new_ids)
        return cmd.new_ids

    def auto_layout(self) -> None:
        cmd = AutoLayoutCommand(self.doc)
        if cmd.moves:
            self.doc.undo_stack.push(cmd)
        self.view.fit()

    def reveal_node(self, node_id: str) -> None:
        self.scene.select_nodes([node_id])
        self.view.centerOn(QPointF(*self.doc.position(node_id)))

    # ------------------------------------------------------------------ files
    def open_example(self, path: str) -> bool:
        if not self.files.maybe_save("opening an example"):
            return False
        ok = self.files.open_path(path, ask=False, example=True)
        if ok:
            QTimer.singleShot(0, self.view.fit)
        return ok

    def _open_dropped(self, files: list[str]) -> None:
        if files:
            self.open_path(files[0])

    def dragEnterEvent(self, event) -> None:
        if local_files(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        files = local_files(event.mimeData())
        if files:
            event.acceptProposedAction()
            self._open_dropped(files)

    def offer_recovery(self) -> bool:
        """Offer the newest recovery file left by a session that crashed; True if recovered."""
        from . import dialogs
        for orphan in orphans(paths.recovery_dir(), own=self.autosave.file):
            name = Path(orphan.path).name if orphan.path else orphan.title or "Untitled"
            when = orphan.saved.replace("T", " ")
            if dialogs.ask_recover(self, name, when):
                self.doc.replace(orphan.spec, orphan.path, orphan.title or name)
                self.doc.undo_stack.resetClean()
                self._update_title()
                orphan.discard()
                self.autosave.write()
                self.show_message(f"Recovered unsaved changes to {name}; save to keep them.")
                QTimer.singleShot(0, self.view.fit)
                return True
            orphan.discard()
        return False

    def about(self) -> None:
        QMessageBox.about(self, "About Layerwise",
                          f"<b>Layerwise {engine.__version__}</b><p>Build deep networks by "
                          f"hand and watch them learn.</p><p>Drag layers from the palette, "
                          f"connect outputs to inputs, and edit parameters in the "
                          f"inspector.</p>")

    def closeEvent(self, event) -> None:
        if not self.files.maybe_save("closing"):
            event.ignore()
            return
        if self.training is not None:
            self.training.shutdown()
            self.device_status.shutdown()
        lab = getattr(self, "lab_window", None)
        if lab is not None:
            lab.close()             # stops a running experiment and waits for its thread
        if getattr(self, "exporter", None) is not None:
            self.exporter.shutdown()
        self.autosave.close()
        self.statusBar().clearMessage()      # stops the message timer
        self.panels.save()
        event.accept()

    # ------------------------------------------------------------------ panel layout
    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shown:
            self._shown = True
            self.panels.shown()

    def restore_layout(self) -> bool:
        """The window and its panels where they were when it last closed (PanelLayout)."""
        return self.panels.restore()

    def fill_panel(self, name: str, widget) -> QDockWidget:
        """Put the contents of a panel made at the start (window_layout.LATER_PANELS) in its
        dock, where it already is."""
        return self.panels.fill(name, widget)

    def reset_layout(self) -> None:
        """View → Reset Layout: every panel docked, shown and in its default place."""
        self.panels.reset()
