"""Damaged ONNX models for the importer: seed models exported from small networks (dense,
convolutional, 1-D, recurrent: what PyTorch's exporter writes around an LSTM or GRU), then byte
damage (flips, overwrites, truncation, insertion) or a damaged protobuf rebuilt around valid
parts. An ONNX file is only ever read: importing one must
give the project's own error or a network that builds and gives the source's outputs."""
from __future__ import annotations

import warnings
from pathlib import Path

from hypothesis import strategies as st

import engine
from engine.errors import LayerwiseError
from fuzz_bytes import damaged

SEEDS = {
    "dense": ((4,), [("Linear", {"out_features": 6}), ("ReLU", {}),
                     ("Linear", {"out_features": 3})]),
    "conv": ((1, 8, 8), [("Conv2d", {"out_channels": 2, "kernel_size": 3}), ("Tanh", {}),
                         ("MaxPool2d", {"kernel_size": 2}), ("Flatten", {}),
                         ("Linear", {"out_features": 2})]),
    "signal": ((2, 12), [("Conv1d", {"out_channels": 3, "kernel_size": 3}), ("SiLU", {}),
                         ("Flatten", {}), ("Linear", {"out_features": 2})]),
    "lstm": ((6, 2), [("LSTM", {"hidden_size": 3, "output": "last"}),
                      ("Linear", {"out_features": 2})]),
    "gru": ((5, 2), [("GRU", {"hidden_size": 2, "output": "sequence", "bidirectional": True}),
                     ("Flatten", {}), ("Linear", {"out_features": 2})]),
}


def seed_models(folder: Path) -> list[bytes]:
    """The seed models' bytes, exported once into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, (shape, layers) in SEEDS.items():
        path = folder / f"{name}.onnx"
        if not path.exists():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                engine.export(engine.NetworkSpec.sequential(shape, layers), path, format="onnx")
        out.append(path.read_bytes())
    return out


def onnx_files(seeds: list[bytes]) -> st.SearchStrategy:
    """A seed as it is (now and then) or damaged."""
    return st.sampled_from(seeds).flatmap(
        lambda data: st.one_of(st.just(data), damaged(data, max_ops=4), damaged(data, 12)))


def check_onnx(path: Path) -> str:
    """Refused with the project's error, or imported as a valid network whose model gives the
    outputs it was checked against (import_network compares them before it returns)."""
    try:
        result = engine.import_network(str(path))
    except LayerwiseError:
        return "refused"
    analysis = engine.analyze(result.spec)
    assert analysis.ok, analysis.errors
    out = result.model(result.model.example_input(2))
    assert tuple(out.shape[1:]) == analysis.output_shape
    return "accepted"
