"""bench/peers.py's hand-written TensorBoard side logs what it claims on the steps it claims,
and a peer that fails is reported in its row instead of ending the benchmark (skips without
tensorboard: `pip install -e '.[bench]'`)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("tensorboard")
BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def peers():
    spec = importlib.util.spec_from_file_location("bench_peers", BENCH / "peers.py")
    module = importlib.util.module_from_spec(spec)
    added = str(BENCH) not in sys.path
    try:
        spec.loader.exec_module(module)
    finally:
        if added:
            sys.path.remove(str(BENCH))
    return module


def test_tensorboard_hooks_log_probed_training_steps_only(peers, tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    hooks = peers.TensorBoardHooks(str(tmp_path), every=2)
    logged = []
    hooks.writer.add_scalar = lambda tag, value, step: logged.append((tag, step))
    hooks.attach(model)
    for _ in range(3):                          # steps 1, 2, 3: 1 and 3 are probed
        model(torch.randn(5, 3)).sum().backward()
    model.eval()
    model(torch.randn(5, 3))                    # a validation pass logs nothing
    hooks.close()
    per_step = 3 * 3 + 4                        # 3 layers x mean/std/zeros, 4 gradient norms
    assert sorted({s for _, s in logged}) == [1, 3] and len(logged) == 2 * per_step
    assert ("1/zeros", 3) in logged and ("2.bias/grad_norm", 1) in logged
    model.train()
    model(torch.randn(5, 3)).sum().backward()   # closed: the hooks are gone
    assert len(logged) == 2 * per_step


def test_a_failing_peer_is_reported_in_its_row(peers, capsys):
    failed = {}

    def broken(spec, data, cfg):
        raise RuntimeError("no service\nsecond line")
    assert peers.run_side("wandb.watch", broken, None, None, None, failed) is None
    assert failed == {"wandb.watch": "failed: RuntimeError: no service"}
    with pytest.raises(RuntimeError):
        peers.run_side(peers.PLAIN, broken, None, None, None, {})
    times = {peers.PLAIN: [(1.0, 1.0), (2.0, 2.0)], "wandb.watch": [],
             "hooks": [(1.1, 1.0), (2.4, 2.0)]}
    peers.report("net", times, failed, rounds=2)
    rows = capsys.readouterr().out.splitlines()
    assert any("wandb.watch" in r and "failed: RuntimeError: no service" in r for r in rows)
    assert any(r.startswith("| hooks") and "1.150" in r for r in rows)
