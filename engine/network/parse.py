"""Reading a NetworkSpec from untrusted plain data, collecting every problem before giving up."""
from __future__ import annotations

import math
from typing import Any

from engine.errors import SpecError
from engine.network.spec import ID_PATTERN, Node, check_params, default_label, kind_of

MAX_NODES = 10_000
MAX_TEXT = 10_000


class _Problems:
    def __init__(self):
        self.items: list[tuple[str | None, str]] = []

    def add(self, message: str, node_id: str | None = None) -> None:
        self.items.append((node_id, message))


def parse_spec(cls, data: Any):
    problems = _Problems()
    if not isinstance(data, dict):
        raise SpecError(f"a network must be a JSON object with 'nodes' and 'edges'; "
                        f"got {type(data).__name__}")
    spec = cls(_text(data, "name", problems), _text(data, "description", problems))
    raw_nodes = data.get("nodes")
    raw_edges = data.get("edges", [])
    if not isinstance(raw_nodes, list):
        problems.add("'nodes' must be a list of layers")
        raw_nodes = []
    elif len(raw_nodes) > MAX_NODES:
        problems.add(f"the network has {len(raw_nodes)} nodes; at most {MAX_NODES} are allowed")
        raw_nodes = []
    named = {raw.get("id") for raw in raw_nodes if isinstance(raw, dict)}
    seen: set[str] = set()
    for i, raw in enumerate(raw_nodes):
        node = _parse_node(i, raw, seen, problems)
        if node is not None:
            spec.nodes[node.id] = node
    if not isinstance(raw_edges, list):
        problems.add("'edges' must be a list of [source id, target id] pairs")
        raw_edges = []
    for i, raw in enumerate(raw_edges):
        edge = _parse_edge(i, raw, spec, named, problems)
        if edge is not None:
            spec.edges.append(edge)
    if problems.items:
        messages = [m for _, m in problems.items]
        raise SpecError("; ".join(messages), problems=problems.items)
    return spec


def _text(data: dict, key: str, problems: _Problems) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        problems.add(f"'{key}' must be text")
        return ""
    return value[:MAX_TEXT]


def _parse_node(i: int, raw: Any, seen: set, problems: _Problems) -> Node | None:
    where = f"node {i + 1}"
    if not isinstance(raw, dict):
        problems.add(f"{where} must be an object with 'id', 'kind' and 'params'")
        return None
    node_id, kind_name = raw.get("id"), raw.get("kind")
    if not isinstance(node_id, str) or not ID_PATTERN.match(node_id):
        problems.add(f"{where} has id {node_id!r}; an id starts with a letter and uses only "
                     f"letters, digits, '_' and '-' (at most 64)")
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
        problems.add(f"{node_id}: 'params' must be an object", node_id)
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
    if (isinstance(pos, list) and len(pos) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                    for v in pos)):
        return (float(pos[0]), float(pos[1]))
    problems.add(f"{node_id}: 'position' must be two numbers [x, y]; got {pos!r}", node_id)
    return None


def _parse_edge(i: int, raw: Any, spec, named: set, problems: _Problems):
    """An edge, or None. Edges of nodes that were named but failed to parse pass silently."""
    if not (isinstance(raw, list) and len(raw) == 2 and all(isinstance(v, str) for v in raw)):
        problems.add(f"edge {i + 1} must be a pair [source id, target id]; got {raw!r}")
        return None
    src, dst = raw
    missing = [n for n in (src, dst) if n not in spec.nodes]
    if missing and all(m in named for m in missing):
        return None
    if missing:
        problems.add(f"edge {i + 1} ({src} → {dst}) refers to "
                     f"{' and '.join(repr(m) for m in missing)}, which is not a node")
        return None
    if (src, dst) in spec.edges:
        problems.add(f"edge {i + 1} ({src} → {dst}) appears twice", dst)
        return None
    return (src, dst)
