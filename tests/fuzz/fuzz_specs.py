"""Generated network.json documents: kinds from the catalogue (and some that are not), each
parameter valid, extreme or of a wrong type, a chain of edges plus random and broken ones,
hostile ids, names, descriptions and positions."""
from __future__ import annotations

import functools

from hypothesis import strategies as st

import engine
from fuzz_json import SPECIAL_STRINGS, dump, json_values
from fuzz_shaped import shaped_networks

KINDS = sorted(engine.LAYERS)
BAD_IDS = ["", "1abc", "a" * 65, "in put", "a.b", "é", "\x00", 5, None, ["a"], {"id": "a"}]
EXTREME_INTS = [0, -1, 1, 2, 3, 10 ** 6, 2 ** 31, 10 ** 12, 2 ** 63, -(2 ** 63), 10 ** 30]


@functools.lru_cache(maxsize=None)
def valid_value(p):
    """A value `p` accepts (or nearly: ranges are clipped small so networks stay tiny)."""
    lo = int(p.min) if p.min is not None else -3
    hi = min(int(p.max), 8) if p.max is not None else 8
    small = st.integers(max(lo, -3), max(min(hi, 8), max(lo, -3)))
    if p.type == "int":
        return small
    if p.type == "float":
        low = p.min if p.min is not None else -2.0
        high = p.max if p.max is not None else 2.0
        return st.floats(low, min(high, low + 4.0), exclude_min=p.above)
    if p.type == "bool":
        return st.booleans()
    if p.type == "choice":
        return st.sampled_from(p.choices)
    if p.type == "size2":
        dim = st.integers(max(lo, 0), 4)
        return st.one_of(dim, st.lists(dim, min_size=2, max_size=2))
    if p.type == "shape":
        return st.lists(st.integers(1, 9), min_size=1, max_size=4)
    if p.type == "device":
        return st.sampled_from(["auto", "cpu", "cuda", "cuda:1", "mps"])
    return st.text(max_size=10)


@functools.lru_cache(maxsize=None)
def param_value(p, hostile: bool):
    if not hostile:
        return valid_value(p)
    return st.one_of(valid_value(p), valid_value(p), valid_value(p),
                     st.sampled_from(EXTREME_INTS), json_values(),
                     st.lists(st.sampled_from(EXTREME_INTS), min_size=0, max_size=5))


@st.composite
def params_of(draw, kind: str, hostile: bool) -> dict:
    params = {}
    for p in engine.LAYERS[kind].params if kind in engine.LAYERS else ():
        if draw(st.integers(0, 3)):
            params[p.name] = draw(param_value(p, hostile))
    if hostile and draw(st.integers(0, 9)) == 0:
        params[draw(st.sampled_from(["in_features", "weight", "", "x"]))] = draw(json_values())
    return params


@st.composite
def node(draw, i: int, kind: str, hostile: bool):
    if hostile and draw(st.integers(0, 15)) == 0:
        return draw(json_values())                       # not an object at all
    bad_id = hostile and draw(st.integers(0, 15)) == 0
    raw = {"id": draw(st.sampled_from(BAD_IDS)) if bad_id else f"n{i}", "kind": kind,
           "params": draw(params_of(kind, hostile))}
    if hostile and draw(st.integers(0, 9)) == 0:
        raw["params"] = draw(json_values())
    if draw(st.booleans()):
        raw["position"] = draw(st.one_of(
            st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=2),
            json_values() if hostile else st.just([0, 0])))
    return raw


@st.composite
def network_dicts(draw, max_nodes: int = 8) -> dict:
    """Half of them valid but for what the shapes make of them, half hostile."""
    hostile = draw(st.booleans())
    n = draw(st.integers(1, max_nodes))
    others = KINDS + ["Bogus", "", "Input"] if hostile else [k for k in KINDS if k != "Input"]
    kinds = ["Input"] + [draw(st.sampled_from(others)) for _ in range(n - 1)]
    nodes = [draw(node(i, k, hostile)) for i, k in enumerate(kinds)]
    ids = [f"n{i}" for i in range(n)]
    edges = [[ids[i], ids[i + 1]] for i in range(n - 1)
             if not hostile or draw(st.integers(0, 7))]
    pair = st.lists(st.sampled_from(ids + ["ghost"] if hostile else ids), min_size=2,
                    max_size=2)
    extra = st.one_of(pair, pair, json_values()) if hostile else pair
    edges += draw(st.lists(extra, max_size=3 if hostile else 1, unique_by=str))
    text = st.one_of(st.text(max_size=20), st.sampled_from(SPECIAL_STRINGS))
    doc = {"format": "layerwise-network", "format_version": 1, "name": draw(text),
           "description": draw(text), "nodes": nodes, "edges": draw(st.permutations(edges))}
    if hostile:
        for key in draw(st.lists(st.sampled_from(list(doc)), max_size=2, unique=True)):
            doc[key] = draw(json_values())               # a field of a wrong type
    return doc


def network_texts(max_nodes: int = 8):
    """network.json text, written with hostile tokens as they are: a generated document (half
    hostile), or a network that follows the shape rules (fuzz_shaped) as often."""
    return st.one_of(network_dicts(max_nodes), shaped_networks()).map(dump)
