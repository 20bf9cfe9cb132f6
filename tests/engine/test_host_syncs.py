"""The training loop reads nothing from the device on steps that are not probed, and at most one
read per probed step (engine.run.pending): counted by wrapping every way the engine's own code
reads a tensor on the host, during a CPU run. (On a CUDA GPU bench/gpu_check.py checks the same
with torch.cuda.set_sync_debug_mode("error"), which also sees PyTorch's own reads.)"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest
import torch

import engine

ROOT = Path(engine.__file__).resolve().parents[1]
OURS = tuple(str(ROOT / part) for part in ("engine", "cli"))
READS = ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__")


def mlp():
    return engine.NetworkSpec.sequential((2,), [
        ("Linear", {"out_features": 16}), ("ReLU", {}), ("Linear", {"out_features": 16}),
        ("Sigmoid", {}), ("Linear", {"out_features": 2})])


def reads_per_step(monkeypatch, config: engine.TrainConfig, callbacks=()):
    """Train with every host read made by the engine's code counted against the step it
    happened in (0: before the first step). Returns (run, Counter {step: reads})."""
    at = {"step": 0}
    seen: Counter = Counter()

    def counted(name):
        real = getattr(torch.Tensor, name)

        def read(self, *args, **kwargs):
            if sys._getframe(1).f_code.co_filename.startswith(OURS):
                seen[at["step"]] += 1
            return real(self, *args, **kwargs)
        return read
    for name in READS:
        monkeypatch.setattr(torch.Tensor, name, counted(name))
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a, **k: seen.update([at["step"]]))

    class Mark(engine.Callback):
        def on_batch_start(self, run, step):
            at["step"] = step
    data = engine.load_dataset("moons", samples=400, seed=0)
    run = engine.train(mlp(), data, config,
                       callbacks=[Mark(), *callbacks])
    return run, seen


def check(run, seen: Counter, every: int, epoch_end_reads: int = 8) -> None:
    steps = len(run.history["steps"])
    per_epoch = steps // run.config.epochs
    assert steps == per_epoch * run.config.epochs > 0
    for step in range(1, steps + 1):
        if step % per_epoch == 0:
            assert seen[step] <= epoch_end_reads, (step, seen[step])    # the epoch's end
        elif every and (step - 1) % every == 0:
            assert seen[step] <= 1, f"probed step {step}: {seen[step]} reads"
        else:
            assert seen[step] == 0, f"step {step} is not probed and read {seen[step]} times"


@pytest.mark.parametrize("every", [0, 1, 5])
def test_steps_that_are_not_probed_read_nothing_and_probed_ones_read_once(monkeypatch, every):
    config = engine.TrainConfig(epochs=2, batch_size=16, probe_every=every, seed=1)
    run, seen = reads_per_step(monkeypatch, config)
    check(run, seen, every)
    assert len(run.history["probes"]["step"]) == (0 if not every else
                                                  -(-len(run.history["steps"]) // every))


def test_gradient_clipping_adds_no_reads(monkeypatch):
    config = engine.TrainConfig(epochs=2, batch_size=16, probe_every=5, grad_clip=1.0,
                                l1_activation=0.01, seed=1)
    run, seen = reads_per_step(monkeypatch, config)
    check(run, seen, 5)


def test_the_counter_sees_a_read_on_an_unprobed_step(monkeypatch):
    """The check can fail: with live reads made on every step (a listener and no pacing), the
    loop's reads on unprobed steps are caught."""
    import engine.run.loop as loop
    monkeypatch.setattr(loop, "LIVE_S", 0.0)
    run, seen = reads_per_step(monkeypatch, engine.TrainConfig(epochs=1, batch_size=16,
                                                               probe_every=5, seed=1),
                               callbacks=[lambda event: None])
    with pytest.raises(AssertionError, match="is not probed"):
        check(run, seen, 5)


def test_live_listeners_get_every_step_in_order_and_a_bounded_number_of_reads(monkeypatch):
    """With someone watching the steps (the window, the progress line) the losses are read at
    most every engine.run.pending.LIVE_S seconds: every step still arrives, in order."""
    got = []
    config = engine.TrainConfig(epochs=2, batch_size=16, probe_every=0, seed=1)
    run, seen = reads_per_step(monkeypatch, config, callbacks=[
        lambda e: got.append(e.step) if isinstance(e, engine.StepEvent) else None])
    assert got == [s["step"] for s in run.history["steps"]] == list(range(1, len(got) + 1))
    reads_on_steps = sum(n for step, n in seen.items() if step)
    assert reads_on_steps < len(got)           # batched: fewer reads than steps


def test_the_first_step_that_diverged_is_found_by_loss_or_by_gradient_norm():
    from engine.run.pending import first_bad
    nan, inf = float("nan"), float("inf")
    assert first_bad([1.0, 2.0, 3.0], 3, False) == 3
    assert first_bad([1.0, nan, inf], 3, False) == 1
    # losses [1, 2, nan, 4], gradient norms [1, inf, 1, 1]: step index 1 went first
    assert first_bad([1.0, 2.0, nan, 4.0, 1.0, inf, 1.0, 1.0], 4, True) == 1
    assert first_bad([1.0, 2.0, 1.0, 1.0, 0.5], 2, True) == 2     # the probe's values after


def test_probing_every_step_reads_the_probes_in_batches(monkeypatch):
    """Probing every step with no one watching, the probes' statistics are read together,
    READ_AFTER probes at a time (with the steps' losses), not once per step; all are kept."""
    import engine.run.probe_callback as probe_callback
    monkeypatch.setattr(probe_callback, "READ_AFTER", 5)
    config = engine.TrainConfig(epochs=1, batch_size=16, probe_every=1, seed=1)
    run, seen = reads_per_step(monkeypatch, config)
    steps = len(run.history["steps"])
    reads = {step: n for step, n in seen.items() if step and step < steps}
    assert reads == {5: 1, 10: 1, 15: 1, 20: 1} and steps > 20
    assert list(run.history["probes"]["step"]) == list(range(1, steps + 1))


def test_a_diverged_run_keeps_the_probes_of_the_steps_before_it():
    """Probes read in a batch that holds the diverged step: those of later steps are dropped
    with the steps themselves."""
    class Poison(engine.Callback):
        def on_batch_start(self, run, step):
            if step == 7:
                with torch.no_grad():
                    next(run.model.parameters()).fill_(float("nan"))
    data = engine.load_dataset("moons", samples=400, seed=0)
    config = engine.TrainConfig(epochs=1, batch_size=16, probe_every=1, seed=1)
    with pytest.raises(engine.TrainingError, match="step 7") as caught:
        engine.train(mlp(), data, config, callbacks=[Poison()])
    history = caught.value.run.history
    assert [s["step"] for s in history["steps"]] == list(range(1, 7))
    assert list(history["probes"]["step"]) == list(range(1, 7))
