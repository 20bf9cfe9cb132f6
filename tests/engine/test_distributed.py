"""Multi-process training: a 2-process gloo run on the CPU, launched with torchrun the way a
user would, ends with the same weights on both ranks, a lower loss, and the same result as
one process with the global batch; only rank 0 prints and writes. Plus the context's
sharding and environment checks, without processes."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import engine
from engine.run.distributed import SINGLE, Distributed, launch
from engine.errors import TrainingError

ROOT = Path(__file__).resolve().parents[2]
TOY = str(ROOT / "resources/examples/toy_2d.json")
ARGS = ["--dataset", "moons", "--data-option", "samples=400", "--epochs", "3",
        "--batch-size", "25", "--lr", "0.05", "--seed", "5", "--probe-every", "4",
        "--device", "cpu", "--threads", "1"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
           "--master_addr=127.0.0.1", f"--master_port={free_port()}",
           str(ROOT / "tests/engine/dist_worker.py"), str(out), TOY, *ARGS,
           "-o", str(out / "net.lwnet"), "--metrics", str(out / "m.json")]
    proc = subprocess.run(cmd, cwd=out, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, proc.stdout


def test_both_ranks_end_with_the_same_weights_and_a_lower_loss(two_ranks):
    out, _ = two_ranks
    w0, w1 = load_file(out / "rank0.safetensors"), load_file(out / "rank1.safetensors")
    assert w0.keys() == w1.keys()
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    h0, h1 = (json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1))
    assert h0["rc"] == h1["rc"] == 0
    losses = [e["train_loss"] for e in h0["epochs"]]
    assert losses[-1] < losses[0] * 0.9
    assert [s["loss"] for s in h0["steps"]] == [s["loss"] for s in h1["steps"]]   # agreed
    assert [e["val_loss"] for e in h0["epochs"]] == [e["val_loss"] for e in h1["epochs"]]
    assert len(h0["steps"]) == 3 * 8                # 360 samples / 2 ranks / 25 per batch
    record = h0["runs"][-1]
    assert record["processes"] == 2 and record["batch_size"] == 25
    assert record["global_batch"] == 50
    assert h0["probes"] > 0 and h1["probes"] == 0   # probes only where they are reported


def test_only_rank_0_prints_and_writes(two_ranks):
    out, stdout = two_ranks
    assert stdout.count("Training Two-moons classifier") == 1
    assert "batch 25 per process x 2 processes = global batch 50" in stdout
    assert stdout.count("Finished") == 1 and stdout.count("Saved") == 1
    saved = engine.load(out / "net.lwnet")
    w0 = load_file(out / "rank0.safetensors")
    assert all(torch.equal(saved.model.state_dict()[k], w0[k]) for k in w0)
    assert saved.history["runs"][-1]["global_batch"] == 50
    assert json.loads((out / "m.json").read_text())["status"] == "finished"


def test_two_ranks_equal_one_process_with_the_global_batch(two_ranks):
    """Each step, the ranks' shards together are the global batch one process would take."""
    out, _ = two_ranks
    torch.set_num_threads(1)
    config = engine.TrainConfig(epochs=3, batch_size=50, lr=0.05, seed=5, probe_every=0,
                                device="cpu")
    run = engine.train(engine.load(TOY).spec, engine.load_dataset("moons", samples=400), config)
    w0 = load_file(out / "rank0.safetensors")
    for k, v in run.model.state_dict().items():
        torch.testing.assert_close(w0[k], v, rtol=1e-5, atol=1e-6)
    h0 = json.loads((out / "rank0.json").read_text())
    for a, b in zip(h0["epochs"], run.history["epochs"]):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)
        assert a["train_acc"] == pytest.approx(b["train_acc"])


def test_shards_cover_the_epoch_order_evenly():
    order = torch.randperm(11, generator=torch.Generator().manual_seed(0))
    shards = [Distributed(r, 3, r, torch.device("cpu")).shard(order) for r in range(3)]
    assert [len(s) for s in shards] == [4, 4, 4]
    assert set(torch.cat(shards).tolist()) == set(range(11))
    assert torch.equal(SINGLE.shard(order), order)
    parts = [Distributed(r, 3).val_slice(10) for r in range(3)]
    assert sum(p.stop - p.start for p in parts) == 10 and parts[0].start == 0


def test_outside_torchrun_the_context_is_single():
    with launch("cpu", environ={}) as ctx:
        assert ctx is SINGLE and not ctx.active and ctx.is_main


@pytest.mark.parametrize("device, env, words", [
    ("cuda:1", {}, "cuda:LOCAL_RANK"),
    ("cpu", {"MASTER_ADDR": ""}, "MASTER_ADDR not set"),
    ("cpu", {"RANK": "x"}, "whole numbers"),
    ("mps", {}, "not on mps"),
])
def test_bad_torchrun_settings_are_refused(device, env, words):
    environ = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
               "MASTER_PORT": "29500", **env}
    with pytest.raises(TrainingError, match=words):
        with launch(device, environ=environ):
            pass


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_cuda_under_torchrun_without_a_gpu_is_refused():
    environ = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
               "MASTER_PORT": "29500"}
    with pytest.raises(TrainingError, match="no CUDA GPU"):
        with launch("cuda", environ=environ):
            pass


def test_the_progress_bar_counts_the_samples_of_every_process():
    import io
    import time
    from cli.progress import ProgressBar
    from engine.run.events import StepEvent
    rates = []
    for processes in (1, 2):
        stream = io.StringIO()
        bar = ProgressBar(1, stream=stream, processes=processes)
        bar.t0 = time.perf_counter() - 10.0
        bar.on_step(None, StepEvent(1, 1, 1, 1, 0.5, 0.01, 1000))
        rates.append(int(stream.getvalue().split(" samples/s")[0].split()[-1].replace(",", "")))
    assert rates[0] in (99, 100) and rates[1] in (199, 200)
