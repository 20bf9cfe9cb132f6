"""NetworkSpec: the network document as plain data (nodes, ordered edges, parameters, positions).

It is the one source of truth: the canvas draws it, the inspector edits it, `build()` turns it into
a module and `files.py` stores it. Editing methods validate what they are given and raise
`SpecError` with a sentence naming the node; whole-graph problems (cycles, shapes, dangling
branches) are reported by `analyze()`, so a half-built network can still be held and saved.
"""
from __future__ import annotations

import copy
import difflib
import numbers
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from engine.errors import SpecError
from engine.network.catalogue import LAYERS, LayerKind, resolve_kind
from engine.network.edges import Edges
from engine.network.schema import shown

ID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}\Z")    # \Z: no trailing newline
MAX_COORD = 1e7     # canvas positions lie within ±MAX_COORD (a 10,000-layer row spans 2.2e6)


def valid_id(node_id) -> bool:
    return isinstance(node_id, str) and ID_PATTERN.fullmatch(node_id) is not None


def id_problem(node_id) -> str:
    return (f"id {shown(node_id)} must start with a letter and use only letters, digits, '_' "
            f"and '-' (at most 64)")


@dataclass
class Node:
    id: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    position: tuple[float, float] | None = None


def kind_of(name: str) -> LayerKind:
    """The catalogue entry for `name`, or a SpecError suggesting the closest kind."""
    kind = resolve_kind(name) if isinstance(name, str) else None
    if kind is None:
        close = (difflib.get_close_matches(name, list(LAYERS), n=1)
                 if isinstance(name, str) and len(name) <= 64 else [])
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise SpecError(f"unknown layer kind {shown(name)}{hint}; known kinds: "
                        f"{', '.join(LAYERS)}")
    return kind


def check_params(kind: LayerKind, params: dict | None, label: str) -> dict[str, Any]:
    """Defaults filled in and every value validated; all problems in one SpecError."""
    params = dict(params or {})
    problems = []
    known = {p.name for p in kind.params}
    for name in params:
        if name not in known:
            takes = ", ".join(sorted(known)) or "no parameters"
            problems.append(f"{label}: {kind.name} has no parameter {shown(name)} "
                            f"(it takes {takes})")
    out = {}
    for p in kind.params:
        try:
            out[p.name] = p.validate(params.get(p.name, p.default))
        except ValueError as exc:
            problems.append(f"{label}: {exc}")
    if problems:
        raise SpecError("; ".join(problems), problems=[(None, m) for m in problems])
    return out


def default_label(node_id: str, kind: str) -> str:
    """'linear_2' of kind Linear reads 'Linear 2'; other ids read as themselves."""
    prefix, _, number = node_id.rpartition("_")
    if number.isdigit() and prefix.lower() == kind.lower():
        return f"{kind} {number}"
    return node_id


class NetworkSpec:
    """Nodes {id: Node} in insertion order and directed edges (src, dst) in input order."""

    def __init__(self, name: str = "", description: str = ""):
        self.name = name
        self.description = description
        self.nodes: dict[str, Node] = {}
        self.edges: list[tuple[str, str]] = []
        self._next: dict[str, int] = {}      # per kind, the smallest number that may be free

    @property
    def edges(self) -> Edges:
        """The edges (src, dst) in input order: a list, indexed for lookups (Edges)."""
        return self._edges

    @edges.setter
    def edges(self, value) -> None:
        self._edges = value if isinstance(value, Edges) else Edges(value)

    # ------------------------------------------------------------------ construction
    @classmethod
    def sequential(cls, input_shape: Iterable[int], layers: Iterable[tuple[str, dict]],
                   name: str = "", description: str = "") -> "NetworkSpec":
        """A chain: Input(input_shape) followed by each (kind, params) in order."""
        spec = cls(name, description)
        prev = spec.add("Input", {"shape": list(input_shape)})
        for kind, params in layers:
            node = spec.add(kind, params)
            spec.connect(prev, node)
            prev = node
        return spec

    def new_id(self, kind: str) -> str:
        """'linear_3': the kind with the smallest number not in use (numbers below the last
        one given are only reused after `remove`)."""
        base = kind.lower()
        hints = self.__dict__.setdefault("_next", {})
        n = hints.get(base, 1)
        while f"{base}_{n}" in self.nodes:
            n += 1
        hints[base] = n
        return f"{base}_{n}"

    def add(self, kind: str, params: dict | None = None,
            position: tuple[float, float] | None = None, node_id: str | None = None) -> str:
        """Add a node; returns its id. Parameters are validated and defaults filled in."""
        entry = kind_of(kind)
        if node_id is None:
            node_id = self.new_id(entry.name)
        elif not valid_id(node_id):
            raise SpecError(f"node {id_problem(node_id)}")
        elif node_id in self.nodes:
            raise SpecError(f"a node called {node_id!r} already exists", node_id)
        label = default_label(node_id, entry.name)
        self.nodes[node_id] = Node(node_id, entry.name, check_params(entry, params, label),
                                   _position(position))
        return node_id

    # ------------------------------------------------------------------ queries
    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except (KeyError, TypeError):       # TypeError: not an id at all (a list, a dict)
            raise SpecError(f"there is no node called {shown(node_id)}",
                            node_id if valid_id(node_id) else None) from None

    def label(self, node_id: str) -> str:
        node = self.nodes.get(node_id)
        return default_label(node_id, node.kind) if node else node_id

    def inputs_of(self, node_id: str) -> list[str]:
        return self.edges.inputs(node_id)

    def outputs_of(self, node_id: str) -> list[str]:
        return self.edges.outputs(node_id)

    def input_ids(self) -> list[str]:
        return [n.id for n in self.nodes.values() if n.kind == "Input"]

    def reaches(self, start: str, goal: str) -> bool:
        """True if a directed path leads from start to goal."""
        seen, todo = set(), [start]
        while todo:
            cur = todo.pop()
            if cur == goal:
                return True
            if cur not in seen:
                seen.add(cur)
                todo.extend(self.outputs_of(cur))
        return False

    def connection_problem(self, src: str, dst: str) -> str | None:
        """Why src → dst cannot be connected, or None if it can."""
        for nid in (src, dst):
            if not isinstance(nid, str) or nid not in self.nodes:
                return f"there is no node called {shown(nid)}"
        kind = LAYERS[self.nodes[dst].kind]
        if src == dst:
            return f"{self.label(src)} cannot feed itself"
        if (src, dst) in self.edges:
            return f"{self.label(src)} is already connected to {self.label(dst)}"
        if kind.max_inputs == 0:
            return f"{self.label(dst)} is the network's input and takes no incoming connection"
        if self.reaches(dst, src):                 # labels only for a message: this runs per edge
            a, b = self.label(src), self.label(dst)
            return f"connecting {a} to {b} would make a cycle ({b} already leads to {a})"
        if kind.max_inputs is not None and len(self.inputs_of(dst)) >= kind.max_inputs:
            return (f"{self.label(dst)} already has its input "
                    f"({self.label(self.inputs_of(dst)[0])}); a {kind.name} takes one input: "
                    f"use Add or Concat to merge branches")
        return None

    # ------------------------------------------------------------------ edits
    def connect(self, src: str, dst: str, index: int | None = None) -> None:
        """Add edge src → dst; `index` places it among dst's ordered inputs (default last)."""
        problem = self.connection_problem(src, dst)
        if problem:
            raise SpecError(problem, dst)
        if index is None:
            self.edges.append((src, dst))
            return
        positions = [i for i, (_, d) in enumerate(self.edges) if d == dst]
        at = positions[index] if index < len(positions) else len(self.edges)
        self.edges.insert(at, (src, dst))

    def disconnect(self, src: str, dst: str) -> int:
        """Remove edge src → dst; returns the index it had among dst's inputs (for undo)."""
        if (src, dst) not in self.edges:
            raise SpecError(f"{self.label(src)} is not connected to {self.label(dst)}", dst)
        index = self.inputs_of(dst).index(src)
        self.edges.remove((src, dst))
        return index

    def remove(self, node_id: str) -> tuple[Node, list[tuple[int, tuple[str, str]]]]:
        """Remove a node and its edges; returns them (with their positions) for undo."""
        node = self.node(node_id)
        removed = [(i, e) for i, e in enumerate(self.edges) if node_id in e]
        self.edges = [e for e in self.edges if node_id not in e]
        del self.nodes[node_id]
        base, _, number = node_id.rpartition("_")
        hints = self.__dict__.setdefault("_next", {})
        if number.isdigit() and base in hints:
            hints[base] = min(hints[base], int(number))    # its number may be given again
        return node, removed

    def restore(self, node: Node, edges: list[tuple[int, tuple[str, str]]]) -> None:
        """Undo `remove`: put the node and its edges back exactly where they were."""
        self.nodes[node.id] = node
        for i, edge in edges:
            self.edges.insert(i, edge)

    def set_param(self, node_id: str, name: str, value: Any) -> Any:
        """Validate and set one parameter; returns the normalised value."""
        node = self.node(node_id)
        kind = LAYERS[node.kind]
        try:
            param = kind.param(name)
        except KeyError:
            takes = ", ".join(p.name for p in kind.params) or "no parameters"
            raise SpecError(f"{self.label(node_id)}: {kind.name} has no parameter "
                            f"{shown(name)} (it takes {takes})", node_id) from None
        try:
            node.params[name] = param.validate(value)
        except ValueError as exc:
            raise SpecError(f"{self.label(node_id)}: {exc}", node_id) from None
        return node.params[name]

    def move(self, node_id: str, position: tuple[float, float] | None) -> None:
        self.node(node_id).position = _position(position)

    def copy(self) -> "NetworkSpec":
        return copy.deepcopy(self)

    # ------------------------------------------------------------------ plain data
    def to_dict(self) -> dict:
        nodes = []
        for n in self.nodes.values():
            kind = LAYERS[n.kind]
            params = {p.name: p.to_json(n.params[p.name]) for p in kind.params
                      if p.name in n.params}
            entry = {"id": n.id, "kind": n.kind, "params": params}
            if n.position is not None:
                entry["position"] = [n.position[0], n.position[1]]
            nodes.append(entry)
        return {"name": self.name, "description": self.description, "nodes": nodes,
                "edges": [[s, d] for s, d in self.edges]}

    @classmethod
    def from_dict(cls, data: Any) -> "NetworkSpec":
        """Parse plain data; every problem found is listed in one SpecError."""
        from engine.network.parse import parse_spec
        return parse_spec(cls, data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NetworkSpec) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"NetworkSpec({self.name!r}, {len(self.nodes)} nodes, {len(self.edges)} edges)"


def _position(position) -> tuple[float, float] | None:
    if position is None:
        return None
    problem = position_problem(position)
    if problem:
        raise SpecError(f"a position {problem}")
    return (float(position[0]), float(position[1]))


def position_problem(position) -> str:
    """Why `position` is not a canvas position, as "must be ..."; "" when it is one (two
    finite numbers within ±MAX_COORD)."""
    ok = (isinstance(position, (list, tuple)) and len(position) == 2
          and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in position)
          and all(abs(v) <= MAX_COORD for v in position))      # False for NaN and inf
    return "" if ok else (f"must be two numbers [x, y] from -{MAX_COORD:,.0f} to "
                          f"{MAX_COORD:,.0f}; got {shown(position)}")
