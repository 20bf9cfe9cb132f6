"""ONNX LSTM and GRU come in as Layerwise's: exported by Layerwise or by PyTorch (both of its
exporters, the sequence's last step or the last hidden state), with the transposes, shape
arithmetic and zero states around them followed, and the same outputs; what Layerwise's kinds
cannot be is refused, named."""
import importlib.util

import numpy as np
import pytest
import torch
import torch.nn as nn

import engine

pytestmark = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript", "onnxruntime")),
    reason="needs onnx, onnxscript and onnxruntime")


def recurrent_kinds(spec):
    return [(n.kind, n.params["output"], n.params["bidirectional"], n.params["num_layers"])
            for n in spec.nodes.values() if n.kind in ("LSTM", "GRU")]


def same_outputs(model, imported, shape, ids=None):
    x = torch.randint(0, ids, (5, *shape)) if ids else \
        torch.randn(5, *shape, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.allclose(imported(x), model(x), atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind, output, both_ways", [      # GRU's last, LSTM's sequence one
    ("LSTM", "last", False), ("LSTM", "sequence", True),    # way: in the tests below
    ("GRU", "sequence", True)])
def test_a_layerwise_recurrent_layer_comes_back(tmp_path, kind, output, both_ways):
    layers = [(kind, {"hidden_size": 5, "output": output, "bidirectional": both_ways})]
    layers += [("Flatten", {})] * (output == "sequence") + [("Linear", {"out_features": 2})]
    torch.manual_seed(0)
    model = engine.build(engine.NetworkSpec.sequential((7, 3), layers)).eval()
    engine.export(model, tmp_path / "net.onnx", format="onnx")
    result = engine.import_network(tmp_path / "net.onnx")
    assert recurrent_kinds(result.spec) == [(kind, output, both_ways, 1)]
    assert result.max_difference <= 1e-5
    same_outputs(model, result.model, (7, 3))
    assert result.spec.name == "net"        # the file's, not the exporter's "main_graph"


def test_stacked_layers_over_token_ids_come_back_one_layer_each(tmp_path):
    torch.manual_seed(1)
    spec = engine.NetworkSpec.sequential((9,), [
        ("Embedding", {"num_embeddings": 4, "embedding_dim": 3}),
        ("LSTM", {"hidden_size": 5, "num_layers": 2, "output": "last"}),
        ("Linear", {"out_features": 2})])
    model = engine.build(spec).eval()
    engine.export(model, tmp_path / "net.onnx", format="onnx")
    result = engine.import_network(tmp_path / "net.onnx")
    assert recurrent_kinds(result.spec) == [("LSTM", "sequence", False, 1),
                                            ("LSTM", "last", False, 1)]
    same_outputs(model, result.model, (9,), ids=4)


class Written(nn.Module):
    """A recurrent classifier as people write it in PyTorch."""

    def __init__(self, how):
        super().__init__()
        self.how = how
        self.rnn = nn.GRU(3, 6, batch_first=True) if how == "gru" else \
            nn.LSTM(3, 6, batch_first=True)
        self.fc = nn.Linear(6, 2)

    def forward(self, x):
        out, state = self.rnn(x)
        return self.fc(state[0][-1] if self.how == "state" else out[:, -1])


@pytest.mark.parametrize("how, dynamo", [("step", True), ("step", False), ("state", False),
                                         ("gru", False)])      # the older exporter is faster
def test_a_module_exported_by_pytorch_opens_with_its_outputs(tmp_path, how, dynamo):
    torch.manual_seed(2)
    module = Written(how).eval()
    x = torch.randn(2, 8, 3)
    path = tmp_path / "written.onnx"
    if dynamo:
        torch.onnx.export(module, (x,), str(path), dynamo=True, external_data=False,
                          dynamic_shapes=({0: torch.export.Dim("batch")},))
    else:
        torch.onnx.export(module, (x,), str(path), dynamo=False, input_names=["x"],
                          dynamic_axes={"x": {0: "batch"}})
    result = engine.import_network(path)
    assert recurrent_kinds(result.spec) == [("GRU" if how == "gru" else "LSTM", "last",
                                             False, 1)]
    assert result.max_difference <= 1e-5
    same_outputs(module, result.model, (8, 3))


def test_an_imported_lstm_trains_with_its_probes_and_saves(tmp_path):
    torch.manual_seed(3)
    module = Written("step").eval()
    torch.onnx.export(module, (torch.randn(2, 8, 3),), str(tmp_path / "w.onnx"), dynamo=False,
                      input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    result = engine.import_network(tmp_path / "w.onnx")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 8, 3)).astype(np.float32)
    np.savez(tmp_path / "d.npz", X=x, y=(x[:, 0, 0] > 0).astype(np.int64))
    run = engine.train(result.model, engine.load_dataset(tmp_path / "d.npz", normalise="none"),
                       engine.TrainConfig(epochs=2, probe_every=2, lr=0.01, seed=0))
    assert run.status == "finished"
    lstm = next(n for n, node in result.spec.nodes.items() if node.kind == "LSTM")
    assert "step_grad_reach" in run.history["probes"]["layers"][lstm]
    engine.save(tmp_path / "w.lwnet", result.spec, model=run.model, history=run.history)
    again = engine.load(tmp_path / "w.lwnet")
    same_outputs(run.model.eval(), again.model.eval(), (8, 3))


def hand_made(tmp_path, attrs=None, inputs=("xt", "W", "R", "B"), outputs=("Y",), after=(),
              before=()):
    """x (batch, 4, 2) -> Transpose -> LSTM(hidden 3) [-> after] -> y."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    inits = {"W": rng.normal(size=(1, 12, 2)), "R": rng.normal(size=(1, 12, 3)),
             "B": rng.normal(size=(1, 24)), "h0": np.ones((1, 1, 3)), "lens": [4]}
    nodes = [*before,
             helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2], name="to_steps"),
             helper.make_node("LSTM", list(inputs), list(outputs), name="lstm", hidden_size=3,
                              **(attrs or {})),
             *after]
    graph = helper.make_graph(
        nodes, "handmade",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4, 3])],
        [numpy_helper.from_array(np.asarray(v, np.int32 if k == "lens" else np.float32), k)
         for k, v in inits.items()])
    path = tmp_path / "hand.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def squeeze_to_y():
    from onnx import helper
    return [helper.make_node("Squeeze", ["Y", "one"], ["s"], name="squeeze"),
            helper.make_node("Transpose", ["s"], ["y"], perm=[1, 0, 2], name="back")]


@pytest.mark.parametrize("attrs, inputs, outputs, message", [
    ({"direction": "reverse"}, None, None, "direction 'reverse'"),
    ({"input_forget": 1}, None, None, "coupled input and forget gates"),
    ({"clip": 3.0}, None, None, "clipping"),
    ({"activations": ["Sigmoid", "Relu", "Tanh"]}, None, None, "activations"),
    (None, ("xt", "W", "R", "B", "lens"), None, "sequence lengths"),
    (None, ("xt", "W", "R", "B", "", "h0"), None, "initial state that is not zeros"),
    (None, ("x", "W", "R", "B"), None, "transposed to steps first"),
])
def test_what_no_kind_can_be_is_refused_by_name(tmp_path, attrs, inputs, outputs, message):
    from onnx import helper
    after = [helper.make_node("Constant", [], ["one"], name="c",
                              value=helper.make_tensor("v", 7, [1], [1])), *squeeze_to_y()]
    path = hand_made(tmp_path, attrs, inputs or ("xt", "W", "R", "B"), outputs or ("Y",), after)
    with pytest.raises(engine.UnsupportedOperations) as err:
        engine.import_network(path)
    (name, op), = err.value.operations          # the layer alone: what it feeds is skipped
    assert name == "lstm" and op.startswith("LSTM: ") and message in op


def test_a_hand_made_graph_with_a_squeezed_direction_axis_imports(tmp_path):
    from onnx import helper
    after = [helper.make_node("Constant", [], ["one"], name="c",
                              value=helper.make_tensor("v", 7, [1], [1])), *squeeze_to_y()]
    result = engine.import_network(hand_made(tmp_path, after=after))
    assert recurrent_kinds(result.spec) == [("LSTM", "sequence", False, 1)]
    assert result.max_difference <= 1e-5


def test_a_step_other_than_the_last_is_refused(tmp_path):
    from onnx import helper
    after = [helper.make_node("Constant", [], ["one"], name="c",
                              value=helper.make_tensor("v", 7, [1], [1])),
             helper.make_node("Constant", [], ["first"], name="c0",
                              value=helper.make_tensor("w", 7, [], [0])),
             helper.make_node("Squeeze", ["Y", "one"], ["s"], name="squeeze"),
             helper.make_node("Transpose", ["s"], ["b"], perm=[1, 0, 2], name="back"),
             helper.make_node("Gather", ["b", "first"], ["y"], axis=1, name="pick")]
    with pytest.raises(engine.UnsupportedOperations,
                       match=r"node 'pick' \(Gather: picking a step other than the last"):
        engine.import_network(hand_made(tmp_path, after=after))


def test_attention_written_out_in_matrix_products_is_still_refused_by_name(tmp_path):
    spec = engine.load("resources/examples/transformer_adding.json").spec
    engine.export(spec, tmp_path / "t.onnx", format="onnx")
    with pytest.raises(engine.UnsupportedOperations) as err:
        engine.import_network(tmp_path / "t.onnx")
    assert any(op.startswith("MatMul") for _, op in err.value.operations)


def test_pytorchs_activations_written_out_are_taken(tmp_path):
    from onnx import helper
    after = [helper.make_node("Constant", [], ["one"], name="c",
                              value=helper.make_tensor("v", 7, [1], [1])), *squeeze_to_y()]
    path = hand_made(tmp_path, {"activations": ["Sigmoid", "Tanh", "Tanh"]}, after=after)
    assert recurrent_kinds(engine.import_network(path).spec) == [("LSTM", "sequence", False, 1)]


def refused(path) -> dict[str, str]:
    with pytest.raises(engine.UnsupportedOperations) as err:
        engine.import_network(path)
    return dict(err.value.operations)


def test_a_strangers_graph_is_refused_by_name_never_crashing(tmp_path):
    from onnx import helper, numpy_helper
    one = helper.make_node("Constant", [], ["one"], name="c",
                           value=helper.make_tensor("v", 7, [1], [1]))
    assert "layout 7" in refused(hand_made(tmp_path, {"layout": 7},
                                           after=[one, *squeeze_to_y()]))["lstm"]
    last = helper.make_node("Constant", [], ["last"], name="c1",
                            value=helper.make_tensor("w", 7, [], [-1]))
    twice = [one, last, helper.make_node("Squeeze", ["Y", "one"], ["s"], name="squeeze"),
             helper.make_node("Transpose", ["s"], ["b"], perm=[1, 0, 2], name="back"),
             helper.make_node("Gather", ["b", "last"], ["l"], axis=1, name="pick"),
             helper.make_node("Flatten", ["b"], ["f"], name="flat"),
             helper.make_node("Concat", ["l", "f"], ["y"], axis=1, name="cat")]
    assert "read whole elsewhere too" in refused(hand_made(tmp_path, after=twice))["pick"]
    big = [helper.make_node("Constant", [], [n], name=n, value=numpy_helper.from_array(
        np.ones(shape, np.int64), n)) for n, shape in (("a", (1, 3000)), ("b", (3000, 1)))]
    bomb = [*big, helper.make_node("Mul", ["a", "b"], ["m"], name="mul"),
            helper.make_node("Identity", ["m"], ["m2"], name="read"), one, *squeeze_to_y()]
    assert "computing a constant of 9,000,000 values" in \
        refused(hand_made(tmp_path, after=bomb))["mul"]
    worded = helper.make_node("Constant", [], ["W2"], name="w2", value=helper.make_tensor(
        "s", 8, [1, 12, 2], [b"w"] * 24))                 # weights as text
    path = hand_made(tmp_path, inputs=("xt", "W2", "R", "B"), after=[one, *squeeze_to_y()],
                     before=[worded])
    assert "do not fit it" in refused(path)["lstm"]
