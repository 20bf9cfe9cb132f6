"""Multi-process training: a 2-process gloo run on the CPU, launched with torchrun the way a
user would, ends with the same weights on both ranks, a lower loss, and the same result as
one process with the global batch; only rank 0 prints and writes; every process has ended its
process group's threads when the command returns, and a finished run exits 0 every time. An
error before training is printed once, by rank 0. Plus the context's sharding and environment
checks, without processes."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
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


def torchrun(processes: int, script, *args, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1",
           f"--nproc_per_node={processes}", "--master_addr=127.0.0.1",
           f"--master_port={free_port()}", str(script), *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    proc = torchrun(2, ROOT / "tests/engine/dist_worker.py", out, TOY, *ARGS,
                    "-o", out / "net.lwnet", "--metrics", out / "m.json", cwd=out)
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


def test_every_process_ends_its_process_group_threads(two_ranks):
    """Left alive into interpreter shutdown, a gloo thread aborted the process now and then
    (SIGABRT, "terminate called without an active exception") after a good run."""
    out, _ = two_ranks
    for rank in (0, 1):
        threads = json.loads((out / f"rank{rank}.json").read_text())["threads"]
        if threads is None:
            pytest.skip("needs /proc to list a process's threads")
        assert not [t for t in threads if "gloo" in t], threads


def test_a_finished_run_exits_0_on_every_process_every_time(tmp_path):
    """The user's command, repeated: the race at exit lost 1 run in 8 (the thread test above is
    the one that fails without the fix every time; this one checks what the user sees)."""
    args = [TOY, "--dataset", "moons", "--data-option", "samples=64", "--epochs", "1",
            "--batch-size", "16", "--probe-every", "0", "--device", "cpu", "--threads", "1",
            "-o", tmp_path / "net.lwnet"]
    for runs in range(2):
        proc = torchrun(2, ROOT / "main.py", "train", *args, cwd=tmp_path)
        text = proc.stdout + proc.stderr
        assert proc.returncode == 0 and "Finished" in text, f"run {runs + 1}: {text[-3000:]}"
        assert "terminate called" not in text and "ChildFailedError" not in text, text[-3000:]


def test_an_error_before_training_is_printed_once(tmp_path):
    """Every process meets it (the same arguments and data); rank 0 says it, the others exit
    with the same code. torchrun itself then reports the failed processes."""
    proc = torchrun(4, ROOT / "main.py", "train", TOY, "--dataset", tmp_path / "none.csv",
                    "--device", "cpu", cwd=tmp_path)
    assert proc.returncode != 0
    assert proc.stderr.count("layerwise: error:") == 1, proc.stderr[-3000:]
    assert proc.stderr.count("none.csv") >= 1 and "Training" not in proc.stdout
    assert proc.stderr.count("exitcode  : 1") == 4     # every process ended with rank 0's code
    root = proc.stderr.split("Root Cause")[-1]
    assert "rank      : 0" in root                          # rank 0, which said why, ended first


def test_a_failed_run_is_reported_once_and_every_process_exits_1(tmp_path):
    """The loss is agreed, so every process diverges at the same step; rank 0 prints and
    writes the failed run, the others wait for it to end and exit with its code."""
    proc = torchrun(2, ROOT / "main.py", "train", TOY, "--dataset", "moons", "--optimizer",
                    "sgd", "--lr", "9", "--loss", "mse", "--epochs", "40", "--device", "cpu",
                    "--threads", "1", "--probe-every", "0", "-o", tmp_path / "net.lwnet",
                    cwd=tmp_path)
    text = proc.stdout + proc.stderr
    if "Finished" in text:
        pytest.fail("lr 9 with plain SGD was expected to diverge")
    assert proc.stderr.count("layerwise: error: the loss became") == 1, text[-3000:]
    assert "terminate called" not in text and text.count("Traceback") == 1   # torchrun's own
    assert proc.stderr.count("exitcode  : 1") == 2 and (tmp_path / "net.failed.lwnet").exists()


BAD_DATA = ["train", TOY, "--dataset", "no-such-set", "--device", "cpu"]


@pytest.fixture
def rank_1(monkeypatch):
    """This process as rank 1 of 2, before joining the group."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    return monkeypatch


@pytest.mark.parametrize("argv, code", [
    (BAD_DATA, 1),
    (["train", TOY, "--epochs", "0"], 2),
    (["train", "--help"], 0),
])
def test_other_processes_stay_silent_about_what_rank_0_reports(rank_1, capsys, argv, code):
    import main
    assert main.run(argv) == code
    assert capsys.readouterr() == ("", "")
    rank_1.setenv("RANK", "0")
    try:
        main.run(argv)
    except SystemExit:          # argparse's way out, for rank 0 as for one process
        pass
    assert capsys.readouterr() != ("", "")


def test_under_torchrun_the_others_wait_for_rank_0_to_end(rank_1, capsys):
    """torchrun stops every process when one ends: rank 1 ending first could stop rank 0
    before it printed. So rank 1 waits for that stop (SIGTERM) and ends with code 1."""
    import threading
    import main
    from cli import train
    rank_1.setenv("TORCHELASTIC_RUN_ID", "test")
    rank_1.setattr(train, "RANK_0_WAIT_S", 30.0)
    before = signal.getsignal(signal.SIGTERM)

    def torchrun_stops_it():          # once it waits, as torchrun would when rank 0 ends
        end = time.monotonic() + 20
        while time.monotonic() < end:
            if signal.getsignal(signal.SIGTERM) != before:
                os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(0.01)
    stopper = threading.Thread(target=torchrun_stops_it)
    t0 = time.perf_counter()
    stopper.start()
    try:
        with pytest.raises(SystemExit) as ended:
            main.run(BAD_DATA)
    finally:
        stopper.join()
    assert ended.value.code == 1 and time.perf_counter() - t0 < 20
    assert capsys.readouterr() == ("", "")
    assert signal.getsignal(signal.SIGTERM) == before


def test_without_word_from_rank_0_a_process_reports_the_error_itself(rank_1, capsys):
    import main
    from cli import train
    rank_1.setenv("TORCHELASTIC_RUN_ID", "test")
    rank_1.setattr(train, "RANK_0_WAIT_S", 0.2)
    assert main.run(BAD_DATA) == 1
    assert "no-such-set" in capsys.readouterr().err


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


@pytest.mark.parametrize("local_rank", [0, 3])
def test_too_few_gpus_are_refused_by_every_process_alike(monkeypatch, local_rank):
    """4 processes on a machine with 2 GPUs: rank 0 refuses too (it would otherwise wait for
    the others in the group, and say nothing)."""
    import engine.run.setup as setup
    monkeypatch.setattr(setup, "resolve_device", lambda name: torch.device("cuda"))
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    environ = {"RANK": str(local_rank), "LOCAL_RANK": str(local_rank), "WORLD_SIZE": "4",
               "LOCAL_WORLD_SIZE": "4", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}
    with pytest.raises(TrainingError, match="started 4 processes .* it has 2 CUDA"):
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
