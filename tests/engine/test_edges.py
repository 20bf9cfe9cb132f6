"""The indexed edge list: every way of changing it keeps inputs, outputs and membership right,
copies are independent, and ids are given as before (the smallest free number, reused after a
remove)."""
import copy

import engine
from engine.network.edges import Edges


def answers(edges: Edges, nodes=("a", "b", "c", "d")) -> tuple:
    return ({n: edges.inputs(n) for n in nodes}, {n: edges.outputs(n) for n in nodes},
            {(s, d) for s in nodes for d in nodes if (s, d) in edges})


def scanned(edges: list, nodes=("a", "b", "c", "d")) -> tuple:
    return ({n: [s for s, d in edges if d == n] for n in nodes},
            {n: [d for s, d in edges if s == n] for n in nodes}, {tuple(e) for e in edges})


def test_every_change_keeps_the_index_equal_to_a_scan():
    edges = Edges([("a", "b")])
    changes = [lambda e: e.append(("b", "c")), lambda e: e.append(["a", "c"]),
               lambda e: e.insert(0, ("c", "d")), lambda e: e.remove(("a", "b")),
               lambda e: e.extend([("a", "d"), ["b", "d"]]), lambda e: e.pop(),
               lambda e: e.__setitem__(0, ("d", "a")), lambda e: e.__delitem__(slice(0, 1)),
               lambda e: e.sort(), lambda e: e.reverse(), lambda e: e.clear(),
               lambda e: e.append(("a", "b"))]
    for change in changes:
        answers(edges)                          # build the index, then change the list
        change(edges)
        assert answers(edges) == scanned(edges)
    edges += [("b", "a")]
    assert answers(edges) == scanned(edges) and isinstance(edges, Edges)


def test_inputs_keep_their_order_and_lookups_of_odd_values_are_false():
    edges = Edges([("b", "c"), ("a", "c")])
    assert edges.inputs("c") == ["b", "a"]
    edges.insert(0, ("d", "c"))
    assert edges.inputs("c") == ["d", "b", "a"]
    assert ["b", "c"] in edges and [["x"], "c"] not in edges and "bc" not in edges


def test_copies_are_independent():
    spec = engine.NetworkSpec.sequential((4,), [("Linear", {"out_features": 2})])
    twin = spec.copy()
    twin.connect("input_1", twin.add("ReLU"))
    assert spec.outputs_of("input_1") == ["linear_1"]
    assert twin.outputs_of("input_1") == ["linear_1", "relu_1"]
    assert copy.copy(spec.edges) == spec.edges and isinstance(copy.copy(spec.edges), Edges)


def test_ids_are_the_smallest_free_number_and_reused_after_remove():
    spec = engine.NetworkSpec.sequential((4,), [("Linear", {"out_features": 2})] * 3)
    assert spec.new_id("Linear") == "linear_4"
    spec.remove("linear_2")
    assert spec.add("Linear", {"out_features": 2}) == "linear_2"
    assert spec.add("Linear", {"out_features": 2}) == "linear_4"
    loaded = engine.NetworkSpec.from_dict(spec.to_dict())      # nodes put in by the parser
    assert loaded.new_id("Linear") == "linear_5" and loaded.new_id("ReLU") == "relu_1"
