"""A recurrent layer's probes along its sequence (engine.run.probes_steps): the gradient
reaching each part of the sequence and the saturation of its hidden outputs, equal to what
autograd gives directly; read by the diagnostics."""
import copy

import pytest
import torch

import engine
from engine import diagnostics
from engine.run.probes import Watch


def network(kind="LSTM", steps=20, output="last", bidirectional=False, head="Linear"):
    layers = [(kind, {"hidden_size": 6, "output": output, "bidirectional": bidirectional})]
    if output != "last":
        layers.append(("Flatten", {}))
    layers.append((head, {"out_features": 2}))
    torch.manual_seed(0)
    return engine.build(engine.NetworkSpec.sequential((steps, 3), layers))


def by_hand(model, x, y):
    """(∂L/∂x of the recurrent layer's input, its output sequence) from autograd alone."""
    x = x.clone().requires_grad_()
    rnn = model.layers[model.order[0]]
    seq = torch.nn.LSTM.forward(rnn, x)[0] if isinstance(rnn, torch.nn.LSTM) else \
        torch.nn.GRU.forward(rnn, x)[0]
    loss = torch.nn.functional.cross_entropy(model(x), y)
    return torch.autograd.grad(loss, x)[0], seq.detach()


def parts(per_step, k):
    """The steps of a (batch, steps, ...) tensor split into k parts as the probes split them
    (step t in part t * k // steps)."""
    steps = per_step.shape[1]
    return [per_step[:, [t for t in range(steps) if t * k // steps == j]] for j in range(k)]


def watched(model, x, y):
    watch = Watch(model, retain=False)
    try:
        watch.attach()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        copied = copy.deepcopy(model)                     # a copy keeps no tap
        assert not copied._input_taps and model._input_taps
        grads = watch.grad(loss, watch.weight_list)
        return watch.collect(grads, watch.layer_output_gradients())
    finally:
        watch.close()
        assert not model._input_taps                     # taken off


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_the_gradient_reaching_each_part_of_the_sequence_is_autograds(kind):
    torch.manual_seed(0)
    model, x, y = network(kind), torch.randn(16, 20, 3), torch.randint(0, 2, (16,))
    stats = watched(model, x, y)[model.order[0]]
    grad, _ = by_hand(model, x, y)
    expected = [float(p.square().mean().sqrt()) for p in parts(grad, 8)]
    got = [stats[f"step_grad_{k}"] for k in range(1, 9)]
    assert got == pytest.approx(expected, rel=1e-4)
    assert stats["step_grad_reach"] == pytest.approx(expected[0] / expected[-1], rel=1e-4)
    assert "step_grad_9" not in stats and "step_saturation_1" not in stats   # last step only
    assert expected[0] < expected[-1]          # at initialisation, it fades towards the start


def test_a_sequence_output_gives_its_saturation_per_step_and_short_ones_each_step():
    torch.manual_seed(1)
    model = network("GRU", steps=5, output="sequence")
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(6)                             # large weights: saturated hidden states
    x, y = torch.randn(8, 5, 3), torch.randint(0, 2, (8,))
    stats = watched(model, x, y)[model.order[0]]
    grad, seq = by_hand(model, x, y)
    saturated = [float((seq[:, t].abs() >= 0.9).float().mean()) for t in range(5)]
    assert [stats[f"step_saturation_{t}"] for t in range(1, 6)] == pytest.approx(saturated)
    assert max(saturated) > 0.2 and "step_saturation_6" not in stats
    assert [stats[f"step_grad_{t}"] for t in range(1, 6)] == pytest.approx(
        [float(grad[:, t].square().mean().sqrt()) for t in range(5)], rel=1e-4)


def test_a_bidirectional_layer_has_a_profile_but_no_reach():
    torch.manual_seed(2)
    model = network("LSTM", steps=12, bidirectional=True)
    stats = watched(model, torch.randn(4, 12, 3), torch.randint(0, 2, (4,)))[model.order[0]]
    assert "step_grad_8" in stats and "step_grad_reach" not in stats


def test_training_records_the_profile_and_only_for_recurrent_layers():
    spec = engine.load("resources/examples/lstm_adding.json").spec
    data = engine.load_dataset("adding", samples=256, steps=50)
    run = engine.train(spec, data, engine.TrainConfig(epochs=1, batch_size=32, probe_every=3,
                                                      seed=0))
    layers = run.history["probes"]["layers"]
    recurrent, = [n for n, s in spec.nodes.items() if s.kind == "LSTM"]
    assert {f"step_grad_{k}" for k in range(1, 9)} | {"step_grad_reach"} <= set(layers[recurrent])
    assert not any(stat.startswith("step_") for n, table in layers.items() if n != recurrent
                   for stat in table)
    assert len(layers[recurrent]["step_grad_1"]) == len(run.history["probes"]["step"]) == 3
    mlp = engine.train(engine.NetworkSpec.sequential((2,), [("Linear", {"out_features": 2})]),
                       "xor", engine.TrainConfig(epochs=1, probe_every=1))
    assert not any(s.startswith("step_") for t in mlp.history["probes"]["layers"].values()
                   for s in t)


def test_the_diagnostics_name_a_gradient_that_fades_through_time():
    labels = {"lstm_1": "LSTM 1"}
    fading = diagnostics.warnings({"lstm_1": {"step_grad_reach": 0.0004}}, labels)
    assert fading == ["The gradient reaching the first steps of LSTM 1's sequence is 1/2,500 "
                      "of that reaching its last steps: vanishing gradient through time, what "
                      "the early steps hold barely changes the weights. Try shorter sequences, "
                      "or self-attention (MultiheadAttention), which reaches every step in one "
                      "hop."]
    assert diagnostics.warnings({"lstm_1": {"step_grad_reach": 0.02}}, labels) == []
