"""Continue after edits: engine.network.transfer keeps the state of unchanged nodes, and only theirs."""
from __future__ import annotations

import torch

import engine
from engine.network.transfer import same_network, transfer, unchanged_nodes


def mlp(hidden=8, act="ReLU"):
    return engine.NetworkSpec.sequential((2,), [
        ("Linear", {"out_features": hidden}), (act, {}),
        ("Linear", {"out_features": 6}), ("ReLU", {}),
        ("Linear", {"out_features": 2})])


def trained():
    torch.manual_seed(3)
    model = engine.build(mlp())
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    return model


def test_unchanged_network_keeps_every_tensor():
    model = trained()
    t = transfer(model, model.spec.copy())
    assert t.complete and t.fresh == []
    for (k, a), (_, b) in zip(model.state_dict().items(), t.model.state_dict().items()):
        assert torch.equal(a, b), k


def test_changed_width_resets_that_layer_and_the_next_only():
    model = trained()
    spec = model.spec.copy()
    spec.set_param("linear_1", "out_features", 12)
    t = transfer(model, spec)
    assert set(t.fresh) == {"linear_1", "linear_2"}       # linear_2's input shape changed
    assert t.kept == ["linear_3"]
    assert torch.equal(t.model.layers["linear_3"].weight, model.layers["linear_3"].weight)
    assert t.model.layers["linear_1"].weight.shape == (12, 2)
    assert not t.complete


def test_changed_activation_kind_keeps_the_weights_around_it():
    model = trained()
    spec = model.spec.copy()
    old = spec.nodes["relu_1"]
    spec.remove("relu_1")
    spec.add("Tanh", {}, old.position, "relu_1")
    spec.connect("linear_1", "relu_1")
    spec.connect("relu_1", "linear_2")
    assert unchanged_nodes(model, spec) == ["input_1", "linear_1", "linear_2", "relu_2",
                                            "linear_3"]
    t = transfer(model, spec)
    assert t.complete
    for n in ("linear_1", "linear_2", "linear_3"):
        assert torch.equal(t.model.layers[n].weight, model.layers[n].weight)


def test_fresh_layers_are_seeded_and_leave_global_rng_alone():
    model = trained()
    spec = model.spec.copy()
    spec.set_param("linear_3", "init", "xavier_uniform")
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    a = transfer(model, spec, seed=5)
    after = torch.rand(1)
    b = transfer(model, spec, seed=5)
    assert torch.equal(before, after)
    assert a.fresh == ["linear_3"]
    assert torch.equal(a.model.layers["linear_3"].weight, b.model.layers["linear_3"].weight)
    assert not torch.equal(a.model.layers["linear_3"].weight, model.layers["linear_3"].weight)


def test_same_network_ignores_positions_only():
    a = mlp()
    b = a.copy()
    b.move("linear_1", (500.0, 3.0))
    assert same_network(a, b)
    b.set_param("linear_1", "bias", False)
    assert not same_network(a, b)


def test_transferred_model_trains_on():
    model = trained()
    spec = model.spec.copy()
    spec.set_param("linear_2", "out_features", 4)
    t = transfer(model, spec)
    run = engine.train(t.model, "xor", engine.TrainConfig(epochs=1, probe_every=0))
    assert run.status == "finished"


def test_lost_in_edit_names_the_trained_layers_an_edit_cannot_keep():
    spec = engine.NetworkSpec.sequential((2,), [
        ("Linear", {"out_features": 4}), ("Tanh", {}), ("Linear", {"out_features": 3}),
        ("ReLU", {}), ("Linear", {"out_features": 2})])
    assert engine.lost_in_edit(spec, spec.copy()) == []
    wider = spec.copy()
    wider.set_param("linear_2", "out_features", 5)     # changed, and linear_3's input too
    assert engine.lost_in_edit(spec, wider) == ["linear_2", "linear_3"]
    added = spec.copy()                                 # a new layer keeps every old one
    added.add("Tanh", {}, None, "tanh_2")
    added.disconnect("relu_1", "linear_3")
    added.connect("relu_1", "tanh_2")
    added.connect("tanh_2", "linear_3")
    assert engine.lost_in_edit(spec, added) == []
    removed = spec.copy()
    removed.remove("linear_3")
    assert engine.lost_in_edit(spec, removed) == ["linear_3"]
