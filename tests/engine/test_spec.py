"""NetworkSpec editing and plain-data round trips."""
import pytest

import engine
from engine import NetworkSpec, SpecError


def chain():
    return NetworkSpec.sequential((4,), [("Linear", {"out_features": 8}), ("ReLU", {}),
                                         ("Linear", {"out_features": 2})], name="t")


def test_sequential_builds_a_chain_with_readable_ids():
    spec = chain()
    assert list(spec.nodes) == ["input_1", "linear_1", "relu_1", "linear_2"]
    assert spec.edges == [("input_1", "linear_1"), ("linear_1", "relu_1"), ("relu_1", "linear_2")]
    assert spec.label("linear_2") == "Linear 2"
    assert spec.nodes["linear_1"].params == {"out_features": 8, "bias": True, "init": "auto"}


def test_round_trip_keeps_everything():
    spec = chain()
    spec.move("relu_1", (10, 20.5))
    spec.description = "a test"
    data = spec.to_dict()
    again = NetworkSpec.from_dict(data)
    assert again == spec
    assert again.nodes["relu_1"].position == (10.0, 20.5)
    assert again.description == "a test"


def test_add_refuses_unknown_kinds_and_params_with_suggestions():
    spec = NetworkSpec()
    with pytest.raises(SpecError, match="did you mean Linear"):
        spec.add("Linaer")
    with pytest.raises(SpecError, match="has no parameter 'units'.*out_features"):
        spec.add("Linear", {"units": 3})
    with pytest.raises(SpecError, match="already exists"):
        spec.add("ReLU", node_id="x")
        spec.add("ReLU", node_id="x")


def test_set_param_validates_and_names_the_node():
    spec = chain()
    assert spec.set_param("linear_1", "out_features", 16.0) == 16
    with pytest.raises(SpecError, match="Linear 1: out_features must be"):
        spec.set_param("linear_1", "out_features", -3)
    assert spec.nodes["linear_1"].params["out_features"] == 16


def test_connection_refusals_explain_why():
    spec = chain()
    other = spec.add("Linear", {"out_features": 3})
    assert "cycle" in spec.connection_problem("linear_2", "linear_1")
    assert "takes one input" in spec.connection_problem(other, "relu_1")
    assert "already connected" in spec.connection_problem("input_1", "linear_1")
    assert "no incoming" in spec.connection_problem(other, "input_1")
    assert "itself" in spec.connection_problem(other, other)
    with pytest.raises(SpecError, match="cycle"):
        spec.connect("linear_2", "linear_1")


def test_remove_and_restore_is_exact():
    spec = NetworkSpec.sequential((4,), [("Linear", {"out_features": 4}), ("ReLU", {})])
    add = spec.add("Add")
    spec.connect("relu_1", add)
    spec.connect("input_1", add)
    before = spec.to_dict()
    node, edges = spec.remove("relu_1")
    assert all("relu_1" not in e for e in spec.edges)
    spec.restore(node, edges)
    assert spec.to_dict()["edges"] == before["edges"]


def test_connect_at_index_orders_merge_inputs():
    spec = NetworkSpec.sequential((4,), [("Linear", {"out_features": 4})])
    b = spec.add("Linear", {"out_features": 4})
    spec.connect("input_1", b)
    cat = spec.add("Concat")
    spec.connect("linear_1", cat)
    spec.connect(b, cat, index=0)
    assert spec.inputs_of(cat) == [b, "linear_1"]
    assert spec.disconnect(b, cat) == 0


def test_from_dict_reports_every_problem_at_once():
    data = {"nodes": [
        {"id": "in", "kind": "Input", "params": {"shape": [4]}},
        {"id": "a", "kind": "Lnear", "params": {}},
        {"id": "b", "kind": "Linear", "params": {"out_features": 0, "colour": "red"}},
        {"id": "b", "kind": "ReLU"},
        {"id": "../x", "kind": "ReLU"},
        {"id": "c", "kind": "ReLU", "position": ["left", 3]},
    ], "edges": [["in", "zz"], ["in", "c"], ["in", "c"], "bad"]}
    with pytest.raises(SpecError) as info:
        NetworkSpec.from_dict(data)
    text = "\n".join(m for _, m in info.value.problems)
    for words in ("did you mean Linear", "out_features must be", "no parameter 'colour'",
                  "used twice", "'../x'", "'position' must be", "'zz'", "appears twice",
                  "edge 4 must be a pair"):
        assert words in text, words
    assert len(info.value.problems) == 9


def test_from_dict_rejects_non_objects():
    with pytest.raises(SpecError, match="JSON object"):
        NetworkSpec.from_dict([1, 2])


def test_renamed_kinds_still_load(monkeypatch):
    from engine.network import catalogue as layers
    monkeypatch.setitem(layers._ALIASES, "Dense", "Linear")
    spec = NetworkSpec.from_dict({"nodes": [{"id": "d", "kind": "Dense",
                                             "params": {"out_features": 3}}], "edges": []})
    assert spec.nodes["d"].kind == "Linear"
