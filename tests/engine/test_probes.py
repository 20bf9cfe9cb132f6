"""Probes compared with a direct torch computation on the same batch."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import engine
from engine.run.probes import Watch


def deep(act="Tanh", init="auto", width=12, depth=3, classes=3, inputs=2):
    layers = []
    for _ in range(depth):
        layers += [("Linear", {"out_features": width, "init": init}), (act, {})]
    return engine.NetworkSpec.sequential((inputs,), layers + [
        ("Linear", {"out_features": classes})])


def direct(model, x, y):
    """Every statistic computed by hand: outputs kept with retain_grad, one backward."""
    outs = {model.input_id: x}
    for n in model.order:
        outs[n] = model.layers[n](*(outs[p] for p in model.inputs[n]))
        outs[n].retain_grad()
    model.zero_grad()
    F.cross_entropy(outs[model.output_id], y).backward()
    stats = {}
    for n in model.order:
        kind = engine.LAYERS[model.spec.nodes[n].kind]
        a = outs[n].detach()
        if kind.weighted:
            w, d = model.layers[n].weight, outs[n].grad
            stats[n] = {"grad_norm": w.grad.norm().item(), "weight_norm": w.norm().item(),
                        "delta_norm": d.norm().item(),
                        # per weight / per output value: no factor of the layer's size
                        "grad_rms": w.grad.pow(2).mean().sqrt().item(),
                        "delta_rms": d.pow(2).mean().sqrt().item(),
                        "grad_ratio": (w.grad.norm() / w.norm()).item()}
        elif kind.category == "Activation":
            flat = a.reshape(len(a), -1)
            stats[n] = {"sparsity": (a == 0).float().mean().item(),
                        "dead": sum(bool((flat[:, j] == 0).all()) for j in range(flat.shape[1]))
                        / flat.shape[1],
                        "mean_activation": a.mean().item()}
            if kind.bounds:
                lo, hi = kind.bounds
                m = 0.05 * (hi - lo)
                stats[n]["saturation"] = ((a <= lo + m) | (a >= hi - m)).float().mean().item()
    model.zero_grad(set_to_none=True)
    return stats


def assert_close(got, want):
    assert set(got) == set(want)
    for n in want:
        assert set(got[n]) == set(want[n]), n
        for stat, value in want[n].items():
            assert got[n][stat] == pytest.approx(value, rel=1e-5, abs=1e-7), (n, stat)


@pytest.mark.parametrize("act", ["Tanh", "ReLU", "Sigmoid", "Softsign", "LeakyReLU", "ELU",
                                 "Softplus", "Softmax"])
def test_probe_matches_a_direct_computation(act):
    data = engine.load_dataset("spiral", samples=300)
    torch.manual_seed(1)
    model = engine.build(deep(act))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    got = engine.probe(model, data, samples=100, seed=5)
    pick = torch.randperm(300, generator=torch.Generator().manual_seed(5))[:100]
    assert_close(got, direct(model, data.x[pick], data.y[pick]))
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert not any(m._forward_hooks for m in model.modules()) and not model._taps


def test_probe_on_a_convolutional_network_with_batch_norm():
    spec = engine.NetworkSpec.sequential((1, 8, 8), [
        ("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("BatchNorm2d", {}), ("ReLU", {}),
        ("MaxPool2d", {"kernel_size": 2}), ("Flatten", {}), ("Linear", {"out_features": 3})])
    x = torch.randn(40, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    data = engine.data.dataset.make_dataset("blobs", x.numpy(), (torch.arange(40) % 3).numpy(),
                                            "classification")
    model = engine.build(spec)
    buffers = {k: v.clone() for k, v in model.state_dict().items() if "running" in k}
    got = engine.probe(model, data, samples=40)
    for k, v in buffers.items():          # running statistics restored
        assert torch.equal(model.state_dict()[k], v)
    pick = torch.randperm(40, generator=torch.Generator().manual_seed(0))
    want = direct(model.train(), data.x[pick], data.y[pick])
    assert_close({k: v for k, v in got.items() if k != "batchnorm2d_1"},
                 {k: v for k, v in want.items() if k != "batchnorm2d_1"})
    assert set(got["batchnorm2d_1"]) == {"grad_norm", "delta_norm", "weight_norm",
                                         "grad_rms", "delta_rms", "grad_ratio"}


def test_probe_of_a_spec_is_seeded():
    spec, data = deep(), engine.load_dataset("spiral")
    assert engine.probe(spec, data, seed=3) == engine.probe(spec, data, seed=3)
    assert engine.probe(spec, data, seed=3) != engine.probe(spec, data, seed=4)


def test_training_probe_at_step_one_matches_a_direct_computation():
    data = engine.load_dataset("spiral", samples=200)
    torch.manual_seed(0)
    model = engine.build(deep("Tanh"))
    start = engine.build(deep("Tanh"))
    start.load_state_dict(model.state_dict())
    train_idx, _ = data.split(0.1, seed=0)
    run = engine.train(model, data, engine.TrainConfig(epochs=1, batch_size=len(train_idx),
                                                       probe_every=1, optimizer="sgd"))
    probes = run.history["probes"]
    got = {n: {s: v[0] for s, v in t.items()} for n, t in probes["layers"].items()}
    assert probes["step"] == [1]
    assert_close(got, direct(start, data.x[train_idx], data.y[train_idx]))


def test_vanishing_gradient_is_visible_in_a_deep_sigmoid_stack():
    data = engine.load_dataset("mnist-5k")
    stats = engine.probe(engine.load(
        "resources/examples/deep_sigmoid.json").spec, data, samples=200)
    delta = [stats[f"linear_{i}"]["delta_norm"] for i in range(1, 7)]
    assert delta[0] < delta[-1] / 20          # ‖∂L/∂a‖ shrinks towards the input
    relu = engine.probe(engine.load("resources/examples/deep_relu_he.json").spec, data,
                        samples=200)
    assert 0.3 < relu["relu_1"]["sparsity"] < 0.7   # about half the rectifiers are off


def test_saturation_and_dead_units():
    spec = engine.NetworkSpec.sequential((2,), [("Linear", {"out_features": 4}), ("Sigmoid", {}),
                                                ("Linear", {"out_features": 4}), ("ReLU", {}),
                                                ("Linear", {"out_features": 2})])
    model = engine.build(spec)
    with torch.no_grad():
        model.layers["linear_1"].weight.fill_(100.0)      # sigmoid pinned at 0 or 1
        model.layers["linear_2"].weight.zero_()
        model.layers["linear_2"].bias.copy_(torch.tensor([-1.0, -1.0, 1.0, 1.0]))
    stats = engine.probe(model, engine.load_dataset("moons"))
    assert stats["sigmoid_1"]["saturation"] > 0.95
    assert stats["relu_1"]["dead"] == 0.5 and stats["relu_1"]["sparsity"] == 0.5
    assert stats["linear_1"]["grad_norm"] < 1e-3 * stats["linear_3"]["grad_norm"]


def test_a_model_is_watched_by_one_run_at_a_time():
    model = engine.build(deep())
    watch = Watch(model)
    try:
        with pytest.raises(engine.TrainingError, match="already being probed"):
            engine.train(model, "spiral", engine.TrainConfig(epochs=1))
    finally:
        watch.close()
    engine.probe(model, "spiral")               # free again


def test_probe_statistics_are_fetched_in_one_transfer(monkeypatch):
    transfers = []

    def counted(name):
        real = getattr(torch.Tensor, name)

        def transfer(self, *args, **kwargs):
            transfers.append(tuple(self.shape))
            return real(self, *args, **kwargs)
        return transfer

    def forbidden(self, *args, **kwargs):
        pytest.fail("a per-layer .item()/.cpu() in a probe")
    model, data = engine.build(deep()), engine.load_dataset("spiral")
    for name in ("tolist", "numpy"):
        monkeypatch.setattr(torch.Tensor, name, counted(name))
    for name in ("item", "cpu"):
        monkeypatch.setattr(torch.Tensor, name, forbidden)
    engine.probe(model, data, samples=64)
    # 4 Linear x (weight, gradient, output gradient) norms + 3 Tanh x (nonzero, sum, dead,
    # saturated) — reduced per layer on the device
    assert transfers == [(4 * 3 + 3 * 4,)]


def test_probe_arguments_are_checked():
    with pytest.raises(engine.TrainingError, match="samples"):
        engine.probe(deep(), "spiral", samples=0)
    with pytest.raises(engine.DatasetError, match="Input has shape"):
        engine.probe(deep(inputs=3), "spiral")


@pytest.mark.parametrize("kind", [k for k in engine.LAYERS.values() if k.nonnegative],
                         ids=lambda kind: kind.name)
def test_activations_counted_as_nonnegative_never_give_negative_outputs(kind):
    """The probes count the nonzero outputs of these kinds by their signs as they are (no
    absolute value): a negative output would be counted as -1 (a -0.0 adds 0, as it should)."""
    assert kind.category == "Activation"
    x = torch.cat([torch.randn(64, 3, 8) * 10, torch.full((1, 3, 8), -1e4),
                   torch.full((1, 3, 8), -0.0)])
    spec = engine.NetworkSpec.sequential((3, 8), [(kind.name, {})])
    out = engine.build(spec)(x)
    assert (out >= 0).all()


def test_probe_of_mixed_activations_matches_a_direct_computation():
    """Saturating and rectifying layers reduced together, in one plan."""
    spec = engine.NetworkSpec.sequential((2,), [
        ("Linear", {"out_features": 9}), ("Sigmoid", {}), ("Linear", {"out_features": 7}),
        ("ReLU", {}), ("Linear", {"out_features": 5}), ("Tanh", {}),
        ("Linear", {"out_features": 3})])
    data = engine.load_dataset("spiral", samples=200)
    torch.manual_seed(3)
    model = engine.build(spec)
    got = engine.probe(model, data, samples=50, seed=2)
    pick = torch.randperm(200, generator=torch.Generator().manual_seed(2))[:50]
    assert_close(got, direct(model, data.x[pick], data.y[pick]))


def test_large_networks_sum_per_layer_without_a_membership_matrix(monkeypatch):
    """Above the size limit each layer is summed on its own; the statistics are the same."""
    from engine.run import probes as probes
    spec = engine.NetworkSpec.sequential((1, 8, 8), [
        ("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("Tanh", {}),
        ("Flatten", {}), ("Linear", {"out_features": 6}), ("ReLU", {}),
        ("Linear", {"out_features": 3})])
    x = torch.randn(30, 1, 8, 8, generator=torch.Generator().manual_seed(4))
    data = engine.data.dataset.make_dataset("blobs", x.numpy(), (torch.arange(30) % 3).numpy(),
                                            "classification")
    torch.manual_seed(2)
    model = engine.build(spec)
    small = engine.probe(model, data, samples=30)
    monkeypatch.setattr(probes, "MEMBERSHIP_LIMIT", 0)
    large = engine.probe(model, data, samples=30)
    assert_close(large, small)
    assert_close(large, direct(model, x, torch.arange(30) % 3))


def test_norms_of_mixed_precision_tensors_are_grouped_by_dtype():
    from engine.run.probes import _norms
    g = torch.Generator().manual_seed(0)
    tensors = [torch.randn(30, generator=g), torch.randn(4, 5, generator=g).bfloat16(),
               torch.randn(7, generator=g), torch.randn(3, generator=g).half()]
    got = _norms(tensors)
    assert got.dtype == torch.float32
    assert got.tolist() == pytest.approx([t.float().norm().item() for t in tensors], rel=1e-2)


def test_model_taps_see_every_layer_and_are_not_copied():
    import copy
    model = engine.build(deep())
    seen = []
    untap = model.add_tap(lambda outs: seen.append({n: tuple(o.shape) for n, o in outs.items()}))
    y = model(torch.zeros(4, 2))
    assert len(seen) == 1 and list(seen[0]) == [model.input_id, *model.order]
    assert seen[0][model.output_id] == tuple(y.shape) == (4, 3)
    assert copy.deepcopy(model)._taps == [] and len(model._taps) == 1
    untap()
    model(torch.zeros(4, 2))
    assert len(seen) == 1 and not model._taps


def test_a_capturing_backward_gives_what_backward_and_retain_grad_give():
    """The training loop's probed steps use Watch.backward (autograd.grad, no copies of the
    layer-output gradients); the parameters get exactly the gradients loss.backward() gives."""
    data = engine.load_dataset("spiral", samples=64)
    torch.manual_seed(3)
    retained = engine.build(deep("ReLU", depth=2))
    captured = engine.build(deep("ReLU", depth=2))
    captured.load_state_dict(retained.state_dict())
    stats, grads = [], []
    for model, retain in ((retained, True), (captured, False)):
        watch = Watch(model, retain=retain)
        watch.attach()
        loss = F.cross_entropy(model(data.x), data.y)
        if retain:
            loss.backward()
        else:
            watch.backward(loss, list(model.parameters()))
        deltas = watch.layer_output_gradients()
        assert set(deltas) == set(watch.weighted)
        stats.append(watch.collect())
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
        watch.close()
    assert all(torch.equal(grads[0][n], grads[1][n]) for n in grads[0])
    assert stats[0] == stats[1]


def test_captured_gradients_are_stored_as_autograd_would_store_them():
    from engine.run.probes import _accumulate
    params = [torch.zeros(2, 3, requires_grad=True) for _ in range(4)]
    params[3].grad = torch.ones(2, 3)
    shared = torch.full((2, 3), 2.0)
    view = torch.arange(12.0).view(2, 6)[:, :3]                 # laid out unlike the weight
    _accumulate(params, [shared, shared, view, shared])
    assert params[0].grad is shared                              # taken as it is
    assert params[1].grad is not shared and torch.equal(params[1].grad, shared)
    assert params[2].grad.stride() == params[2].stride() and torch.equal(params[2].grad, view)
    broadcast = torch.ones(3).expand(2, 3)
    _accumulate(params[1:2], [None])
    fresh = torch.zeros(2, 3, requires_grad=True)
    _accumulate([fresh], [broadcast])
    assert fresh.grad.stride() == (3, 1) and torch.equal(fresh.grad, torch.ones(2, 3))
    assert torch.equal(params[3].grad, torch.full((2, 3), 3.0))   # accumulated
    _accumulate(params[:1], [None])
    assert params[0].grad is shared


def test_probe_layouts_are_reused_and_follow_the_batch_size():
    """The keys tuple is worked out once per batch size; a smaller last batch has its own."""
    data = engine.load_dataset("spiral", samples=200)
    torch.manual_seed(5)
    model = engine.build(deep("ReLU"))
    watch = Watch(model, retain=False)
    keys = []
    for n in (50, 50, 17):
        x, y = data.x[:n], data.y[:n]
        watch.attach()
        model.zero_grad(set_to_none=True)
        watch.backward(F.cross_entropy(model(x), y), list(model.parameters()))
        k, values = watch.collect_values()
        watch.remove()
        keys.append(k)
        assert_close(watch.nest(k, values), direct(model, x, y))
    watch.close()
    assert keys[0] is keys[1] and keys[2] is not keys[0] and keys[2] == keys[0]


def test_a_frozen_layer_reports_no_gradient():
    data = engine.load_dataset("spiral", samples=60)
    model = engine.build(deep("Tanh"))
    first = model.layers[model.order[0]]
    first.weight.requires_grad_(False)
    first.bias.requires_grad_(False)
    watch = Watch(model, retain=False)
    watch.attach()
    trainable = [p for p in model.parameters() if p.requires_grad]
    watch.backward(F.cross_entropy(model(data.x), data.y), trainable)
    stats = watch.collect()
    watch.close()
    assert stats[model.order[0]]["grad_norm"] == 0.0
    assert "delta_norm" not in stats[model.order[0]]        # its output needs no gradient
    assert stats[model.order[2]]["grad_norm"] > 0 and stats[model.order[2]]["delta_norm"] > 0


def test_layers_of_several_weight_tensors_are_probed_as_one():
    """Recurrent and attention layers hold several weight matrices: each statistic is that of
    all of them together (‖W‖ = √Σ‖Wᵢ‖²), and the layer's output gradient is its own."""
    from engine.run.probes import layer_weights
    spec = engine.NetworkSpec.sequential((6,), [
        ("Embedding", {"num_embeddings": 12, "embedding_dim": 8}),
        ("LSTM", {"hidden_size": 5, "bidirectional": True}),
        ("MultiheadAttention", {"num_heads": 2}),
        ("GRU", {"hidden_size": 4, "output": "last"}), ("Linear", {"out_features": 3})])
    g = torch.Generator().manual_seed(5)
    x, y = torch.randint(0, 12, (40, 6), generator=g).float(), torch.arange(40) % 3
    data = engine.data.dataset.make_dataset("ids", x.numpy(), y.numpy(), "classification")
    torch.manual_seed(1)
    model = engine.build(spec)
    assert [tuple(w.shape) for w in layer_weights(model.layers["lstm_1"])] == \
        [(20, 8), (20, 5), (20, 8), (20, 5)]       # both directions: input and hidden weights
    got = engine.probe(model, data, samples=40)
    outs = {model.input_id: x}
    for n in model.order:
        outs[n] = model.layers[n](outs[model.inputs[n][0]])
        outs[n].retain_grad()
    model.zero_grad()
    F.cross_entropy(outs[model.output_id], y).backward()
    for n in model.order:
        weights = layer_weights(model.layers[n])
        norm = sum(w.norm() ** 2 for w in weights).sqrt()
        grad = sum(w.grad.norm() ** 2 for w in weights).sqrt()
        size = sum(w.numel() for w in weights)
        want = {"weight_norm": norm, "grad_norm": grad, "grad_ratio": grad / norm,
                "grad_rms": grad / size ** 0.5, "delta_norm": outs[n].grad.norm()}
        for stat, value in want.items():
            assert got[n][stat] == pytest.approx(value.item(), rel=1e-5), (n, stat)
