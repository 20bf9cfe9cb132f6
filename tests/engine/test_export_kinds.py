"""Each layer kind exports: to PyTorch source, TorchScript and ONNX, each reproducing the
network's outputs (export's own check, at another batch size than traced), in a small network
around the kind (tests/engine/test_catalogue.py's case for it). The first release's kinds are
exported within the example networks (tests/engine/test_export.py); here, the kinds added
since, which no example holds alone."""
import importlib.util

import pytest
import torch

import engine
from engine.io.export import export

from test_catalogue import CASES, _network

HAVE_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript", "onnxruntime"))
SUFFIX = {"python": ".py", "torchscript": ".pt", "onnx": ".onnx"}
ADDED = ["Conv1d", "MaxPool1d", "AvgPool1d", "ConvTranspose2d", "Upsample", "LayerNorm",
         "GroupNorm", "Embedding", "LSTM", "GRU", "MultiheadAttention", "SiLU", "Mish",
         "Softmax", "Identity", "Reshape", "Multiply"]


def trained(spec):
    torch.manual_seed(0)
    model = engine.build(spec)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)       # not the initial values
    return model.eval()


def check(model, path):
    result = export(model, path, format=path.suffix.lstrip(".").replace("pt", "torchscript")
                    .replace("py", "python"))
    assert result.max_difference is not None and result.max_difference <= 1e-5, \
        result.max_difference


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("fmt", ["python", "torchscript"])
@pytest.mark.parametrize("kind", ADDED)
def test_every_added_kind_exports_and_reproduces_its_outputs(tmp_path, kind, fmt):
    params, shapes = CASES[kind]
    check(trained(_network(kind, params, shapes)[0]), tmp_path / f"net{SUFFIX[fmt]}")


# ONNX export takes about a second a network: the added kinds go in three networks
SEQUENCE = [("Embedding", {"num_embeddings": 12, "embedding_dim": 8}),
            ("MultiheadAttention", {"num_heads": 2}), ("LayerNorm", {}), ("Mish", {}),
            ("GRU", {"hidden_size": 6, "output": "last", "bidirectional": True}),
            ("Softmax", {"dim": -1})]
SIGNAL = [("Conv1d", {"out_channels": 4, "kernel_size": 3, "padding": 1}), ("SiLU", {}),
          ("MaxPool1d", {"kernel_size": 2}),
          ("AvgPool1d", {"kernel_size": 3, "stride": 1, "padding": 1}),
          ("Identity", {}), ("Flatten", {}), ("Reshape", {"shape": [2, 4, 4]}),
          ("ConvTranspose2d", {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1,
                               "output_padding": 1}),
          ("GroupNorm", {"num_groups": 2}), ("Upsample", {"mode": "bilinear"})]


def gated():
    """Input -> (Linear, Sigmoid) and Linear -> Multiply."""
    spec = engine.NetworkSpec()
    x = spec.add("Input", {"shape": [5]})
    a, b = spec.add("Linear", {"out_features": 4}), spec.add("Linear", {"out_features": 4})
    gate, product = spec.add("Sigmoid", {}), spec.add("Multiply", {})
    for src, dst in ((x, a), (x, b), (a, gate), (gate, product), (b, product)):
        spec.connect(src, dst)
    return spec


def test_the_onnx_networks_hold_every_added_kind():
    """Here or in an example network (each exported to ONNX by tests/engine/test_export.py:
    the LSTM's export alone takes 4 s)."""
    kinds = {k for k, _ in SEQUENCE + SIGNAL} | {n.kind for n in gated().nodes.values()}
    kinds |= {n.kind for n in engine.load("resources/examples/lstm_adding.json").spec.nodes
              .values()}
    assert set(ADDED) <= kinds


@pytest.mark.skipif(not HAVE_ONNX, reason="the 'onnx' extra is not installed")
@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", ["sequence", "signal", "gated"])
def test_the_added_kinds_export_to_onnx(tmp_path, name):
    spec = gated() if name == "gated" else engine.NetworkSpec.sequential(
        (6,) if name == "sequence" else (2, 16), SEQUENCE if name == "sequence" else SIGNAL)
    assert engine.analyze(spec).ok, engine.analyze(spec).errors
    check(trained(spec), tmp_path / "net.onnx")
