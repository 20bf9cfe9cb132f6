"""Automatic top-to-bottom layout of a network: plain data in, positions out (no Qt).

Each node goes on the row of its longest path from a source (so data flows downwards); within a
row, nodes are ordered by the mean column of what feeds them, which keeps chains straight and
crossings few. Positions are node centres, rows `dy` apart and columns `dx` apart, centred on x=0.
Nodes caught in a cycle (a half-wired network) are placed on rows after the rest.
"""
from __future__ import annotations

from collections import defaultdict, deque

from engine.network.spec import NetworkSpec

DX = 220.0
DY = 100.0


def layered_positions(spec: NetworkSpec, dx: float = DX, dy: float = DY,
                      origin: tuple[float, float] = (0.0, 0.0)) -> dict[str, tuple[float, float]]:
    """{node id: (x, y)} for every node of `spec`."""
    rows = _rows(spec)
    preds: dict[str, list[str]] = defaultdict(list)
    for s, d in spec.edges:
        preds[d].append(s)
    column: dict[str, float] = {}
    out: dict[str, tuple[float, float]] = {}
    for r, row in enumerate(rows):
        order = {n: i for i, n in enumerate(row)}

        def key(n: str) -> tuple[float, int]:
            cols = [column[p] for p in preds[n] if p in column]
            return (sum(cols) / len(cols) if cols else 0.0, order[n])

        row = sorted(row, key=key)
        for i, n in enumerate(row):
            column[n] = i - (len(row) - 1) / 2
            out[n] = (origin[0] + column[n] * dx, origin[1] + r * dy)
    return out


def _rows(spec: NetworkSpec) -> list[list[str]]:
    """Nodes grouped by longest-path depth, in insertion order within a depth."""
    succs: dict[str, list[str]] = defaultdict(list)
    indeg = {n: 0 for n in spec.nodes}
    for s, d in spec.edges:
        succs[s].append(d)
        indeg[d] += 1
    depth = {n: 0 for n in spec.nodes}
    ready = deque(n for n in spec.nodes if indeg[n] == 0)
    done = []
    while ready:
        n = ready.popleft()
        done.append(n)
        for m in succs[n]:
            depth[m] = max(depth[m], depth[n] + 1)
            indeg[m] -= 1
            if indeg[m] == 0:
                ready.append(m)
    last = max((depth[n] for n in done), default=-1)
    placed = set(done)
    for n in spec.nodes:           # nodes in cycles: one row each, after the rest
        if n not in placed:
            last += 1
            depth[n] = last
    rows: dict[int, list[str]] = defaultdict(list)
    for n in spec.nodes:
        rows[depth[n]].append(n)
    return [rows[r] for r in sorted(rows)]
