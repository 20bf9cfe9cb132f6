"""The ordered edges of a network: a list of (source, target) that also answers "the inputs of
this node", "its outputs" and "is this an edge" without scanning the whole list.

The index is built on the first question and kept up to date by `append` (how documents are
built and parsed, one edge after another); any other change to the list drops it, and the next
question rebuilds it once. So building or parsing a network of n edges costs O(n), not O(n²).
"""
from __future__ import annotations

from collections import defaultdict

_CHANGES = ("insert", "remove", "pop", "clear", "extend", "sort", "reverse", "__setitem__",
            "__delitem__", "__iadd__", "__imul__")


class Edges(list):
    """list[tuple[str, str]] with an index of each node's inputs and outputs (in edge order)."""

    def __init__(self, items=()):
        super().__init__(tuple(e) for e in items)
        self._index = None

    def __reduce__(self):               # copies and deep copies rebuild the index afresh
        return (Edges, (list(self),))

    def _built(self):
        if self._index is None:
            ins, outs = defaultdict(list), defaultdict(list)
            for src, dst in self:
                outs[src].append(dst)
                ins[dst].append(src)
            self._index = (ins, outs, {tuple(e) for e in self})
        return self._index

    def append(self, edge) -> None:
        edge = tuple(edge)
        super().append(edge)
        if self._index is not None:
            ins, outs, present = self._index
            ins[edge[1]].append(edge[0])
            outs[edge[0]].append(edge[1])
            present.add(edge)

    def inputs(self, node: str) -> list[str]:
        return list(self._built()[0].get(node, ()))

    def outputs(self, node: str) -> list[str]:
        return list(self._built()[1].get(node, ()))

    def __contains__(self, edge) -> bool:
        if not isinstance(edge, (tuple, list)) or len(edge) != 2:
            return False
        try:
            return tuple(edge) in self._built()[2]
        except TypeError:                # not a pair of hashable ids: never an edge
            return False


def _dropping_index(name: str):
    change = getattr(list, name)

    def method(self, *args, **kwargs):
        self._index = None
        return change(self, *args, **kwargs)
    method.__name__ = name
    return method


for _name in _CHANGES:
    setattr(Edges, _name, _dropping_index(_name))
