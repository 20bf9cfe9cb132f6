"""Conformance: every catalogue kind against torch itself (shape, parameter count, FLOPs)."""
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import engine
from engine.network.catalogue import LAYERS, by_category

# kind -> (params, input shapes per sample). Every catalogue kind must have a row.
CASES = {
    "Linear": ({"out_features": 7}, [(5,)]),
    "Conv2d": ({"out_channels": 4, "kernel_size": (3, 5), "stride": 2, "padding": 1,
                "groups": 2}, [(6, 11, 13)]),
    "MaxPool2d": ({"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
                  [(3, 10, 9)]),
    "AvgPool2d": ({"kernel_size": 2, "count_include_pad": False, "padding": 1}, [(3, 7, 8)]),
    "AdaptiveAvgPool2d": ({"output_size": (2, 3)}, [(4, 9, 7)]),
    "Flatten": ({}, [(3, 4, 5)]),
    "ReLU": ({}, [(6,)]),
    "LeakyReLU": ({"negative_slope": 0.2}, [(6,)]),
    "PReLU": ({"num_parameters": 3}, [(3, 4, 4)]),
    "ELU": ({"alpha": 0.5}, [(6,)]),
    "Softplus": ({"beta": 2.0}, [(6,)]),
    "Sigmoid": ({}, [(6,)]),
    "Tanh": ({}, [(6,)]),
    "Softsign": ({}, [(6,)]),
    "GELU": ({"approximate": "tanh"}, [(6,)]),
    "Dropout": ({"p": 0.3}, [(6,)]),
    "Dropout2d": ({"p": 0.3}, [(2, 4, 4)]),
    "BatchNorm1d": ({}, [(6,)]),
    "BatchNorm2d": ({"affine": False}, [(3, 4, 4)]),
    "Add": ({}, [(3,), (3,), (3,)]),
    "Concat": ({"dim": 1}, [(2, 3, 3), (4, 3, 3)]),
    "Multiply": ({}, [(3,), (3,)]),
    "Conv1d": ({"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1, "groups": 2},
               [(6, 11)]),
    "MaxPool1d": ({"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, [(3, 10)]),
    "AvgPool1d": ({"kernel_size": 2, "count_include_pad": False, "padding": 1}, [(3, 7)]),
    "ConvTranspose2d": ({"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1,
                         "output_padding": 1, "groups": 2}, [(6, 5, 4)]),
    "Upsample": ({"scale_factor": (2, 3), "mode": "bilinear"}, [(3, 4, 5)]),
    "Reshape": ({"shape": [2, 3, 2]}, [(12,)]),
    "Identity": ({}, [(2, 3)]),
    "LayerNorm": ({"dims": 2}, [(3, 4, 5)]),
    "GroupNorm": ({"num_groups": 3}, [(6, 4, 4)]),
    "SiLU": ({}, [(6,)]),
    "Mish": ({}, [(6,)]),
    "Softmax": ({"dim": -1}, [(2, 6)]),
    "Embedding": ({"num_embeddings": 10, "embedding_dim": 5}, [(7,)]),
    "LSTM": ({"hidden_size": 6, "num_layers": 2, "bidirectional": True, "output": "last"},
             [(5, 3)]),
    "GRU": ({"hidden_size": 6, "output": "sequence", "bias": False}, [(5, 3)]),
    "MultiheadAttention": ({"num_heads": 2}, [(5, 8)]),
}


def sample(kind: str, params: dict, shape: tuple, n: int = 2) -> torch.Tensor:
    """n inputs for a `kind` node: token ids for an Embedding, else normal values."""
    if kind == "Embedding":
        return torch.randint(0, params["num_embeddings"], (n, *shape)).float()
    return torch.randn(n, *shape)


def counted_flops(kind: str, module, x: torch.Tensor) -> int:
    """torch's FLOP count of module(x), seeing what it can: torch's fused CPU LSTM hides its
    products from the counter (run without oneDNN, it shows them), and self-attention's
    fused kernel hides QKᵀ and ·V (computed with its weights, they are counted)."""
    with FlopCounterMode(display=False) as counter:
        if kind == "LSTM":
            with torch.backends.mkldnn.flags(enabled=False):
                module(x)
        elif kind == "MultiheadAttention":
            torch.nn.MultiheadAttention.forward(module, x, x, x, need_weights=True)
        else:
            module(x)
    return counter.get_total_flops()


def test_every_kind_has_a_case():
    assert set(CASES) | {"Input"} == set(LAYERS)


def _network(kind, params, in_shapes):
    """Input -> kind for one-input kinds; for merges, one branch per input shape (a Linear for
    vectors, a 1x1 Conv2d for images: Linear takes vectors only)."""
    spec = engine.NetworkSpec()
    if len(in_shapes) == 1:
        src = spec.add("Input", {"shape": list(in_shapes[0])})
        node = spec.add(kind, params)
        spec.connect(src, node)
        return spec, node, [src]
    first = in_shapes[0]
    src = spec.add("Input", {"shape": [1] if len(first) == 1 else [1, *first[1:]]})
    node = spec.add(kind, params)
    for shape in in_shapes:
        branch = spec.add("Linear", {"out_features": shape[-1]}) if len(shape) == 1 else \
            spec.add("Conv2d", {"out_channels": shape[0], "kernel_size": 1})
        spec.connect(src, branch)
        spec.connect(branch, node)
    return spec, node, None


@pytest.mark.parametrize("kind", sorted(CASES))
def test_schema_round_trip(kind):
    params, shapes = CASES[kind]
    spec, node, _ = _network(kind, params, shapes)
    again = engine.NetworkSpec.from_dict(spec.to_dict())
    assert again == spec
    assert again.nodes[node].params == spec.nodes[node].params


@pytest.mark.filterwarnings("ignore:TF32 acceleration")
@pytest.mark.parametrize("kind", sorted(k for k, (_, s) in CASES.items() if len(s) == 1))
def test_shape_params_and_flops_match_torch(kind):
    params, shapes = CASES[kind]
    spec, node, _ = _network(kind, params, shapes)
    a = engine.analyze(spec)
    assert a.ok, a.errors
    model = engine.build(spec).eval()
    module = model.layers[node]
    x = sample(kind, params, shapes[0])
    y = module(x)
    assert tuple(y.shape[1:]) == a.shapes[node]
    assert a.params[node] == sum(p.numel() for p in module.parameters())
    assert a.node_flops[node] * 2 == counted_flops(kind, module, x)   # batch of 2


@pytest.mark.parametrize("kind", ["Add", "Concat", "Multiply"])
def test_merges_match_torch(kind):
    params, shapes = CASES[kind]
    spec, node, _ = _network(kind, params, shapes)
    a = engine.analyze(spec)
    assert a.ok, a.errors
    model = engine.build(spec).eval()
    x = torch.randn(3, *a.shapes["input_1"])
    branches = [model.layers[b](x) for b in spec.inputs_of(node)]
    expected = sum(branches) if kind == "Add" else branches[0] * branches[1] \
        if kind == "Multiply" else torch.cat(branches, dim=params["dim"])
    assert torch.allclose(model(x), expected)
    assert tuple(model(x).shape[1:]) == a.output_shape


def test_whole_networks_count_like_torch():
    for name in ("lenet5", "mlp", "residual", "deep_sigmoid", "toy_2d"):
        spec = engine.load(f"resources/examples/{name}.json").spec
        a = engine.analyze(spec)
        model = engine.build(spec).eval()
        with FlopCounterMode(display=False) as counter:
            out = model(torch.zeros(1, *a.shapes[a.input_id]))
        assert a.total_params == sum(p.numel() for p in model.parameters())
        assert a.flops == counter.get_total_flops()
        assert tuple(out.shape[1:]) == a.output_shape


def test_every_kind_is_described():
    groups = by_category()
    assert sum(len(v) for v in groups.values()) == len(LAYERS)
    for kind in LAYERS.values():
        assert kind.doc and kind.category in groups
        for p in kind.params:
            assert p.help, f"{kind.name}.{p.name} has no help"
            assert p.validate(p.default) == p.default or p.nullable


@pytest.mark.parametrize("kind,name,value,words", [
    ("Linear", "out_features", 0, "from 1 to"),
    ("Linear", "out_features", 2.5, "whole number"),
    ("Linear", "out_features", "ten", "whole number"),
    ("Linear", "bias", 1, "true or false"),
    ("Linear", "init", "glorot", "one of 'auto'"),
    ("Conv2d", "kernel_size", [3, 3, 3], "pair"),
    ("Conv2d", "padding", -1, "at least 0"),
    ("Dropout", "p", 1.5, "from 0 to 1"),
    ("Dropout", "p", float("nan"), "a number"),
    ("Input", "shape", [], "list of 1 to 4"),
    ("Input", "shape", [1, 0, 3], "at least 1"),
])
def test_bad_values_are_refused_with_a_message(kind, name, value, words):
    with pytest.raises(ValueError) as info:
        LAYERS[kind].param(name).validate(value)
    assert name in str(info.value) and words in str(info.value)


def test_pair_and_list_values_are_normalised():
    assert LAYERS["Conv2d"].param("kernel_size").validate([3, 5]) == (3, 5)
    assert LAYERS["Input"].param("shape").validate(784) == (784,)
    assert LAYERS["Dropout"].param("p").validate(0) == 0.0


@pytest.mark.parametrize("init,expect_std", [
    ("uniform", (1 / 100 ** 0.5) / 3 ** 0.5),          # U(-1/sqrt(n), 1/sqrt(n))
    ("xavier_uniform", (2 / (100 + 200)) ** 0.5),
    ("xavier_normal", (2 / (100 + 200)) ** 0.5),
    ("kaiming_uniform", (2 / 100) ** 0.5),
    ("kaiming_normal", (2 / 100) ** 0.5),
])
def test_init_schemes_have_the_textbook_scale(init, expect_std):
    torch.manual_seed(0)
    spec = engine.NetworkSpec.sequential((100,), [("Linear", {"out_features": 200, "init": init}),
                                                  ("ReLU", {})])
    layer = engine.build(spec).layers["linear_1"]
    assert layer.weight.std().item() == pytest.approx(expect_std, rel=0.05)
    assert torch.count_nonzero(layer.bias) == 0


@pytest.mark.parametrize("follower,scheme", [
    ("ReLU", "kaiming_uniform"), ("ELU", "kaiming_uniform"), ("Tanh", "xavier_uniform"),
    ("Sigmoid", "xavier_uniform"), ("Softsign", "xavier_uniform"), (None, "pytorch"),
])
def test_auto_init_follows_the_next_activation(follower, scheme):
    layers = [("Linear", {"out_features": 8}), ("Dropout", {}), ("BatchNorm1d", {})]
    if follower:
        layers.append((follower, {}))
    spec = engine.NetworkSpec.sequential((4,), layers)
    assert engine.analyze(spec).inits["linear_1"][0] == scheme


def test_auto_init_after_leaky_relu_uses_its_slope():
    spec = engine.NetworkSpec.sequential((4,), [("Linear", {"out_features": 8}),
                                               ("LeakyReLU", {"negative_slope": 0.2})])
    assert engine.analyze(spec).inits["linear_1"] == ("kaiming_uniform", "leaky_relu", 0.2)


def test_linear_maps_each_step_of_a_sequence_and_refuses_images():
    spec, node, _ = _network("Linear", {"out_features": 7}, [(4, 5)])
    a = engine.analyze(spec)
    assert a.ok and a.shapes[node] == (4, 7)
    module = engine.build(spec).layers[node]
    x = torch.randn(2, 4, 5)
    assert torch.equal(module(x)[:, 2], module(x[:, 2]))            # step by step
    assert a.node_flops[node] * 2 == counted_flops("Linear", module, x)
    image, _, _ = _network("Linear", {"out_features": 7}, [(3, 4, 5)])
    assert "insert a Flatten" in next(iter(engine.analyze(image).errors.values()))


@pytest.mark.parametrize("kind,shape", [("Conv2d", (6, 8, 8)), ("Conv1d", (6, 10)),
                                        ("ConvTranspose2d", (6, 4, 4))])
def test_groups_must_divide_the_channels_of_every_convolution(kind, shape):
    spec, node, _ = _network(kind, {"out_channels": 4, "groups": 3}, [shape])
    assert "groups=3, which must divide both its 6 input channels and its 4 output" in \
        engine.analyze(spec).errors[node]
