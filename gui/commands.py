"""Undo commands: every edit of the network is one of these, pushed on the document's QUndoStack.

Each command changes only the model (the `Document`, which says what changed); the canvas and the
panels follow the document's signals. Compound edits (delete with edges, insert into an edge,
paste) are built from child commands, undone in reverse order, inside one document batch so the
network is analysed once per step.
"""
from __future__ import annotations

import time
from typing import Iterable

from PySide6.QtGui import QUndoCommand

import engine
from engine import LAYOUT_DY as DY

from .document import Document

Pos = tuple[float, float]


class EditCommand(QUndoCommand):
    """Base: children first, then `apply`; undo runs `revert`, then the children in reverse.

    Children are kept by their parent in Python (`kids`) rather than as Qt child commands:
    PySide would otherwise let Python and C++ each delete them.
    """

    def __init__(self, doc: Document, text: str = "", parent: "EditCommand | None" = None):
        super().__init__(text)
        self.doc = doc
        self.kids: list[EditCommand] = []
        if parent is not None:
            parent.kids.append(self)

    def redo(self) -> None:
        with self.doc.batch():
            for kid in self.kids:
                kid.redo()
            self.apply()

    def undo(self) -> None:
        with self.doc.batch():
            self.revert()
            for kid in reversed(self.kids):
                kid.undo()

    def apply(self) -> None:
        pass

    def revert(self) -> None:
        pass


def fresh_ids(spec: engine.NetworkSpec, kinds: Iterable[str]) -> list[str]:
    """New node ids for `kinds`, unique in `spec` and among themselves."""
    taken, out = set(spec.nodes), []
    for kind in kinds:
        base, n = kind.lower(), 1
        while f"{base}_{n}" in taken:
            n += 1
        taken.add(f"{base}_{n}")
        out.append(f"{base}_{n}")
    return out


def _label(node_id: str, kind: str) -> str:
    prefix, _, number = node_id.rpartition("_")
    return f"{kind} {number}" if number.isdigit() and prefix == kind.lower() else node_id


def first_params(doc: Document, kind: str, params: dict | None) -> dict | None:
    """A new Input in a network that has none takes the chosen data set's sample shape."""
    if params is None and kind == "Input" and doc.data_shape and not doc.spec.input_ids():
        return {"shape": list(doc.data_shape)}
    return params


class AddNodeCommand(EditCommand):
    def __init__(self, doc: Document, kind: str, params: dict | None, position: Pos,
                 node_id: str | None = None, parent: EditCommand | None = None):
        self.node_id = node_id or fresh_ids(doc.spec, [kind])[0]
        super().__init__(doc, f"Add {_label(self.node_id, kind)}", parent)
        self.kind, self.position = kind, tuple(position)
        self.params = dict(first_params(doc, kind, params) or {})

    def apply(self) -> None:
        self.doc.add_node(self.kind, self.params, self.position, self.node_id)

    def revert(self) -> None:
        self.doc.remove_node(self.node_id)


class RemoveNodeCommand(EditCommand):
    def __init__(self, doc: Document, node_id: str, parent: EditCommand | None = None):
        super().__init__(doc, f"Delete {doc.spec.label(node_id)}", parent)
        self.node_id = node_id
        self.removed = None

    def apply(self) -> None:
        self.removed = self.doc.remove_node(self.node_id)

    def revert(self) -> None:
        self.doc.restore_node(*self.removed)


class ConnectNodesCommand(EditCommand):
    def __init__(self, doc: Document, src: str, dst: str, index: int | None = None,
                 parent: EditCommand | None = None, labels: tuple[str, str] | None = None):
        a, b = labels or (doc.spec.label(src), doc.spec.label(dst))
        super().__init__(doc, f"Connect {a} to {b}", parent)
        self.src, self.dst, self.index = src, dst, index

    def apply(self) -> None:
        self.doc.connect(self.src, self.dst, self.index)

    def revert(self) -> None:
        self.doc.disconnect(self.src, self.dst)


class DisconnectNodesCommand(EditCommand):
    def __init__(self, doc: Document, src: str, dst: str, parent: EditCommand | None = None):
        super().__init__(doc, f"Disconnect {doc.spec.label(src)} from {doc.spec.label(dst)}",
                         parent)
        self.src, self.dst = src, dst
        self.position = 0

    def apply(self) -> None:
        self.position = self.doc.spec.edges.index((self.src, self.dst))
        self.doc.disconnect(self.src, self.dst)

    def revert(self) -> None:
        self.doc.restore_edge(self.src, self.dst, self.position)


class RemoveItemsCommand(EditCommand):
    """Delete nodes (each with its edges) and edges, as one step."""

    def __init__(self, doc: Document, node_ids: Iterable[str],
                 edges: Iterable[tuple[str, str]] = (), verb: str = "Delete"):
        node_ids, edges = list(node_ids), list(edges)
        super().__init__(doc)
        for src, dst in edges:
            if src not in node_ids and dst not in node_ids:
                DisconnectNodesCommand(doc, src, dst, self)
        for node_id in node_ids:
            RemoveNodeCommand(doc, node_id, self)
        what = (doc.spec.label(node_ids[0]) if len(node_ids) == 1 and not edges else
                "connection" if len(edges) == 1 and not node_ids else
                f"{len(node_ids) + len(edges)} items")
        self.setText(f"{verb} {what}")


class MoveNodesCommand(EditCommand):
    """Move nodes: {id: (old position, new position)}; one step for a whole drag."""

    def __init__(self, doc: Document, moves: dict[str, tuple[Pos, Pos]], text: str = "",
                 parent: EditCommand | None = None):
        only = next(iter(moves)) if len(moves) == 1 else None
        super().__init__(doc, text or (f"Move {doc.spec.label(only)}" if only
                                       else f"Move {len(moves)} layers"), parent)
        self.moves = dict(moves)

    def apply(self) -> None:
        for node_id, (_, new) in self.moves.items():
            self.doc.move_node(node_id, new)

    def revert(self) -> None:
        for node_id, (old, _) in self.moves.items():
            self.doc.move_node(node_id, old)


class AutoLayoutCommand(MoveNodesCommand):
    def __init__(self, doc: Document):
        from engine import layered_positions
        target = layered_positions(doc.spec)
        super().__init__(doc, {n: (doc.position(n), p) for n, p in target.items()
                               if doc.position(n) != p}, "Auto Layout")


class SetParamCommand(EditCommand):
    """Set one parameter. Raises ValueError with the schema's message for an invalid value.
    Quick successive changes of the same parameter (spin box arrows) merge into one step."""
    MERGE_SECONDS = 1.5

    def __init__(self, doc: Document, node_id: str, name: str, value):
        node = doc.spec.node(node_id)
        param = engine.LAYERS[node.kind].param(name)
        self.new = param.validate(value)
        self.old = node.params[name]
        super().__init__(doc, f"Set {doc.spec.label(node_id)} {name}")
        self.node_id, self.name = node_id, name
        self.stamp = time.monotonic()

    def apply(self) -> None:
        self.doc.set_param(self.node_id, self.name, self.new)

    def revert(self) -> None:
        self.doc.set_param(self.node_id, self.name, self.old)

    def id(self) -> int:
        return 1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not (isinstance(other, SetParamCommand) and other.node_id == self.node_id
                and other.name == self.name
                and other.stamp - self.stamp < self.MERGE_SECONDS):
            return False
        self.new, self.stamp = other.new, other.stamp
        self.setObsolete(self.new == self.old)
        return True


class FixParamCommand(SetParamCommand):
    """A one-click repair that sets a parameter: one step of its own, never merged."""

    def __init__(self, doc: Document, fix: engine.Fix):
        super().__init__(doc, fix.node_id, fix.param, fix.value)
        self.setText(fix.title)

    def id(self) -> int:
        return -1


def fix_command(doc: Document, fix: engine.Fix) -> EditCommand:
    """The undo command for a repair the analysis offers (engine.Fix): set a parameter, or
    insert a node just before `fix.node_id`, in its place, with the nodes below moved down."""
    if not fix.insert:
        return FixParamCommand(doc, fix)
    src = doc.spec.inputs_of(fix.node_id)[0]
    cmd = insert_command(doc, fix.insert, None, doc.position(fix.node_id), (src, fix.node_id),
                         shift=True)
    cmd.setText(fix.title)
    return cmd


class PasteNodesCommand(EditCommand):
    """Add a fragment (nodes and the edges among them) with fresh ids, shifted by `offset`."""

    def __init__(self, doc: Document, fragment: engine.NetworkSpec, offset: Pos,
                 verb: str = "Paste"):
        super().__init__(doc)
        nodes = list(fragment.nodes.values())
        self.new_ids = fresh_ids(doc.spec, [n.kind for n in nodes])
        mapping = {n.id: new for n, new in zip(nodes, self.new_ids)}
        for n, new in zip(nodes, self.new_ids):
            x, y = n.position or (0.0, 0.0)
            AddNodeCommand(doc, n.kind, n.params, (x + offset[0], y + offset[1]), new, self)
        for src, dst in fragment.edges:
            ConnectNodesCommand(doc, mapping[src], mapping[dst], parent=self,
                                labels=(src, dst))
        self.setText(f"{verb} {len(nodes)} layer{'s' if len(nodes) != 1 else ''}")


def insert_command(doc: Document, kind: str, params: dict | None, position: Pos,
                   edge: tuple[str, str], shift: bool = False) -> EditCommand:
    """Put a new node into `edge` (src → new → dst), keeping dst's input order. With `shift`,
    the nodes downstream move down a row to make room."""
    src, dst = edge
    index = doc.spec.inputs_of(dst).index(src)
    cmd = EditCommand(doc)
    new_id = fresh_ids(doc.spec, [kind])[0]
    if shift:
        below = _downstream(doc.spec, dst)
        MoveNodesCommand(doc, {n: (doc.position(n), (doc.position(n)[0],
                                                     doc.position(n)[1] + DY)) for n in below},
                         parent=cmd)
    DisconnectNodesCommand(doc, src, dst, cmd)
    AddNodeCommand(doc, kind, params, position, new_id, cmd)
    label = _label(new_id, kind)
    ConnectNodesCommand(doc, src, new_id, parent=cmd, labels=(doc.spec.label(src), label))
    ConnectNodesCommand(doc, new_id, dst, index, parent=cmd, labels=(label, doc.spec.label(dst)))
    cmd.setText(f"Insert {label}")
    cmd.node_id = new_id
    return cmd


def append_command(doc: Document, kind: str, after: str) -> EditCommand:
    """Add `kind` after node `after`, connected: into its first outgoing edge if it has one."""
    x, y = doc.position(after)
    outs = doc.spec.outputs_of(after)
    if outs and engine.LAYERS[kind].max_inputs != 0:
        return insert_command(doc, kind, None, (x, y + DY), (after, outs[0]), shift=True)
    cmd = EditCommand(doc)
    add = AddNodeCommand(doc, kind, None, (x, y + DY), parent=cmd)
    cmd.setText(add.text())
    cmd.node_id = add.node_id
    if engine.LAYERS[kind].max_inputs != 0:
        ConnectNodesCommand(doc, after, add.node_id, parent=cmd,
                            labels=(doc.spec.label(after), _label(add.node_id, kind)))
    return cmd


def _downstream(spec: engine.NetworkSpec, start: str) -> list[str]:
    seen, todo = [], [start]
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.append(n)
            todo.extend(spec.outputs_of(n))
    return seen
