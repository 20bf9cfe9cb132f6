"""Reading a NetworkSpec from untrusted plain data, collecting every problem before giving up.

Whatever the data (any JSON value anywhere), the result is a NetworkSpec or one SpecError. Its
message lists at most MAX_LISTED distinct problems and counts the rest ("and 9,990 more
problems"); each quotes at most a few dozen characters of what it was given. The work is linear
in the size of the data. Names and descriptions keep any character that UTF-8 can write (a lone
surrogate, which it cannot, becomes U+FFFD), so that whatever was read can be saved again.
"""
from __future__ import annotations

import re
from typing import Any

from engine.errors import SpecError
from engine.network.schema import shown
from engine.network.spec import (Node, check_params, default_label, id_problem, kind_of,
                                 position_problem, valid_id)

MAX_NODES = 10_000
MAX_EDGES = 20 * MAX_NODES
MAX_TEXT = 10_000           # a longer name or description is cut to this many characters
MAX_LISTED = 20             # problems listed in a SpecError's message; the rest are counted
_SEEN = 100_000             # distinct problems remembered for de-duplication
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Problems:
    """The problems found, in order, each once; the first MAX_LISTED kept, the others counted."""

    def __init__(self):
        self.items: list[tuple[str | None, str]] = []
        self.more = 0
        self._seen: set[str] = set()

    def add(self, message: str, node_id: str | None = None) -> None:
        if message in self._seen:
            return
        if len(self._seen) < _SEEN:
            self._seen.add(message)
        if len(self.items) < MAX_LISTED:
            self.items.append((node_id, message))
        else:
            self.more += 1

    def raise_any(self) -> None:
        if not self.items:
            return
        problems = list(self.items)
        if self.more:
            problems.append((None, f"and {self.more:,} more problem{'s' * (self.more > 1)}"))
        raise SpecError("; ".join(m for _, m in problems), problems=problems)


def parse_spec(cls, data: Any):
    if not isinstance(data, dict):
        raise SpecError(f"a network must be a JSON object with 'nodes' and 'edges'; "
                        f"got {type(data).__name__}")
    problems = _Problems()
    spec = cls(_text(data, "name", problems), _text(data, "description", problems))
    raw_nodes = _listed(data, "nodes", MAX_NODES, "layers", problems)
    raw_edges = _listed(data, "edges", MAX_EDGES, "[source id, target id] pairs", problems)
    if raw_nodes is None or raw_edges is None:
        problems.raise_any()      # without the list of nodes, every edge would be blamed too
    named = {raw.get("id") for raw in raw_nodes
             if isinstance(raw, dict) and isinstance(raw.get("id"), str)}
    seen: set[str] = set()
    for i, raw in enumerate(raw_nodes):
        node = _parse_node(i, raw, seen, problems)
        if node is not None:
            spec.nodes[node.id] = node
    unknown: dict[str, list] = {}      # id -> [the first edge naming it, as text, how many]
    for i, raw in enumerate(raw_edges):
        edge = _parse_edge(i, raw, spec, named, unknown, problems)
        if edge is not None:
            spec.edges.append(edge)
    for node_id, (edge, count) in unknown.items():    # once, however many edges name it
        more = f" (and so do {count - 1:,} more edges)" if count > 1 else ""
        problems.add(f"{edge} refers to {shown(node_id, 40)}, which is not a node{more}")
    problems.raise_any()
    return spec


def _listed(data: dict, key: str, limit: int, what: str, problems: _Problems) -> list | None:
    """data[key], a list of at most `limit` items; None (and a problem) if it is not one."""
    raw = data.get(key, [] if key == "edges" else None)
    if not isinstance(raw, list):
        problems.add(f"'{key}' must be a list of {what}")
        return None
    if len(raw) > limit:
        problems.add(f"the network has {len(raw):,} {key}; a network has at most {limit:,}")
        return None
    return raw


def _text(data: dict, key: str, problems: _Problems) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        problems.add(f"'{key}' must be text; got {shown(value)}")
        return ""
    return _SURROGATE.sub("\ufffd", value[:MAX_TEXT])


def _parse_node(i: int, raw: Any, seen: set, problems: _Problems) -> Node | None:
    where = f"node {i + 1}"
    if not isinstance(raw, dict):
        problems.add(f"{where} must be an object with 'id', 'kind' and 'params'; "
                     f"got {shown(raw)}")
        return None
    node_id, kind_name = raw.get("id"), raw.get("kind")
    if not valid_id(node_id):
        problems.add(f"{where}: its {id_problem(node_id)}")
        return None
    if node_id in seen:
        problems.add(f"{where}: the id {node_id!r} is used twice", node_id)
        return None
    seen.add(node_id)
    try:
        kind = kind_of(kind_name)
    except SpecError as exc:
        problems.add(f"{where} ({node_id}): {exc}", node_id)
        return None
    params = raw.get("params", {})
    if not isinstance(params, dict):
        problems.add(f"{node_id}: 'params' must be an object; got {shown(params)}", node_id)
        return None
    try:
        params = check_params(kind, params, default_label(node_id, kind.name))
    except SpecError as exc:
        for _, message in exc.problems:
            problems.add(message, node_id)
        return None
    return Node(node_id, kind.name, params, _parse_position(node_id, raw, problems))


def _parse_position(node_id: str, raw: dict, problems: _Problems):
    pos = raw.get("position")
    if pos is None:
        return None
    problem = position_problem(pos)
    if problem:
        problems.add(f"{node_id}: 'position' {problem}", node_id)
        return None
    return (float(pos[0]), float(pos[1]))


def _parse_edge(i: int, raw: Any, spec, named: set, unknown: dict, problems: _Problems):
    """An edge, or None. Edges of nodes that were named but failed to parse pass silently;
    those naming no node are noted in `unknown`."""
    if not (isinstance(raw, list) and len(raw) == 2 and all(isinstance(v, str) for v in raw)):
        problems.add(f"edge {i + 1} must be a pair [source id, target id]; got {shown(raw)}")
        return None
    src, dst = raw
    missing = [n for n in (src, dst) if n not in spec.nodes]
    for m in missing:
        if m not in named:
            unknown.setdefault(m, [f"edge {i + 1} ({shown(src, 40)} → {shown(dst, 40)})", 0])
            unknown[m][1] += 1
    if missing:
        return None
    if (src, dst) in spec.edges:
        problems.add(f"edge {i + 1} ({src} → {dst}) appears twice", dst)
        return None
    return (src, dst)
