"""A tampered optimizer state is refused at load or before the first step, by name, never as a
crash inside the optimizer or a NaN that would be blamed on the learning rate."""
import json

import pytest
import torch
from safetensors.torch import load as st_load, save as st_save

import engine

from lwnet_archive import members, rewrite


@pytest.fixture(scope="module")
def saved_adam(tmp_path_factory):
    path = tmp_path_factory.mktemp("tamper") / "adam.lwnet"
    spec = engine.NetworkSpec.sequential((2,), [("Linear", {"out_features": 4}), ("Tanh", {}),
                                                ("Linear", {"out_features": 2})])
    engine.train(spec, "moons", engine.TrainConfig(epochs=1, optimizer="adam")).save(path)
    return path


def _drop_first(meta, tensors):
    return meta, dict(list(tensors.items())[1:])


def _fill(value):
    return lambda meta, tensors: (meta, {k: torch.full_like(v, value) for k, v in tensors.items()})


def _scalar_too(meta, tensors):
    name = meta["params"][0]
    return {**meta, "scalars": {name: {"step": 3.0}}}, tensors


def _huge_scalar(meta, tensors):
    return {**meta, "scalars": {meta["params"][0]: {"step": 1e308}}}, tensors


def _int_state(meta, tensors):
    return meta, {k: v.to(torch.int32) for k, v in tensors.items()}


@pytest.mark.parametrize("tamper, words", [
    (_drop_first, "lacks"),
    (_fill(float("nan")), "holds NaN or infinite values"),
    (_fill(-1.0), "holds negative values"),
    (_scalar_too, "is both a scalar and a tensor"),
    (_huge_scalar, "objects of finite numbers"),
    (_int_state, "an optimizer's state is floating point"),
])
def test_a_tampered_optimizer_state_is_refused_by_name(saved_adam, tmp_path, tamper, words):
    path = tmp_path / "tampered.lwnet"
    path.write_bytes(saved_adam.read_bytes())
    parts = members(path)
    meta, tensors = tamper(json.loads(parts["optimizer.json"]),
                           st_load(parts["optimizer.safetensors"]))
    rewrite(path, {"optimizer.json": json.dumps(meta).encode(),
                   "optimizer.safetensors": st_save(tensors)})
    with pytest.raises(engine.LayerwiseError, match=words):
        engine.train(engine.load(path), "moons", engine.TrainConfig(epochs=1, optimizer="adam"))
