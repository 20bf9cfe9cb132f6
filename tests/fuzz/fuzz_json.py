"""Hostile JSON: values nobody expects (deep nesting, huge and non-finite numbers, lone
surrogates, control characters, long strings, wrong types) and structured mutations of a
parsed document at a random path. `dump` writes JSON text, including tokens Python's json
module reads but never writes itself (NaN, 1e999, 5,000-digit integers)."""
from __future__ import annotations

import copy
import functools
import json
import math
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st


@dataclass(frozen=True)
class Raw:
    """A piece of JSON text written as is (a token or a whole value)."""
    text: str


def _deep(n: int, kind: str) -> Raw:
    if kind == "list":
        return Raw("[" * n + "]" * n)
    return Raw('{"a": ' * n + "1" + "}" * n)


def _many(n: int, item: str) -> Raw:
    return Raw("[" + ",".join([item] * n) + "]")


RAW_TOKENS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1e-999", "-0", "0.0",
              "18446744073709551616", "-9223372036854775809", "1" + "0" * 4400, "1e308",
              "4.9e-324", "2147483648", "1000000000000", "0.1e1", "1E2"]
SPECIAL_STRINGS = ["", " ", "\x00", "\ud800", "\udfff", "\x1b[31mred\x1b[0m", "\x07\x08\r",
                   '"""', "'''", "\\", "C:\\Nets\\new", "\\x00", "a\nb\nc", "\u202e\u2066",
                   "é" * 300, "x" * 70_000, "nan", "NaN", "inf", "-1", "1e999", "None",
                   "null", "true", "../../etc/passwd", "/dev/null", "%s%n{0}", "${HOME}",
                   "__import__('os').system('true')", "\ufeff", "日本語", "💥" * 50]
STRUCTURES = [_deep(5000, "list"), _deep(3000, "dict"), _deep(60, "list"),
              _many(100_000, "{}"), _many(50_000, "0"), _many(20_000, "null"),
              _many(10_000, '"x"'), Raw("[" + ",".join(f'"{i}"' for i in range(5000)) + "]"),
              Raw("{" + ",".join(f'"k{i}": {i}' for i in range(20_000)) + "}"),
              Raw('{"a": 1, "a": [2], "a": {"b": 3}}')]

leaves = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(SPECIAL_STRINGS),
    st.builds(Raw, st.sampled_from(RAW_TOKENS)),
)


@functools.lru_cache(maxsize=64)
def _json_values(keys: tuple[str, ...]):
    key = st.one_of(st.text(max_size=8), st.sampled_from(keys),
                    st.sampled_from(SPECIAL_STRINGS[:12]))
    tree = st.recursive(leaves, lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(key, kids, max_size=4)), max_leaves=12)
    return st.one_of(tree, st.sampled_from(STRUCTURES))


def json_values(keys=None):
    """Any JSON value, hostile leaves included; dict keys are often real field names."""
    return _json_values(tuple(keys or ["x"]))


def dump(value: Any) -> str:
    """JSON text of `value`, Raw parts written as they are, non-finite floats as tokens."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(dump(v) for v in value) + "]"
    return json.dumps(value)


# ----------------------------------------------------------------------------- mutation

def paths(doc: Any, limit: int = 4000) -> list[tuple]:
    """Every path into `doc` (root first), breadth first, at most `limit` of them."""
    found, queue = [], [((), doc)]
    while queue and len(found) < limit:
        path, value = queue.pop(0)
        found.append(path)
        if isinstance(value, dict):
            queue += [(path + (k,), v) for k, v in value.items()]
        elif isinstance(value, list):
            queue += [(path + (i,), v) for i, v in enumerate(value)]
    return found


def keys_of(doc: Any) -> list[str]:
    """Every dict key in `doc` (to make generated objects look like the real ones)."""
    keys: set[str] = set()
    for path in paths(doc):
        keys.update(k for k in path if isinstance(k, str))
    return sorted(keys) or ["x"]


def _get(doc, path):
    for k in path:
        doc = doc[k]
    return doc


def _set(doc, path, value):
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


EXTREME_INTS = [0, -1, 1, 2, 2 ** 31, 2 ** 53 + 1, 2 ** 63, 10 ** 18, -(10 ** 18), 10 ** 30]
EXTREME_FLOATS = [0.0, -0.0, 1e-300, 5e-324, 1e308, -1e308, 3.5e38, 0.5, -2.5, 1e6]
SAME_KIND = {
    bool: st.booleans(),
    int: st.one_of(st.sampled_from(EXTREME_INTS), st.integers(-10, 10 ** 6)),
    float: st.one_of(st.sampled_from(EXTREME_FLOATS), st.floats(allow_nan=False),
                     st.builds(Raw, st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999"]))),
    str: st.one_of(st.sampled_from(SPECIAL_STRINGS), st.text(max_size=12)),
    list: st.sampled_from([[], [None], [[]], [{}], [0] * 1000]),
    dict: st.sampled_from([{}, {"": None}]),
    type(None): st.sampled_from([0, "", [], {}, False]),
}


def same_kind(value: Any):
    """Values of the JSON type of `value`, extreme ones first: the mutations a reader that
    checks only types lets through."""
    return SAME_KIND.get(type(value), leaves)


def mutate_once(doc: Any, path: tuple, op: str, value: Any, count: int) -> Any:
    """`doc` (changed in place where it can be) after one operation at `path`."""
    target = _get(doc, path)
    if op == "replace":
        return _set(doc, path, value)
    if op == "delete" and path:
        parent = _get(doc, path[:-1])
        del parent[path[-1]]
        return doc
    if op == "add" and isinstance(target, dict):
        target[f"k{count}" if count % 2 else "status"] = value
        return doc
    if op == "add" and isinstance(target, list):
        target.insert(count % (len(target) + 1), value)
        return doc
    if op == "repeat" and isinstance(target, list) and target:
        target.extend([target[-1]] * (count * 20))
        return doc
    if op == "wrap":
        return _set(doc, path, [target] if count % 2 else {"value": target})
    return _set(doc, path, value)


MAX_TEXT = 8 << 20      # a mutated member stays below this (the readers' limits are larger)


def text_size(value: Any, memo: dict | None = None) -> int:
    """About how long dump(value) is, counting each shared part once per use (fast on the
    repeated lists that "repeat" makes)."""
    memo = {} if memo is None else memo
    if id(value) in memo:
        return memo[id(value)]
    if isinstance(value, Raw):
        size = len(value.text)
    elif isinstance(value, dict):
        size = 2 + sum(len(str(k)) + 4 + text_size(v, memo) for k, v in value.items())
    elif isinstance(value, list):
        size = 2 + sum(2 + text_size(v, memo) for v in value)
    else:
        size = len(repr(value))
    if isinstance(value, (dict, list, Raw)):
        memo[id(value)] = size
    return size


@st.composite
def mutated_json(draw, doc: Any, keys: list[str]) -> str:
    """JSON text of `doc` after one to three structured mutations at random paths (a mutation
    that would make it longer than MAX_TEXT is left out)."""
    doc = json.loads(json.dumps(doc))           # a private copy
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["same", "same", "same", "replace", "replace", "delete",
                                   "add", "repeat", "wrap"]))
        where = paths(doc)
        leaves = [p for p in where if not isinstance(_get(doc, p), (dict, list))]
        path = draw(st.sampled_from(leaves if op == "same" and leaves else where))
        value = copy.deepcopy(draw(same_kind(_get(doc, path)) if op == "same"
                                   else json_values(keys)))    # never change a constant
        before = copy.deepcopy(doc)
        doc = mutate_once(doc, path, op, value, draw(st.integers(0, 100)))
        if text_size(doc) > MAX_TEXT:
            doc = before
        if isinstance(doc, Raw):
            break
    return dump(doc)
