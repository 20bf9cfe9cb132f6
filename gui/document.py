"""The open network as a Qt model: `engine.NetworkSpec` plus change signals and its undo stack.

Views (canvas, inspector, problems, status bar) subscribe to the signals; undo commands call the
editing methods, which change only the spec and say what changed. Setters emit only when the value
really changed. After every change (or at the end of a batch of changes) the network is
re-analysed and `analysis_changed` is emitted once.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

import engine
from engine import layered_positions


class Document(QObject):
    node_added = Signal(str)
    node_removed = Signal(str)
    node_moved = Signal(str)
    params_changed = Signal(str)
    edge_added = Signal(str, str)
    edge_removed = Signal(str, str)
    spec_replaced = Signal()
    analysis_changed = Signal()
    results_changed = Signal()            # trained weights, history or training settings
    runs_changed = Signal()               # the kept runs (Runs panel)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.spec = engine.NetworkSpec()
        self.analysis = engine.analyze(self.spec)
        self.undo_stack = QUndoStack(self)
        self.path: str | None = None          # where Save writes; None for a new or example network
        self.title = "Untitled"               # shown when there is no path (e.g. an example's name)
        self.model = None                     # trained weights that came with the file, if any
        self.history: dict | None = None
        self.recipe = None                    # engine.Recipe: how the network trains
        self.optimizer_state = None           # engine OptimizerState of the trained weights
        self.results_unsaved = False          # training results or settings not yet saved
        self.runs: list[dict] = []            # kept runs (engine.io.runs records), oldest first
        self.data_shape: tuple | None = None  # the chosen data's sample shape (a new Input's)
        self._batch = 0
        self._dirty = False

    # ------------------------------------------------------------------ whole document
    def replace(self, spec: engine.NetworkSpec, path: str | None = None, title: str = "",
                model=None, history: dict | None = None, recipe=None,
                optimizer_state=None, runs: list | None = None) -> None:
        """Start over with `spec` (New, Open, Revert): the undo history is cleared."""
        self.undo_stack.clear()
        place_unpositioned(spec)
        self.spec = spec
        self.path, self.model, self.history, self.recipe = path, model, history, recipe
        self.optimizer_state, self.results_unsaved = optimizer_state, False
        self.title = title or spec.name or "Untitled"
        self.runs = list(runs or [])
        self.analysis = engine.analyze(spec)
        self.spec_replaced.emit()
        self.analysis_changed.emit()
        self.runs_changed.emit()

    @contextmanager
    def batch(self):
        """Group several edits: one analysis and one `analysis_changed` at the end."""
        self._batch += 1
        try:
            yield
        finally:
            self._batch -= 1
            if self._batch == 0 and self._dirty:
                self._dirty = False
                self.analysis = engine.analyze(self.spec)
                self.analysis_changed.emit()

    def _changed(self) -> None:
        self._dirty = True
        if self._batch == 0:
            with self.batch():
                pass

    # ------------------------------------------------------------------ edits (for commands)
    def add_node(self, kind: str, params: dict | None, position, node_id: str | None = None) -> str:
        node_id = self.spec.add(kind, params, position, node_id)
        self.node_added.emit(node_id)
        self._changed()
        return node_id

    def remove_node(self, node_id: str):
        """Remove a node and its edges; returns what `restore_node` needs to undo it exactly."""
        order = list(self.spec.nodes).index(node_id)
        node, edges = self.spec.remove(node_id)
        for _, (src, dst) in edges:
            self.edge_removed.emit(src, dst)
        self.node_removed.emit(node_id)
        self._changed()
        return node, edges, order

    def restore_node(self, node: engine.Node, edges: list, order: int | None = None) -> None:
        """Undo `remove_node`: the node back at its place in node order, its edges at theirs."""
        self.spec.restore(node, edges)
        if order is not None and order < len(self.spec.nodes) - 1:
            items = list(self.spec.nodes.items())
            items.insert(order, items.pop())
            self.spec.nodes = dict(items)
        self.node_added.emit(node.id)
        for _, (src, dst) in edges:
            self.edge_added.emit(src, dst)
        self._changed()

    def connect(self, src: str, dst: str, index: int | None = None) -> None:
        self.spec.connect(src, dst, index)
        self.edge_added.emit(src, dst)
        self._changed()

    def disconnect(self, src: str, dst: str) -> int:
        index = self.spec.disconnect(src, dst)
        self.edge_removed.emit(src, dst)
        self._changed()
        return index

    def restore_edge(self, src: str, dst: str, position: int) -> None:
        """Undo a disconnect: put the edge back at its exact place in the edge list."""
        self.spec.edges.insert(position, (src, dst))
        self.edge_added.emit(src, dst)
        self._changed()

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        node = self.spec.node(node_id)
        old = node.params.get(name)
        new = self.spec.set_param(node_id, name, value)
        if new != old:
            self.params_changed.emit(node_id)
            self._changed()

    def move_node(self, node_id: str, position: tuple[float, float]) -> None:
        node = self.spec.node(node_id)
        if node.position != tuple(position):
            self.spec.move(node_id, position)
            self.node_moved.emit(node_id)

    # ------------------------------------------------------------------ queries
    def position(self, node_id: str) -> tuple[float, float]:
        return self.spec.nodes[node_id].position or (0.0, 0.0)

    def is_modified(self) -> bool:
        return not self.undo_stack.isClean() or self.results_unsaved

    def set_results(self, model=None, history: dict | None = None, optimizer_state=None,
                    recipe=None) -> None:
        """New training results (or settings, when `recipe` is given); unsaved until saved."""
        if recipe is not None:
            self.recipe = recipe
        else:
            self.model, self.history, self.optimizer_state = model, history, optimizer_state
        self.results_unsaved = True
        self.results_changed.emit()

    # ------------------------------------------------------------------ kept runs
    def upsert_run(self, record: dict) -> None:
        """Keep a run: replace the record with the same id, or add it."""
        ids = [r["id"] for r in self.runs]
        if record["id"] in ids:
            self.runs[ids.index(record["id"])] = record
        else:
            self.runs.append(record)
        self._runs_edited()

    def rename_run(self, run_id: str, label: str) -> None:
        for r in self.runs:
            if r["id"] == run_id and r["label"] != label:
                r["label"] = label
                self._runs_edited()

    def delete_runs(self, run_ids: list[str]) -> None:
        before = len(self.runs)
        self.runs = [r for r in self.runs if r["id"] not in run_ids]
        if len(self.runs) != before:
            self._runs_edited()

    def _runs_edited(self) -> None:
        self.results_unsaved = True
        self.runs_changed.emit()
        self.results_changed.emit()

    def mark_results_unsaved(self) -> None:
        """The training results (or imported weights) are in no file yet."""
        if not self.results_unsaved:
            self.results_unsaved = True
            self.results_changed.emit()

    def mark_saved(self, results: bool = True) -> None:
        """The network is saved; its training results too unless `results` is False (the
        file could not hold them: they stay unsaved)."""
        self.undo_stack.setClean()
        if self.results_unsaved != (not results):
            self.results_unsaved = not results
            self.results_changed.emit()

    def display_name(self) -> str:
        if self.path:
            from pathlib import Path
            return Path(self.path).name
        return self.title


def place_unpositioned(spec: engine.NetworkSpec) -> None:
    """Give positions to nodes that have none: all of them laid out top to bottom if none has
    one, otherwise the newcomers laid out below the positioned ones."""
    missing = [n for n in spec.nodes.values() if n.position is None]
    if not missing:
        return
    if len(missing) == len(spec.nodes):
        for node_id, pos in layered_positions(spec).items():
            spec.nodes[node_id].position = pos
        return
    bottom = max(n.position[1] for n in spec.nodes.values() if n.position is not None)
    sub = engine.NetworkSpec()
    for n in missing:
        sub.nodes[n.id] = n
    sub.edges = [e for e in spec.edges if e[0] in sub.nodes and e[1] in sub.nodes]
    for node_id, pos in layered_positions(sub, origin=(0.0, bottom + 100.0)).items():
        spec.nodes[node_id].position = pos
