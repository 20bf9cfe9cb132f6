"""Image folders over the memory budget stream from disk, batch by batch, with the same
history as in memory."""
import multiprocessing

import numpy as np
import pytest
import torch

import engine
from engine.data import images, limits, stream
from engine.run.batches import inputs
from engine.run.distributed import Distributed
from engine.run.live import preview
from engine.run.loop import epoch_order

Image = pytest.importorskip("PIL.Image")
PIXELS = 60 * 8 * 8          # the folder's decoded values


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    for c in range(3):
        (tmp_path / "imgs" / f"c{c}").mkdir(parents=True)
        for i in range(20):
            a = (rng.random((8, 8)) * 90 + c * 60).astype(np.uint8)
            Image.fromarray(a).save(tmp_path / "imgs" / f"c{c}" / f"{i:02}.png")
    return tmp_path / "imgs"


@pytest.fixture
def small_budget(monkeypatch):
    monkeypatch.setattr(limits, "MEMORY_BUDGET", PIXELS * limits.BYTES_PER_VALUE - 1)


def cnn():
    return engine.NetworkSpec.sequential((1, 8, 8), [
        ("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
        ("MaxPool2d", {"kernel_size": 2}), ("Flatten", {}), ("Linear", {"out_features": 3})])


def config(**kw):
    return engine.TrainConfig(**{"epochs": 2, "batch_size": 16, "lr": 0.05, "seed": 3,
                                 "probe_every": 2, "val_fraction": 0.25, **kw})


def without_seconds(history):
    return {"epochs": [{k: v for k, v in e.items() if k != "seconds"} for e in history["epochs"]],
            "steps": history["steps"], "probes": history["probes"]}


def test_an_over_budget_folder_streams_decoding_only_what_is_asked(folder, small_budget,
                                                                   monkeypatch):
    calls = []
    decode = images._decode
    monkeypatch.setattr(images, "_decode", lambda *a: calls.append(a[1]) or decode(*a))
    monkeypatch.setattr(stream, "WORKERS", 0)        # decoded here, so counted here
    monkeypatch.setattr(stream, "STATS_SAMPLE", 10)
    data = engine.load_dataset(str(folder))
    assert data.streamed and len(calls) == 10        # the sample for the mean and spread only
    info = data.describe()
    assert (info["samples"], info["input_shape"], info["streamed"]) == (60, [1, 8, 8], True)
    assert info["normalisation"]["kind"] == "standardise" and len(calls) == 10
    shown = preview(data, count=4)
    assert len(shown["images"]) == 4 and shown["images"][0].shape == (8, 8)
    assert len(calls) == 14
    with pytest.raises(engine.DatasetError, match="over|limit"):
        engine.load_dataset(str(folder), stream="no")


def test_streamed_history_equals_in_memory(folder, small_budget, monkeypatch):
    streamed = engine.load_dataset(str(folder))
    assert streamed.streamed
    run_s = engine.train(cnn(), streamed, config())
    monkeypatch.setattr(limits, "MEMORY_BUDGET", 4 * 1024 ** 3)
    memory = engine.load_dataset(str(folder), stream="no")
    assert not memory.streamed and memory.normalisation == streamed.normalisation
    assert torch.equal(memory.x, streamed.x[:])
    run_m = engine.train(cnn(), memory, config())
    assert without_seconds(run_s.history) == without_seconds(run_m.history)
    assert list(run_s.history["probes"]["step"]) == [1, 3, 5]
    _, val = memory.split(0.25, 3)
    with torch.no_grad():
        right = (run_s.model.eval()(memory.x[val]).argmax(1) == memory.y[val]).sum()
    assert run_s.history["epochs"][-1]["val_acc"] == pytest.approx(int(right) / len(val))


def test_a_corrupt_picture_names_its_file(folder, monkeypatch):
    monkeypatch.setattr(stream, "WORKERS", 1)        # read in a worker process
    data = engine.load_dataset(str(folder), stream="yes")
    bad = folder / "c1" / "07.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"broken" * 10)
    with pytest.raises(engine.DatasetError) as caught:
        engine.train(cnn(), data, config())
    message = str(caught.value)
    assert str(bad) in message and "\n" not in message and "Traceback" not in message
    assert multiprocessing.active_children() == []


def test_stopping_mid_epoch_leaves_no_worker(folder, monkeypatch):
    monkeypatch.setattr(stream, "WORKERS", 2)
    data = engine.load_dataset(str(folder), stream="yes")
    control, seen = engine.Control(), []

    class StopAtTwo(engine.Callback):
        def on_batch_start(self, run, step):
            if step == 2:
                seen.append(len(multiprocessing.active_children()))
                control.stop()

    run = engine.train(cnn(), data, config(), callbacks=[StopAtTwo()], control=control)
    assert run.status == "stopped" and seen == [2]
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("rank", [0, 1])
def test_sharded_batches_match_in_memory(folder, rank, monkeypatch):
    monkeypatch.setattr(stream, "WORKERS", 1)
    streamed = engine.load_dataset(str(folder), stream="yes")
    memory = engine.load_dataset(str(folder), stream="no")
    cfg, dist = config(), Distributed(rank=rank, world_size=2)
    s, m = inputs(streamed, cfg, "cpu"), inputs(memory, cfg, "cpu")
    order = dist.shard(epoch_order(s.n_train, cfg.seed, 1, "cpu"))
    with s.epoch(order, 7) as a, m.epoch(order, 7) as b:
        pairs = list(zip(a, b, strict=True))
    assert len(pairs) == 4 and all(torch.equal(x, u) and torch.equal(y, v)
                                   for (x, y), (u, v) in pairs)
    part = dist.val_slice(s.n_val)
    with s.val_batches(part, 4) as a, m.val_batches(part, 4) as b:
        pairs = list(zip(a, b, strict=True))
    assert pairs and all(torch.equal(x, u) and torch.equal(y, v) for (x, y), (u, v) in pairs)


def test_the_live_views_decode_a_sample_of_a_streamed_validation_part(folder, small_budget,
                                                                       monkeypatch):
    """The window's confusion matrix reads its validation samples once: of a streamed folder,
    a seeded sample of at most STREAMED_VIEW_SAMPLES, never the whole part."""
    from engine.run import live
    monkeypatch.setattr(stream, "WORKERS", 0)
    monkeypatch.setattr(live, "STREAMED_VIEW_SAMPLES", 5)
    data = engine.load_dataset(str(folder))
    _, val_index = data.split(0.25, 3)
    views = live.LiveViews(data, lambda event: None, val_index)
    assert data.streamed and views.vx.shape == (5, 1, 8, 8) and len(views.vy) == 5
    kept = set(val_index.tolist())
    assert all(any(torch.equal(row, data.x[[i]][0]) for i in kept) for row in views.vx)


def test_the_memory_budget_keeps_to_half_of_what_the_process_may_use(folder, monkeypatch):
    """A process given less memory than the budget (RLIMIT_DATA: a container, `ulimit -d`)
    streams a folder it could not hold: the budget is half of its limit.
    bench/stream_memory_limit.py trains a 1,125 MiB folder under a real 1 GiB limit."""
    import resource
    limit = PIXELS * limits.BYTES_PER_VALUE          # the folder, prepared, is 2x half of it
    real = resource.getrlimit
    monkeypatch.setattr(resource, "getrlimit", lambda which: (limit, resource.RLIM_INFINITY)
                        if which == resource.RLIMIT_DATA else real(which))
    assert limits.memory_budget() == limit // 2
    monkeypatch.setattr(stream, "WORKERS", 0)
    assert engine.load_dataset(str(folder)).streamed
    monkeypatch.setattr(resource, "getrlimit", real)
    assert not engine.load_dataset(str(folder)).streamed
