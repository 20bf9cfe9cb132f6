"""bench/gpu_check.py measures both sides alike and its host-sync check switches CUDA's sync
debug mode on exactly where the loop must not read: checked here on the CPU, with
torch.cuda.set_sync_debug_mode replaced by a recorder and the host reads (.item, .tolist)
raising while it says "error", as CUDA would for a read of a device tensor (only the project's
own reads: PyTorch reads CPU-side counters that CUDA keeps on the host too)."""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pytest
import torch

import engine

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("bench_gpu_check", BENCH / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    before = list(sys.path)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = before
    return module


@pytest.fixture
def sync_mode(monkeypatch):
    """The fake sync debug mode: {"mode": ...}; host reads raise while it is "error"."""
    state = {"mode": "default"}
    monkeypatch.setattr(torch.cuda, "set_sync_debug_mode",
                        lambda mode: state.__setitem__("mode", mode))
    for name in ("item", "tolist"):
        real = getattr(torch.Tensor, name)

        def read(self, *args, _real=real, **kwargs):
            caller = sys._getframe(1).f_code.co_filename
            if state["mode"] == "error" and caller.startswith(str(ROOT)) and \
                    "/.venv/" not in caller:
                raise RuntimeError("called a synchronizing CUDA operation")
            return _real(self, *args, **kwargs)
        monkeypatch.setattr(torch.Tensor, name, read)
    return state


def mlp():
    return engine.NetworkSpec.sequential((2,), [
        ("Linear", {"out_features": 8}), ("ReLU", {}), ("Linear", {"out_features": 2})])


def options(**kw):
    base = dict(batch_size=32, seed=0, epochs=1, probe_every=4, sync_epochs=2, warmup=2,
                timed=3, rounds=3, steps=3)
    return argparse.Namespace(**{**base, **kw})


@pytest.fixture(scope="module")
def moons():
    return engine.load_dataset("moons", samples=200, seed=0)      # 180 to train: 6 steps/epoch


class ModeAt(engine.Callback):
    """The sync debug mode in force at each step's backward pass."""

    def __init__(self, state):
        self.state, self.modes = state, {}

    def on_after_backward(self, run, step):
        self.modes[step] = self.state["mode"]


def test_non_probed_steps_run_in_error_mode_and_epoch_ends_do_not(gpu_check, sync_mode, moons):
    seen = ModeAt(sync_mode)
    line, found = gpu_check.find_syncs(mlp(), moons, options(), "cpu", callbacks=[seen])
    assert not found, line                  # the epoch ends' reads ran outside "error" mode
    assert sorted(seen.modes) == list(range(1, 13))
    assert [s for s, m in seen.modes.items() if m == "default"] == [1, 5, 9]
    assert "none (9 of 12 steps checked" in line
    assert sync_mode["mode"] == "default"   # switched off when the run ends


def test_a_read_on_a_step_that_is_not_probed_is_reported_with_its_step(gpu_check, sync_mode,
                                                                      moons):
    class Reads(engine.Callback):
        def on_after_backward(self, run, step):
            if step == 7:
                torch.ones(1).item()
    line, found = gpu_check.find_syncs(mlp(), moons, options(), "cpu", callbacks=[Reads()])
    assert found
    assert "FOUND at step 7 (called a synchronizing CUDA operation)" in line
    assert "test_bench_gpu_check.py" in line
    assert sync_mode["mode"] == "default"


def test_the_check_is_skipped_off_cuda_with_a_line_saying_so(gpu_check, moons):
    line, found = gpu_check.sync_check(mlp(), moons, options(), "cpu")
    assert not found and "not checked" in line and "CUDA only" in line


def test_the_timed_window_counts_the_samples_of_its_steps_across_epochs(gpu_check):
    assert gpu_check.batch_sizes(100, 32) == [32, 32, 32, 4]
    # steps 3..6 of epochs of 4 steps: batches 3 and 4 of the first, 1 and 2 of the second
    assert gpu_check.timed_samples(100, options(warmup=2, timed=4)) == 32 + 4 + 32 + 32


def test_stop_at_ends_the_run_after_the_asked_step(gpu_check, moons):
    control = engine.Control()
    run = engine.train(mlp(), moons, engine.TrainConfig(epochs=1, batch_size=32, probe_every=0),
                       callbacks=[gpu_check.StopAt(control, 4)], control=control)
    assert [s["step"] for s in run.history["steps"]] == [1, 2, 3, 4]


def test_speeds_interleave_the_sides_and_compare_each_round_to_its_reference(gpu_check, moons,
                                                                             monkeypatch):
    calls = []

    def timed(spec, data, args, side, n_train):       # a rate that differs on every call
        calls.append((side[0], args.timed))
        return 100.0 * len(calls)
    monkeypatch.setattr(gpu_check, "timed_rate", timed)
    result = gpu_check.speeds(mlp(), moons, options(), [("cpu", "fp32"), ("cuda", "fp32")])
    assert calls == [("cpu", 2), ("cuda", 2),                 # the untimed warm-up runs
                     ("cpu", 3), ("cuda", 3), ("cuda", 3), ("cpu", 3), ("cpu", 3), ("cuda", 3)]
    assert result[0]["rates"] == [300, 600, 700] and result[1]["rates"] == [400, 500, 800]
    assert result[0]["ratios"] == [1.0, 1.0, 1.0]
    assert result[1]["ratios"] == [400 / 300, 500 / 600, 800 / 700]


def test_a_timed_run_gives_a_rate(gpu_check, moons):
    rate = gpu_check.timed_rate(mlp(), moons, options(), ("cpu", "fp32"), 180)
    assert 0 < rate < float("inf")
