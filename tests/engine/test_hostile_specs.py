"""Hostile network documents and settings: whatever a network.json or a training recipe holds,
reading it gives a NetworkSpec / Recipe or one of the project's errors with a short message;
sizes that no computer holds are refused before anything is allocated; every document
operation stays near-linear (a 10,000-node cycle took 377 s to analyse, a chain after a 2-cycle
40 s, a 10,001-node file listed 10,001 problems).

The fuzz test's budget is LAYERWISE_FUZZ_EXAMPLES examples (150 by default; set it higher for a
longer hunt)."""
from __future__ import annotations

import copy
import json
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.errors import LayerwiseError, SpecError, TrainingError
from engine.network import model as model_module
from engine.network.layout import layered_positions
from engine.network.parse import MAX_LISTED, MAX_NODES, _Problems
from engine.network.spec import NetworkSpec
from engine.run.recipe import Recipe

BASE = {"name": "net", "description": "a test", "nodes": [
    {"id": "input_1", "kind": "Input", "params": {"shape": [1, 8, 8]}, "position": [0, 0]},
    {"id": "conv2d_1", "kind": "Conv2d", "params": {"out_channels": 2, "kernel_size": 3}},
    {"id": "maxpool2d_1", "kind": "MaxPool2d", "params": {"kernel_size": 2}},
    {"id": "flatten_1", "kind": "Flatten", "params": {}},
    {"id": "linear_1", "kind": "Linear", "params": {"out_features": 3, "bias": True}},
    {"id": "elu_1", "kind": "ELU", "params": {"alpha": 1.0}}],
    "edges": [["input_1", "conv2d_1"], ["conv2d_1", "maxpool2d_1"], ["maxpool2d_1", "flatten_1"],
              ["flatten_1", "linear_1"], ["linear_1", "elu_1"]]}

ODD = [None, True, False, 0, -1, 10**12, 10**400, -10**30, 2**64, 1e308, float("inf"),
       float("nan"), "", "x" * 300, "\ud800", "a\x00b", "\x1b[31m", "Linear", "input_1", [], {},
       [1, 2], [[1]], {"a": 1}, [float("nan"), 1], ["input_1", "input_1"]]
LEAVES = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
          | st.sampled_from(ODD))
JSON = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=6) | st.sampled_from(
                        ["id", "kind", "params", "position", "shape", "padding"]),
                        inner, max_size=4), max_leaves=10)
EXAMPLES = int(os.environ.get("LAYERWISE_FUZZ_EXAMPLES", "150"))
LONGEST = 1_000          # characters of one listed problem, at most


def slots(value, out=None) -> list[tuple[object, object]]:
    """Every (container, key) of a JSON document, and a new key in each object."""
    out = [] if out is None else out
    if isinstance(value, dict):
        out.append((value, "extra"))
        for key in list(value):
            out.append((value, key))
            slots(value[key], out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.append((value, i))
            slots(item, out)
    return out


def read_or_refuse(doc) -> NetworkSpec | None:
    """from_dict's answer, held to the rules: a short SpecError, or a document that analyses,
    lays out, writes as UTF-8 JSON and reads back the same."""
    try:
        spec = NetworkSpec.from_dict(doc)
    except SpecError as exc:
        assert 1 <= len(exc.problems) <= MAX_LISTED + 1
        assert all(len(m) <= LONGEST for _, m in exc.problems)
        return None
    text = json.dumps(spec.to_dict(), ensure_ascii=False, allow_nan=False)
    text.encode("utf-8")                                  # a save can always write it
    assert NetworkSpec.from_dict(json.loads(text)) == spec
    engine.analyze(spec)
    layered_positions(spec)
    return spec


@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_json_anywhere_gives_a_spec_or_a_short_spec_error(data):
    doc = copy.deepcopy(BASE)
    for _ in range(data.draw(st.integers(1, 3))):
        container, key = data.draw(st.sampled_from(slots(doc)))
        container[key] = copy.deepcopy(data.draw(JSON))     # never a shared object
    read_or_refuse(doc)


def mutated(path: tuple, value):
    doc = copy.deepcopy(BASE)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


PLACES = [("name",), ("description",), ("nodes",), ("edges",), ("nodes", 1), ("nodes", 1, "id"),
          ("nodes", 1, "kind"), ("nodes", 1, "params"), ("nodes", 1, "position"),
          ("nodes", 1, "params", "padding"), ("nodes", 1, "params", "kernel_size"),
          ("nodes", 0, "params", "shape"), ("nodes", 4, "params", "out_features"),
          ("nodes", 5, "params", "alpha"), ("edges", 0), ("edges", 0, 0)]


@pytest.mark.parametrize("place", PLACES, ids=lambda p: "/".join(map(str, p)))
def test_every_odd_value_in_every_place(place):
    for value in ODD:
        read_or_refuse(mutated(place, value))


@pytest.mark.parametrize("node,param,value,words", [
    (1, "padding", 10**12, "padding must be a whole number from 0 to 1000000000"),
    (1, "padding", 10**400, "got a 401-digit number"),
    (1, "kernel_size", [3, 1e308], "kernel_size must be a whole number from 1 to 1000000000"),
    (0, "shape", [1, 10**12, 8], "shape must be a list of 1 to 4 whole numbers from 1 to"),
    (5, "alpha", 10**400, "alpha must be a number from 0 to 1000000000"),
    (4, "out_features", True, "out_features must be a whole number"),
])
def test_numbers_beyond_any_network_name_the_node_parameter_and_range(node, param, value, words):
    with pytest.raises(SpecError) as info:
        NetworkSpec.from_dict(mutated(("nodes", node, "params", param), value))
    (node_id, message), = info.value.problems
    assert node_id == BASE["nodes"][node]["id"] and words in message


def test_a_list_as_node_id_is_a_problem_not_a_type_error():
    with pytest.raises(SpecError, match=r"node 2: its id \[1, 2\] must start with a letter"):
        NetworkSpec.from_dict(mutated(("nodes", 1, "id"), [1, 2]))
    with pytest.raises(SpecError, match="must start with a letter"):
        NetworkSpec.from_dict(mutated(("nodes", 1, "id"), "conv2d_1\n"))


def test_a_lone_surrogate_in_a_name_is_replaced_so_the_network_saves(tmp_path):
    doc = mutated(("name",), "net \ud800 x")
    doc["description"] = "two\nlines \udfff and a nul \x00"
    spec = NetworkSpec.from_dict(doc)
    assert spec.name == "net \ufffd x" and spec.description == "two\nlines \ufffd and a nul \x00"
    engine.save(tmp_path / "n.lwnet", spec)
    assert engine.load(tmp_path / "n.lwnet").spec == spec


def test_positions_are_finite_and_on_the_canvas():
    for bad in ([float("nan"), 0], [0, float("inf")], [1e308, 0], [10**400, 0], ["1", 2], [1]):
        with pytest.raises(SpecError, match="'position' must be two numbers"):
            NetworkSpec.from_dict(mutated(("nodes", 1, "position"), bad))
    spec = NetworkSpec.from_dict(BASE)
    for bad in ((float("nan"), 0.0), (1e308, 0.0), ("a", "b"), (1, 2, 3)):
        with pytest.raises(SpecError, match="a position must be two numbers"):
            spec.move("conv2d_1", bad)
        with pytest.raises(SpecError, match="a position must be two numbers"):
            spec.add("ReLU", position=bad)
    spec.move("conv2d_1", (-1e6, 2e6))
    assert spec.nodes["conv2d_1"].position == (-1e6, 2e6)


def test_editing_with_hostile_values_gives_spec_errors():
    spec = NetworkSpec.from_dict(BASE)
    for call in (lambda: spec.node([1]), lambda: spec.add("ReLU", node_id=[1]),
                 lambda: spec.add("ReLU", node_id="bad id"), lambda: spec.add(["ReLU"]),
                 lambda: spec.set_param("conv2d_1", "padding", 10**12),
                 lambda: spec.set_param("conv2d_1", {"a": 1}, 1),
                 lambda: spec.set_param([1], "padding", 1)):
        with pytest.raises(SpecError):
            call()


def layers_doc(n: int, edges: list) -> dict:
    nodes = [{"id": "input_1", "kind": "Input", "params": {"shape": [4]}}] + [
        {"id": f"relu_{i}", "kind": "ReLU", "params": {}} for i in range(1, n)]
    return {"nodes": nodes, "edges": edges}


def test_too_many_nodes_is_one_problem_not_one_per_edge():
    n = MAX_NODES + 1
    doc = layers_doc(n, [["input_1", "relu_1"]] + [[f"relu_{i}", f"relu_{i + 1}"]
                                                    for i in range(1, n - 1)])
    with pytest.raises(SpecError) as info:
        NetworkSpec.from_dict(doc)
    assert info.value.problems == [(None, "the network has 10,001 nodes; a network has at most "
                                          "10,000")]


def test_problems_are_capped_counted_and_short():
    bad_kinds = [{"id": f"n{i}", "kind": "x" * 4_000_000 if i == 0 else f"Nope{i}"}
                 for i in range(500)]
    edges = [["n1", "ghost"]] * 3 + [[f"n{i}", f"n{i + 1}"] for i in range(499)]
    with pytest.raises(SpecError) as info:
        NetworkSpec.from_dict({"name": 5, "nodes": bad_kinds, "edges": edges})
    problems = info.value.problems
    assert len(problems) == MAX_LISTED + 1
    # 'name', 500 kinds, 'ghost' once for its 3 edges (the edges of dropped nodes pass)
    assert problems[-1] == (None, f"and {502 - MAX_LISTED} more problems")
    assert len(str(info.value)) < 20 * LONGEST
    assert all(len(m) <= LONGEST for _, m in problems)


def test_an_unknown_node_is_one_problem_however_many_edges_name_it():
    doc = layers_doc(3, [["input_1", "relu_1"]] + [["relu_1", "ghost"]] * 5000
                     + [["relu_2", "ghost"], ["ghost", "gone"]])
    with pytest.raises(SpecError) as info:
        NetworkSpec.from_dict(doc)
    assert [m for _, m in info.value.problems] == [
        "edge 2 ('relu_1' → 'ghost') refers to 'ghost', which is not a node (and so do 5,001 "
        "more edges)", "edge 5003 ('ghost' → 'gone') refers to 'gone', which is not a node"]


def test_identical_problems_are_listed_once():
    found = _Problems()
    for _ in range(3):
        found.add("the same")
    found.add("another", "n1")
    with pytest.raises(SpecError) as info:
        found.raise_any()
    assert info.value.problems == [(None, "the same"), ("n1", "another")]


def chain(n: int) -> NetworkSpec:
    return NetworkSpec.sequential((4,), [("ReLU", {})] * (n - 1))


def timed(fn):
    """(seconds, result) of fn()."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def seconds(fn) -> float:
    return timed(fn)[0]


def test_big_cycles_and_dangling_chains_analyse_in_linear_time():
    ring = chain(10_000)
    ring.edges.append(("relu_9999", "relu_1"))            # a 9,999-layer cycle (377 s before)
    took, a = timed(lambda: engine.analyze(ring))
    assert took < 10 and len(a.errors) == 9_999 and max(len(m) for m in a.errors.values()) < 300
    assert "Input 1" not in a.errors.get("relu_1", "") and "… 9,993 more …" in a.errors["relu_5"]
    tail = chain(10_000)
    tail.edges.append(("relu_2", "relu_1"))              # a 2-cycle, then 9,997 layers (40 s)
    took, a = timed(lambda: engine.analyze(tail))
    assert took < 10 and set(a.errors) == {"relu_1", "relu_2"}


def test_long_and_wide_networks_analyse_and_lay_out_without_recursion():
    wide = NetworkSpec.sequential((4,), [])
    merge = wide.add("Concat", {"dim": 1})
    for _ in range(9_998):
        relu = wide.add("ReLU")
        wide.connect("input_1", relu)
        wide.connect(relu, merge)
    for spec in (chain(10_000), wide):
        took, (a, _) = timed(lambda: (engine.analyze(spec), layered_positions(spec)))
        assert took < 10 and a.ok


def test_a_file_at_the_node_limit_with_many_edges_parses_in_seconds():
    n = MAX_NODES
    edges = [["input_1", "relu_1"]] + [[f"relu_{i}", f"relu_{j}"] for i in range(1, n)
                                       for j in range(i + 1, min(i + 11, n))]
    doc = layers_doc(n, edges)
    assert seconds(lambda: NetworkSpec.from_dict(doc)) < 10


def test_sizes_beyond_any_computer_are_refused_at_build_before_allocating(monkeypatch):
    def no_allocation(*args):
        raise AssertionError("build allocated")
    monkeypatch.setattr(model_module, "Model", no_allocation)
    huge = NetworkSpec.sequential((100_000,), [("Linear", {"out_features": 1_000_000}),
                                               ("Linear", {"out_features": 100_000})] * 5)
    wide_layer = NetworkSpec.sequential((3, 2000, 2000), [
        ("Conv2d", {"out_channels": 100_000, "kernel_size": 3, "padding": 1})])
    for spec, words in ((huge, "The network's weights take 3.6 TiB together"),
                        (wide_layer, r"Conv2d 1's output \(100000, 2000, 2000\) .* 1.5 TiB")):
        with pytest.raises(SpecError, match=words) as info:
            assert seconds(lambda: engine.build(spec)) < 2
        assert "\n" not in str(info.value)


def test_weights_larger_than_this_computer_are_refused_before_allocating(monkeypatch):
    monkeypatch.setattr(model_module, "memory_of_this_computer", lambda: 2**20)
    spec = NetworkSpec.sequential((1000,), [("Linear", {"out_features": 1000})])
    with pytest.raises(SpecError, match=r"its 1,001,000 weights take 3.8 MiB as float32, more "
                                        r"than this computer's memory \(1.0 MiB\)"):
        engine.build(spec)


def test_an_allocation_that_fails_is_a_spec_error(monkeypatch):
    def fail(*args):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't "
                           "allocate memory: you tried to allocate 4000000000000 bytes.")
    monkeypatch.setattr(model_module, "Model", fail)
    with pytest.raises(SpecError, match="not enough free memory"):
        engine.build(chain(3))


@pytest.mark.parametrize("train,field", [
    ({"seed": 2**64}, "seed"), ({"seed": -1}, "seed"), ({"seed": 10**400}, "seed"),
    ({"epochs": 10**12}, "epochs"), ({"epochs": True}, "epochs"), ({"epochs": "5"}, "epochs"),
    ({"lr": float("nan")}, "lr"), ({"lr": float("inf")}, "lr"), ({"lr": -0.1}, "lr"),
    ({"lr": 10**400}, "lr"), ({"batch_size": 0}, "batch_size"),
    ({"batch_size": 10**12}, "batch_size"), ({"momentum": [0.9]}, "momentum"),
    ({"optimizer": "adam" * 1_000_000}, "optimizer"), ({"device": {"cuda": 1}}, "device"),
    ({"epoch": 3}, "unknown training setting 'epoch'"),
    ({"x" * 100_000: 1}, "unknown training setting"),
])
def test_bad_training_settings_name_the_field(train, field):
    for data in ({"train": train}, train):                # a recipe, and an older flat config
        with pytest.raises(TrainingError, match=field) as info:
            Recipe.from_dict(data)
        assert len(str(info.value)) < 400


@pytest.mark.parametrize("data,words", [
    ({"train": 0}, "a training config must be an object"),
    ({"train": [], "data": None}, "a training config must be an object"),
    ({"train": {}, "pretrain": "ab"}, "pre-training settings must be an object"),
    ({"pretrain": [1, 2]}, "pre-training settings must be an object"),
    ({"pretrain": 10**400}, "pre-training settings must be an object"),
    ({"train": {}, "pretrain": {"noise": 10**400}}, "noise must be a number"),
    ({"train": {}, "threads": 10**12}, "threads must be"),
    ({"train": {}, "extra": 1}, "unknown recipe part 'extra'"),
    ({1: 2, "a": 3}, "unknown training setting 1"),
    ({"data": {"name": "moons", "options": list(range(100))}}, "data options must be an object"),
    ({"data": {"name": ["moons"]}}, "name must be a text"),
    ([], "a recipe must be an object"),
])
def test_bad_recipes_are_training_errors(data, words):
    with pytest.raises(TrainingError, match=words) as info:
        Recipe.from_dict(data)
    assert len(str(info.value)) < 400 and isinstance(info.value, LayerwiseError)


def test_loading_weights_matches_torch_and_takes_linear_time():
    import torch
    from torch import nn
    spec = NetworkSpec.sequential((1, 8, 8), [
        ("Conv2d", {"out_channels": 3, "kernel_size": 3}), ("BatchNorm2d", {}), ("ReLU", {}),
        ("Flatten", {}), ("Linear", {"out_features": 4}), ("PReLU", {})])
    state = engine.build(spec).state_dict()
    odd = type(state)(state)
    odd._metadata = state._metadata
    del odd["layers.batchnorm2d_1.num_batches_tracked"]
    odd["layers.ghost.weight"] = odd["x"] = torch.zeros(1)
    for weights, strict in ((state, True), (odd, False), (odd, True)):
        ours, theirs = engine.build(spec), engine.build(spec)
        answers = []
        for model, load in ((ours, type(ours).load_state_dict),
                            (theirs, nn.Module.load_state_dict)):
            try:
                result = load(model, weights, strict=strict)
                answers.append((sorted(result.missing_keys), sorted(result.unexpected_keys)))
            except RuntimeError as exc:
                answers.append(sorted(str(exc).split('"')[1::2]))     # the keys it names
        assert answers[0] == answers[1]
        assert all(torch.equal(a, b) for a, b in zip(ours.state_dict().values(),
                                                      theirs.state_dict().values()))
    deep = engine.build(NetworkSpec.sequential((2,), [("Linear", {"out_features": 2})] * 3000))
    state = deep.state_dict()            # torch's own load: 18 million prefix tests, seconds
    assert seconds(lambda: deep.load_state_dict(state)) < 1
