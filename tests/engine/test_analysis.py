"""analyze(): every problem of a broken graph, named per node, all at once."""
import time

import engine
from engine import NETWORK, NetworkSpec


def errors_of(spec):
    a = engine.analyze(spec)
    assert not a.ok
    return a.errors


def test_valid_lenet():
    spec = engine.load("resources/examples/lenet5.json").spec
    a = engine.analyze(spec)
    assert a.ok and a.total_params == 61706 and a.output_shape == (10,)
    assert a.shapes["conv2d_1"] == (6, 28, 28) and a.shapes["flatten_1"] == (400,)


def test_empty_and_input_only():
    assert "empty" in errors_of(NetworkSpec())[NETWORK]
    spec = NetworkSpec()
    spec.add("Input", {"shape": [3]})
    assert "add layers" in errors_of(spec)["input_1"]


def test_no_input_and_two_inputs():
    spec = NetworkSpec()
    spec.add("Linear")
    assert "no Input" in errors_of(spec)[NETWORK]
    spec = NetworkSpec.sequential((3,), [("Linear", {"out_features": 2})])
    spec.add("Input", {"shape": [3]})
    assert "second Input" in errors_of(spec)["input_2"]


def test_cycle_is_named_with_its_path():
    spec = NetworkSpec.sequential((3,), [("Linear", {"out_features": 3}), ("ReLU", {}),
                                         ("Linear", {"out_features": 3})])
    add = spec.add("Add")
    spec.connect("relu_1", add)
    spec.edges.append(("linear_2", add))
    spec.edges.append((add, "relu_1"))   # bypass connect(): files can hold cycles
    errs = errors_of(spec)
    assert "cycle" in errs["relu_1"] and "→" in errs["relu_1"]


def test_dangling_branch_and_unconnected_node():
    spec = NetworkSpec.sequential((3,), [("Linear", {"out_features": 3}),
                                         ("Linear", {"out_features": 2})])
    side = spec.add("ReLU")
    spec.connect("linear_1", side)
    lonely = spec.add("Tanh")
    errs = errors_of(spec)
    assert "leads nowhere" in errs[side] and "Linear 2" in errs[side]
    assert "not connected to the input" in errs[lonely]
    assert "linear_2" not in errs


def test_merge_input_count_and_shape_mismatch():
    spec = NetworkSpec.sequential((3,), [("Linear", {"out_features": 4})])
    add = spec.add("Add")
    spec.connect("linear_1", add)
    assert "needs at least 2" in errors_of(spec)[add]
    spec.connect("input_1", add)
    msg = errors_of(spec)[add]
    assert "(4,)" in msg and "(3,)" in msg and "same shape" in msg


def test_two_inputs_into_a_linear():
    spec = NetworkSpec.sequential((3,), [("Linear", {"out_features": 4})])
    extra = spec.add("Linear", {"out_features": 3})
    spec.connect("input_1", extra)
    spec.edges.append((extra, "linear_1"))
    assert "takes one" in errors_of(spec)["linear_1"]


def test_shape_errors_say_what_was_received_and_needed():
    spec = NetworkSpec.sequential((784,), [("Conv2d", {}), ("ReLU", {})])
    msg = errors_of(spec)["conv2d_1"]
    assert msg.startswith("Conv2d 1 received (784,)") and "channels, height, width" in msg
    spec = NetworkSpec.sequential((1, 4, 4), [("Conv2d", {"kernel_size": 5})])
    assert "smaller than its 5x5 kernel" in errors_of(spec)["conv2d_1"]
    spec = NetworkSpec.sequential((3, 8, 8), [("MaxPool2d", {"kernel_size": 2, "padding": 2})])
    assert "at most half" in errors_of(spec)["maxpool2d_1"]


def test_errors_do_not_cascade_downstream():
    spec = NetworkSpec.sequential((784,), [("Conv2d", {}), ("ReLU", {}),
                                           ("Linear", {"out_features": 3})])
    errs = errors_of(spec)
    assert set(errs) == {"conv2d_1"}


def test_all_problems_at_once_including_bad_params():
    spec = NetworkSpec.sequential((784,), [("Conv2d", {}), ("Linear", {"out_features": 3})])
    spec.nodes["linear_1"].params["out_features"] = -1   # bypass set_param, as a raw file might
    lonely = spec.add("ReLU")
    a = engine.analyze(spec)
    assert {"conv2d_1", "linear_1", lonely} <= set(a.errors)
    assert len(a.problems) >= 3


def test_build_refuses_broken_networks_naming_the_node():
    spec = NetworkSpec.sequential((784,), [("Conv2d", {})])
    try:
        engine.build(spec)
    except engine.SpecError as exc:
        assert exc.node_id == "conv2d_1" and "Conv2d 1" in str(exc)
    else:
        raise AssertionError("build accepted a broken network")


def test_residual_network_builds_and_runs():
    import torch
    spec = engine.load("resources/examples/residual.json").spec
    model = engine.build(spec)
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_analysis_is_fast_enough_for_every_edit():
    layers = []
    for i in range(150):
        layers += [("Linear", {"out_features": 64}), ("ReLU", {})]
    spec = NetworkSpec.sequential((64,), layers)
    engine.analyze(spec)
    start = time.perf_counter()
    a = engine.analyze(spec)
    elapsed = time.perf_counter() - start
    assert a.ok and len(spec.nodes) == 301
    assert elapsed < 0.5   # generous bound for a loaded CI box; the benchmark reports the figure
