"""Optimizer state in .lwnet files: stored as safetensors + JSON, checked strictly on load."""
from __future__ import annotations

import json

import pytest
import torch

import engine
from lwnet_archive import members, rewrite


@pytest.fixture(scope="module")
def run():
    spec = engine.NetworkSpec.sequential((2,), [("Linear", {"out_features": 8}), ("ReLU", {}),
                                                ("Linear", {"out_features": 2})], name="tiny")
    return engine.train(spec, engine.load_dataset("moons", samples=100),
                        engine.TrainConfig(epochs=1, optimizer="adam"))


def test_round_trip_without_pickle(run, tmp_path):
    path = run.save(tmp_path / "r.lwnet")
    data = members(path)
    assert {"optimizer.json", "optimizer.safetensors"} <= set(data)
    meta = json.loads(data["optimizer.json"])
    assert meta["optimizer"] == "adam" and meta["params"] == [
        n for n, _ in run.model.named_parameters()]
    saved = engine.load(path)
    state = saved.optimizer_state
    original = run.optimizer.state_dict()["state"]
    for i, name in enumerate(meta["params"]):
        for key in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(state.tensors[f"{name}/{key}"], original[i][key].cpu())
    assert saved.recipe.train.optimizer == "adam" and saved.history["status"] == "finished"
    assert all(not blob.startswith(b"\x80") for blob in data.values())


@pytest.mark.parametrize("change, words", [
    ({"optimizer.safetensors": None}, "together"),
    ({"optimizer.json": b"[]"}, "optimizer.json must be an object"),
    ({"optimizer.json": json.dumps({"optimizer": "adam", "params": ["nope.weight"],
                                    "scalars": {}}).encode()}, "does not have"),
    ({"optimizer.safetensors": b"garbage"}, "not a valid safetensors"),
])
def test_bad_optimizer_members_are_refused(run, tmp_path, change, words):
    path = run.save(tmp_path / "r.lwnet")
    rewrite(path, change)
    with pytest.raises(engine.FileFormatError, match=words):
        engine.load(path)


def test_wrong_shapes_in_the_state_are_refused(run, tmp_path):
    from safetensors.torch import save as st_save
    path = run.save(tmp_path / "r.lwnet")
    state = run.optimizer_state()
    state.tensors["layers.linear_1.weight/exp_avg"] = torch.zeros(3, 3)
    rewrite(path, {"optimizer.safetensors": st_save(state.tensors)})
    with pytest.raises(engine.FileFormatError, match=r"has shape \(3, 3\)"):
        engine.load(path)


def test_another_optimizer_starts_afresh(run, tmp_path):
    saved = engine.load(run.save(tmp_path / "r.lwnet"))
    more = engine.train(saved, "moons", engine.TrainConfig(epochs=1, optimizer="sgd"))
    assert more.history["runs"][-1]["optimizer_state"] == "new"
    assert len(more.history["epochs"]) == 2
