"""Import from ONNX: the engine's own exports come back as the same network with the same
outputs; hand-made graphs map op by op; unsupported ops are refused together; hostile files
give a clear FileFormatError."""
import importlib.util

import numpy as np
import pytest
import torch

import engine
from engine.io import import_onnx as importer

pytestmark = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript", "onnxruntime")),
    reason="needs onnx, onnxscript and onnxruntime")


def perturbed(spec):
    """The network built with every weight and running statistic moved off its start value."""
    torch.manual_seed(1)
    model = engine.build(spec)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        for name, b in model.named_buffers():
            if "running" in name:
                b.add_(torch.rand_like(b) * 0.3)
    return model.eval()


def round_trip(tmp_path, spec):
    model = perturbed(spec)
    engine.export(model, tmp_path / "net.onnx", format="onnx")
    result = engine.import_network(tmp_path / "net.onnx")
    x = torch.randn(6, *model.input_shape, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert torch.allclose(result.model(x), model(x), atol=1e-5, rtol=0)
    return result


def kinds(spec):
    return [(n.kind, {k: v for k, v in n.params.items() if k != "init"})
            for n in spec.nodes.values()]


@pytest.mark.parametrize("name", ["residual", "deep_sigmoid", "lstm_adding"])
def test_an_exported_example_comes_back_as_the_same_network(tmp_path, name):
    spec = engine.load(f"resources/examples/{name}.json").spec
    result = round_trip(tmp_path, spec)
    assert result.max_difference is not None and result.max_difference <= 1e-5
    assert kinds(result.spec) == kinds(spec)
    assert sorted(result.spec.edges) == sorted(spec.edges)
    assert all(n.position is not None for n in result.spec.nodes.values())


def test_many_kinds_come_back(tmp_path):
    layers = [("Conv2d", {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1}),
              ("LeakyReLU", {"negative_slope": 0.2}), ("BatchNorm2d", {}), ("ELU", {}),
              ("GELU", {}), ("Mish", {}), ("PReLU", {"num_parameters": 4}),
              ("ConvTranspose2d", {"out_channels": 3}), ("Upsample", {}),
              ("AvgPool2d", {"kernel_size": 2, "padding": 1}), ("Tanh", {}),
              ("AdaptiveAvgPool2d", {"output_size": 1}), ("Flatten", {}), ("BatchNorm1d", {}),
              ("Linear", {"out_features": 12}), ("LayerNorm", {}), ("Reshape", {"shape": [3, 4]}),
              ("Conv1d", {"out_channels": 4}), ("MaxPool1d", {}), ("Sigmoid", {}),
              ("Softmax", {"dim": 1})]
    spec = engine.NetworkSpec.sequential((3, 8, 8), layers)
    result = round_trip(tmp_path, spec)
    assert kinds(result.spec) == kinds(spec)


# ----------------------------------------------------------------------------- hand-made graphs

def onnx_file(tmp_path, nodes, inits, in_shape, out_shape, name="m.onnx"):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    graph = helper.make_graph(
        nodes, "handmade",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", *in_shape])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", *out_shape])],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def test_matmul_and_add_become_one_linear_and_batch_norm_keeps_its_statistics(tmp_path):
    from onnx import helper
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Flatten", ["x"], ["f"], name="flat"),
             helper.make_node("MatMul", ["f", "W"], ["m"], name="mm"),
             helper.make_node("Add", ["m", "b"], ["a"], name="bias"),
             helper.make_node("BatchNormalization", ["a", "g", "be", "mu", "var"], ["n"],
                              name="bn", epsilon=1e-3),
             helper.make_node("Softmax", ["n"], ["y"], name="sm", axis=1)]
    inits = {"W": rng.normal(size=(12, 5)), "b": rng.normal(size=5), "g": rng.random(5) + .5,
             "be": rng.normal(size=5), "mu": rng.normal(size=5), "var": rng.random(5) + .5}
    result = engine.import_network(onnx_file(tmp_path, nodes, inits, [3, 4], [5]))
    assert [n.kind for n in result.spec.nodes.values()] == [
        "Input", "Flatten", "Linear", "BatchNorm1d", "Softmax"]
    linear = next(n for n in result.spec.nodes.values() if n.kind == "Linear")
    assert linear.params["bias"] is True and linear.params["out_features"] == 5
    assert result.max_difference <= 1e-5


def test_unsupported_ops_are_refused_together_with_their_names(tmp_path):
    from onnx import helper
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="ok"),
             helper.make_node("Einsum", ["r", "r"], ["e"], name="bar", equation="bi,bi->bi"),
             helper.make_node("Sin", ["r"], ["s"], name="foo"),
             helper.make_node("Add", ["e", "s"], ["y"], name="join")]
    path = onnx_file(tmp_path, nodes, {}, [4], [4])
    with pytest.raises(engine.UnsupportedOperations) as err:
        engine.import_network(path)
    assert str(err.value) == ("cannot import 2 operations: node 'bar' (Einsum), node 'foo' "
                              "(Sin): Layerwise has no layer for them")
    assert err.value.operations == [("bar", "Einsum"), ("foo", "Sin")]
    assert isinstance(err.value, engine.LayerwiseError)


def test_a_supported_op_used_in_an_unsupported_way_says_why(tmp_path):
    from onnx import helper
    nodes = [helper.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[2, 2],
                              pads=[0, 0, 1, 1])]
    with pytest.raises(engine.UnsupportedOperations, match=r"node 'pool' \(MaxPool: "
                                                           r"asymmetric padding"):
        engine.import_network(onnx_file(tmp_path, nodes, {}, [1, 5, 5], [1, 3, 3]))


# ----------------------------------------------------------------------------- hostile files

def test_garbage_is_not_an_onnx_model(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\xff\xfe not protobuf at all \x00" * 50)
    with pytest.raises(engine.FileFormatError, match="not an ONNX model"):
        engine.import_network(path)


def test_weights_in_external_files_are_never_opened(tmp_path):
    import onnx
    from onnx import helper
    nodes = [helper.make_node("Gemm", ["x", "W"], ["y"], name="fc", transB=1)]
    path = onnx_file(tmp_path, nodes, {"W": np.ones((3, 4))}, [4], [3])
    model = onnx.load(str(path))
    onnx.external_data_helper.convert_model_to_external_data(
        model, location="weights.bin", size_threshold=0)
    onnx.save(model, str(path), save_as_external_data=False)
    with pytest.raises(engine.FileFormatError, match="kept in other files"):
        engine.import_network(path)


def test_an_invalid_graph_and_an_oversized_file_are_refused(tmp_path, monkeypatch):
    from onnx import helper
    nodes = [helper.make_node("Relu", ["nowhere"], ["y"], name="r")]
    path = onnx_file(tmp_path, nodes, {}, [4], [4])
    with pytest.raises(engine.FileFormatError, match="not a valid ONNX model"):
        engine.import_network(path)
    monkeypatch.setattr(importer, "MAX_BYTES", 10)
    with pytest.raises(engine.FileFormatError, match="more than the 10 an imported"):
        engine.import_network(path)
    with pytest.raises(engine.FileFormatError, match="does not exist"):
        engine.import_network(tmp_path / "missing.onnx")


def constant(name, values):
    from onnx import helper, numpy_helper
    return helper.make_node("Constant", [], [name], name=name,
                            value=numpy_helper.from_array(values, name))


def test_folding_constants_cannot_take_more_memory_than_the_file_allows(tmp_path):
    """A few kilobytes of chained Concat or Cast nodes would fold into gigabytes: the import
    stops at its budget, naming the node, and a folded constant nothing reads is not made."""
    import resource
    from onnx import helper
    relu = helper.make_node("Relu", ["x"], ["y"], name="r")
    doubling = [constant("c0", np.ones(1024, np.float32))]
    doubling += [helper.make_node("Concat", [f"c{i}", f"c{i}"], [f"c{i + 1}"], axis=0,
                                  name=f"cat{i}") for i in range(30)]      # 4 TiB at the end
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(engine.UnsupportedOperations, match="folding its constants would take "
                                                           "more than 64 MiB") as err:
        engine.import_network(onnx_file(tmp_path, [*doubling, relu], {}, [4], [4]))
    assert err.value.operations[0][0] == "cat13"    # its 2**24 floats (64 MiB), with the rest
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 300 * 1024
    widening = [constant("w0", np.ones(2**20, np.int8))]
    widening += [helper.make_node("Cast", [f"w{i}"], [f"w{i + 1}"], name=f"cast{i}",
                                  to=11 if i % 2 == 0 else 3) for i in range(40)]
    widening.append(helper.make_node("Identity", ["w40"], ["w41"], name="read"))
    with pytest.raises(engine.UnsupportedOperations, match="folding its constants"):
        engine.import_network(onnx_file(tmp_path, [*widening, relu], {}, [4], [4]))
    unread = [constant("u0", np.ones(2**22, np.float32)),
              helper.make_node("Concat", ["u0", "u0", "u0", "u0"], ["u1"], axis=0, name="u")]
    result = engine.import_network(onnx_file(tmp_path, [*unread, relu], {}, [4], [4]))
    assert [n.kind for n in result.spec.nodes.values()] == ["Input", "ReLU"]
