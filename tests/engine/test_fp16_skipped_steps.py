"""fp16 steps whose gradients overflow are skipped by the loss scaler: the run counts them, the
probes do not record them (their gradients are infinite and the weights do not change) but
probe the next step instead, and the command line's summary says how many there were."""
from __future__ import annotations

import math

import pytest
import torch

import engine
import engine.run.setup as setup
from cli.train import summary

OVERFLOWING_SCALE = 2.0 ** 40       # fp16 tops out near 2 ** 16: the first steps overflow


@pytest.fixture
def overflowing(cpu_fp16, monkeypatch):
    monkeypatch.setattr(setup, "new_scaler", lambda device: torch.amp.GradScaler(
        device.type, init_scale=OVERFLOWING_SCALE))


def fp16_run(probe_every: int):
    spec = engine.NetworkSpec.sequential((2,), [("Linear", {"out_features": 16}), ("Tanh", {}),
                                                ("Linear", {"out_features": 2})], name="tiny")
    cfg = engine.TrainConfig(epochs=4, batch_size=20, lr=0.05, optimizer="adam",
                             probe_every=probe_every, precision="fp16", device="cpu", seed=3)
    torch.manual_seed(3)
    first = engine.build(spec)
    start = {n: p.detach().clone() for n, p in first.named_parameters()}
    return engine.train(first, engine.load_dataset("moons", samples=200), cfg), start


def test_skipped_steps_are_counted_and_not_probed(overflowing):
    run, start = fp16_run(probe_every=1)
    record = run.history["runs"][-1]
    skipped = record["skipped_steps"]
    # each skipped step halves the scale: the count is how far the scale came down
    assert skipped >= 1 and run.scaler.get_scale() <= OVERFLOWING_SCALE / 2 ** skipped
    probes = run.history["probes"]
    assert probes["step"][0] == skipped + 1     # the first step whose update happened
    assert len(probes["step"]) == record["steps"] - skipped
    for table in probes["layers"].values():
        for values in table.values():
            assert all(math.isfinite(v) for v in values)
    # nothing moved before the first step taken: its probe sees the initial weights
    linear = probes["layers"]["linear_1"]
    assert linear["weight_norm"][0] == pytest.approx(float(start["layers.linear_1.weight"]
                                                           .norm()), rel=1e-6)


def test_a_probe_on_a_skipped_step_moves_to_the_next(overflowing):
    run, _ = fp16_run(probe_every=5)
    skipped = run.history["runs"][-1]["skipped_steps"]
    steps = run.history["probes"]["step"]
    # steps 1, 6, 11, ... are probed; one that is skipped hands over to the step after it,
    # down to the first step taken
    regular = range(1, run.history["runs"][-1]["steps"] + 1, 5)
    assert steps == [skipped + 1] + [s for s in regular if s > skipped + 1]


def test_the_summary_says_how_many_steps_were_skipped(overflowing):
    run, _ = fp16_run(probe_every=20)
    skipped = run.history["runs"][-1]["skipped_steps"]
    assert f"({skipped:,} skipped by the fp16 loss scaler" in summary(run)[-1]


def test_fp32_runs_record_no_skipped_steps():
    run = engine.train(engine.NetworkSpec.sequential(
        (2,), [("Linear", {"out_features": 2})], name="one"),
        engine.load_dataset("moons", samples=100), engine.TrainConfig(epochs=1, device="cpu"))
    assert "skipped_steps" not in run.history["runs"][-1]
    assert "skipped" not in summary(run)[-1]
