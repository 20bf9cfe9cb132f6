"""The engine's optimizers: PyTorch's fused kernels where it has them, the same updates as
torch.optim's defaults to rounding, and runs that repeat exactly."""
from __future__ import annotations

import pytest
import torch

import engine
import engine.run.optim as optim
from engine.run.optim import make_optimizer

KINDS = ("sgd", "sgd+momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad")


def weights(seed: int = 0, dtype=torch.float32) -> list[torch.nn.Parameter]:
    g = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(shape, generator=g, dtype=dtype))
            for shape in ((16, 8), (16,), (3, 16), (3,))]


def default_kernels(kind: str, params, cfg: engine.TrainConfig) -> torch.optim.Optimizer:
    """What torch.optim builds for `kind` with the engine's settings and its own kernels."""
    O, lr, wd = torch.optim, cfg.learning_rate, 0.01
    return {"sgd": lambda: O.SGD(params, lr=lr, weight_decay=wd, foreach=False),
            "sgd+momentum": lambda: O.SGD(params, lr=lr, momentum=cfg.momentum,
                                          weight_decay=wd, foreach=False),
            "nesterov": lambda: O.SGD(params, lr=lr, momentum=cfg.momentum, nesterov=True,
                                      weight_decay=wd, foreach=False),
            "adam": lambda: O.Adam(params, lr=lr, weight_decay=wd, foreach=False),
            "adamw": lambda: O.AdamW(params, lr=lr, weight_decay=wd, foreach=False),
            "rmsprop": lambda: O.RMSprop(params, lr=lr, weight_decay=wd, foreach=False),
            "adagrad": lambda: O.Adagrad(params, lr=lr, weight_decay=wd, foreach=False)}[kind]()


@pytest.mark.parametrize("kind", KINDS)
def test_float_weights_on_a_cpu_get_the_fused_kernels(kind):
    group = make_optimizer(engine.TrainConfig(optimizer=kind), weights()).param_groups[0]
    if kind == "rmsprop":                       # no fused kernel: the multi-tensor one
        assert group["foreach"] is True and not group.get("fused")
    else:
        assert group["fused"] is True


@pytest.mark.parametrize("kind", KINDS)
def test_fused_updates_equal_the_default_kernels_to_rounding(kind):
    cfg = engine.TrainConfig(optimizer=kind, weight_decay=0.01)
    ours, theirs = weights(), weights()
    a, b = make_optimizer(cfg, ours), default_kernels(kind, theirs, cfg)
    g = torch.Generator().manual_seed(1)
    for _ in range(50):
        for p, q in zip(ours, theirs):
            p.grad = torch.randn(p.shape, generator=g)
            q.grad = p.grad.clone()
        a.step()
        b.step()
    for p, q, start in zip(ours, theirs, weights()):
        assert not torch.equal(p, start)                # the steps moved the weights
        assert torch.allclose(p, q, rtol=1e-5, atol=1e-6)
    assert set(a.state[ours[0]]) == set(b.state[theirs[0]])     # the same state is saved


def test_weights_fused_kernels_do_not_take_get_the_default_ones():
    complex_weight = torch.nn.Parameter(torch.zeros(4, dtype=torch.complex64))
    meta_weight = torch.nn.Parameter(torch.zeros(4, device="meta"))
    for params in ([complex_weight], [meta_weight], [*weights(), complex_weight]):
        group = make_optimizer(engine.TrainConfig(optimizer="adam"), params).param_groups[0]
        assert not group["fused"]


def moons_run(**kw) -> engine.Run:
    spec = engine.NetworkSpec.sequential((2,), [("Linear", {"out_features": 16}), ("Tanh", {}),
                                                ("Linear", {"out_features": 2})], name="tiny")
    cfg = engine.TrainConfig(epochs=3, batch_size=16, optimizer="adam", seed=3, **kw)
    return engine.train(spec, engine.load_dataset("moons", samples=200), cfg)


def test_a_run_repeats_exactly_and_matches_one_with_the_default_kernels(monkeypatch):
    first, again = moons_run(), moons_run()
    monkeypatch.setattr(optim, "_fusable", lambda params: False)
    unfused = moons_run()
    assert unfused.optimizer.param_groups[0]["fused"] is None
    assert first.optimizer.param_groups[0]["fused"] is True
    for (name, a), b, c in zip(first.model.state_dict().items(),
                               again.model.state_dict().values(),
                               unfused.model.state_dict().values()):
        assert torch.equal(a, b), name
        assert torch.allclose(a, c, rtol=1e-4, atol=1e-5), name
