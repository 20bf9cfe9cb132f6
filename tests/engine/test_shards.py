"""Sharded arrays (engine.data.shards): written atomically, read row by row from disk with the
same numbers and the same run as in memory, and every lie a stranger's folder tells refused."""
import json
import multiprocessing
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import engine
from engine.data import limits, stream
from engine.data.dataset import make_dataset
from engine.run.batches import inputs
from engine.run.distributed import Distributed
from engine.run.loop import epoch_order

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def pictures(n=90, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = (rng.random((n, 1, 8, 8)) * 90 + y[:, None, None, None] * 60).astype(np.uint8)
    return x, y


@pytest.fixture
def folder(tmp_path):
    x, y = pictures()
    engine.write_shards(tmp_path / "s", [(x[i:i + 25], y[i:i + 25]) for i in (0, 25, 50, 75)],
                             classes=["a", "b", "c"])
    return tmp_path / "s"


def cnn():
    return engine.NetworkSpec.sequential((1, 8, 8), [
        ("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
        ("Flatten", {}), ("Linear", {"out_features": 3})])


def config():
    return engine.TrainConfig(epochs=2, batch_size=16, lr=0.05, seed=3, probe_every=2,
                              val_fraction=0.25)


def without_seconds(history):
    return {"epochs": [{k: v for k, v in e.items() if k != "seconds"} for e in history["epochs"]],
            "steps": history["steps"], "probes": history["probes"]}


def test_shards_hold_the_same_numbers_as_the_arrays_in_memory(folder):
    x, y = pictures()
    memory, streamed = engine.load_dataset(folder), engine.load_dataset(folder, stream="yes")
    reference = make_dataset("r", x, y, "classification", normalise="global", scale=1 / 255)
    assert not memory.streamed and streamed.streamed
    assert torch.equal(memory.x, reference.x) and torch.equal(streamed.x[:], reference.x)
    assert memory.normalisation == streamed.normalisation
    mine, theirs = memory.normalisation, reference.normalisation
    assert mine.pop("kind") == theirs.pop("kind") == "standardise"
    assert mine == pytest.approx(theirs, rel=1e-12)     # from a histogram: to the last digit
    assert torch.equal(streamed.y, reference.y) and streamed.classes == ["a", "b", "c"]
    assert torch.equal(streamed.x[[89, 0, 26, 26]], reference.x[[89, 0, 26, 26]])
    assert engine.data.file_kind(folder) == "shards"


def test_a_streamed_run_equals_the_run_in_memory(folder, monkeypatch):
    monkeypatch.setattr(limits, "MEMORY_BUDGET", 90 * 64 * 4 - 1)    # float32 inputs
    streamed = engine.load_dataset(folder)
    assert streamed.streamed                          # auto: over the budget
    with pytest.raises(engine.DatasetError, match="Read them from disk while training"):
        engine.load_dataset(folder, stream="no")
    run_s = engine.train(cnn(), streamed, config())
    monkeypatch.setattr(limits, "MEMORY_BUDGET", 90 * 64 * 4)
    run_m = engine.train(cnn(), engine.load_dataset(folder, stream="no"), config())
    assert without_seconds(run_s.history) == without_seconds(run_m.history)
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("rank", [0, 1])
def test_each_process_under_torchrun_reads_its_own_rows(folder, rank, monkeypatch):
    monkeypatch.setattr(stream, "WORKERS", 1)
    s = inputs(engine.load_dataset(folder, stream="yes"), config(), "cpu")
    m = inputs(engine.load_dataset(folder, stream="no"), config(), "cpu")
    dist = Distributed(rank=rank, world_size=2)
    order = dist.shard(epoch_order(s.n_train, 3, 1, "cpu"))
    with s.epoch(order, 7) as a, m.epoch(order, 7) as b:
        pairs = list(zip(a, b, strict=True))
    assert pairs and all(torch.equal(u[0], v[0]) and torch.equal(u[1], v[1]) for u, v in pairs)


def test_a_reader_reads_only_the_rows_asked(folder, monkeypatch):
    data = engine.load_dataset(folder, stream="yes")
    reads = []
    real_open = open

    def counting_open(path, *args, **kw):
        handle = real_open(path, *args, **kw)
        readinto = handle.readinto
        handle = _Spy(handle, lambda buf: reads.append(len(buf)) or readinto(buf))
        return handle
    monkeypatch.setattr("builtins.open", counting_open)
    data.x[[3, 60]]
    assert reads == [64, 64]                          # two rows of 8x8 bytes, nothing else


class _Spy:
    def __init__(self, handle, readinto):
        self.handle, self.readinto = handle, readinto

    def __getattr__(self, name):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()


def test_float_features_and_regression_targets(tmp_path):
    rng = np.random.default_rng(1)
    x, y = rng.normal(3, 2, (300, 5)).astype(np.float32), rng.normal(size=(300, 2))
    engine.write_shards(tmp_path / "f", [(x[:100], y[:100]), (x[100:], y[100:])])
    memory = engine.load_dataset(tmp_path / "f")
    streamed = engine.load_dataset(tmp_path / "f", stream="yes")
    assert memory.task == "regression" and memory.target_shape == (2,)
    assert memory.normalisation["kind"] == "standardise" and len(memory.normalisation["mean"]) == 5
    assert torch.equal(streamed.x[:], memory.x)
    assert memory.x.mean(0).abs().max() < 1e-5 and (memory.x.std(0) - 1).abs().max() < 0.01
    plain = engine.load_dataset(tmp_path / "f", normalise="none")
    assert torch.equal(plain.x, torch.from_numpy(x))


def test_a_killed_or_failed_write_leaves_nothing_under_the_name(tmp_path):
    x, y = pictures(10)
    with pytest.raises(engine.DatasetError, match="part 1 holds samples of shape"):
        engine.write_shards(tmp_path / "s", [(x, y), (x[:, :, :4], y)])
    assert list(tmp_path.iterdir()) == []
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leftover = tmp_path / f".s.{dead.pid}-abcd0123.tmp"     # as engine.io.atomic names them
    leftover.mkdir()
    engine.write_shards(tmp_path / "s", [(x, y)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]
    with pytest.raises(engine.DatasetError, match="already exists"):
        engine.write_shards(tmp_path / "s", [(x, y)])


def manifest_of(folder):
    return json.loads((folder / "shards.json").read_text())


def rewrite(folder, **changes):
    m = manifest_of(folder)
    m.update(changes)
    (folder / "shards.json").write_text(json.dumps(m))


@pytest.mark.parametrize("change, message", [
    (lambda f: (f / "shards.json").write_text("{nope"), "is not JSON"),
    (lambda f: rewrite(f, format="other"), "not a Layerwise shards manifest"),
    (lambda f: rewrite(f, version=9), "of version 9"),
    (lambda f: rewrite(f, shards=[]), "non-empty list"),
    (lambda f: rewrite(f, classes="abc"), "list of names"),
    (lambda f: rewrite(f, shards=[{"x": "../x-00000.npy", "y": "y-00000.npy"}]),
     "a file in the folder itself"),
    (lambda f: rewrite(f, shards=[{"x": "/etc/passwd", "y": "y-00000.npy"}]),
     "a file in the folder itself"),
    (lambda f: rewrite(f, shards=[{"x": "x-00000.npy", "y": "y-00001.npy"},
                                  {"x": "x-00001.npy", "y": "y-00000.npy"}]) or
     np.save(f / "y-00001.npy", np.zeros(3, np.int64)), "has 3 labels for the 25 samples"),
    (lambda f: np.save(f / "x-00002.npy", np.zeros((25, 1, 8, 7), np.uint8)),
     "every shard must hold the same"),
    (lambda f: np.save(f / "x-00001.npy", np.array([None] * 25, dtype=object)[:, None],
                       allow_pickle=True), "holds Python objects"),
    (lambda f: np.save(f / "x-00001.npy", np.asfortranarray(np.zeros((25, 64), np.uint8))),
     "Fortran order"),
    (lambda f: (f / "x-00003.npy").write_bytes((f / "x-00003.npy").read_bytes()[:-5]),
     "the file is damaged"),
    (lambda f: (f / "x-00000.npy").write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': 1}     \n"),
     "is not a .npy array"),
    (lambda f: (f / "y-00002.npy").unlink(), "does not exist"),
    (lambda f: np.save(f / "y-00000.npy", np.full(25, 7)), "out of range for 3 classes"),
])
def test_a_strangers_folder_is_refused_by_name(folder, change, message):
    change(folder)
    with pytest.raises(engine.DatasetError, match=message):
        engine.load_dataset(folder)


def test_a_shard_cut_short_after_loading_names_it(folder, monkeypatch):
    monkeypatch.setattr(stream, "WORKERS", 1)
    data = engine.load_dataset(folder, stream="yes")
    (folder / "x-00003.npy").write_bytes((folder / "x-00003.npy").read_bytes()[:200])
    with pytest.raises(engine.DatasetError, match="x-00003.npy' ends before its row"):
        engine.train(cnn(), data, config())
    assert multiprocessing.active_children() == []


def test_the_command_line_writes_an_npz_as_shards_that_train(tmp_path):
    x, y = pictures(120)
    np.savez(tmp_path / "a.npz", X=x, y=y)
    main = [sys.executable, os.path.join(ROOT, "main.py")]
    done = subprocess.run(main + ["shards", str(tmp_path / "a.npz"), str(tmp_path / "s"),
                                  "--rows", "50"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Wrote 120 samples" in done.stdout and "as 3 shards" in done.stdout
    data = engine.load_dataset(tmp_path / "s")
    assert torch.equal(data.x, engine.load_dataset(tmp_path / "a.npz").x)


def test_an_image_folder_becomes_shards_with_its_classes(tmp_path):
    image = pytest.importorskip("PIL.Image")
    x, y = pictures(30)
    for i, (a, c) in enumerate(zip(x, y)):
        (tmp_path / "imgs" / f"k{c}").mkdir(parents=True, exist_ok=True)
        image.fromarray(a[0]).save(tmp_path / "imgs" / f"k{c}" / f"{i:02}.png")
    done = engine.to_shards(tmp_path / "imgs", tmp_path / "s", rows=8)
    assert done["kind"] == "images" and done["samples"] == 30 and done["shards"] == 4
    folder, sharded = engine.load_dataset(tmp_path / "imgs"), engine.load_dataset(tmp_path / "s")
    assert sharded.classes == folder.classes and torch.equal(sharded.y, folder.y)
    assert torch.equal(sharded.x, folder.x)


@pytest.mark.parametrize("shifted", [False, True])
def test_an_autoencoder_learns_streamed_inputs_as_in_memory(folder, monkeypatch, shifted):
    """Target "inputs" on streamed rows: each batch is its own target, decoded once (with
    augmentation, the batch as decoded is the target of its augmented copy, as in memory)."""
    spec = engine.NetworkSpec.sequential((1, 8, 8), [
        ("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
        ("Conv2d", {"out_channels": 1, "kernel_size": 3, "padding": 1})])
    cfg = engine.TrainConfig(epochs=2, batch_size=16, lr=0.01, seed=3, probe_every=2,
                             val_fraction=0.25, target="inputs", augment_crop=2 * shifted)
    monkeypatch.setattr(stream, "WORKERS", 1)
    run_s = engine.train(spec, engine.load_dataset(folder, stream="yes"), cfg)
    run_m = engine.train(spec, engine.load_dataset(folder, stream="no"), cfg)
    assert run_s.status == "finished" and "val_loss" in run_s.history["epochs"][-1]
    assert without_seconds(run_s.history) == without_seconds(run_m.history)
    assert run_s.history["epochs"][-1]["train_loss"] < run_s.history["epochs"][0]["train_loss"]


def test_streamed_images_are_augmented_by_the_workers_as_in_memory(folder, tmp_path,
                                                                   monkeypatch):
    """Flips and shifts are applied off the training thread, by the processes that decode
    the batches, with the same draws as in memory: the same history."""
    from engine.run import augment
    monkeypatch.setattr(stream, "WORKERS", 1)
    where = tmp_path / "pids"
    real = augment.Augment.apply

    def apply(self, x, draws):
        with open(where, "a") as f:
            f.write(f"{os.getpid()}\n")
        return real(self, x, draws)
    monkeypatch.setattr(augment.Augment, "apply", apply)
    cfg = config().replace(augment_flip=True, augment_crop=2)
    run_s = engine.train(cnn(), engine.load_dataset(folder, stream="yes"), cfg)
    workers = set(where.read_text().split())
    where.unlink()
    run_m = engine.train(cnn(), engine.load_dataset(folder, stream="no"), cfg)
    assert workers and str(os.getpid()) not in workers         # off the training thread
    assert where.read_text().split() == [str(os.getpid())] * 10   # in memory: here, 2 x 5
    assert without_seconds(run_s.history) == without_seconds(run_m.history)
    plain = engine.train(cnn(), engine.load_dataset(folder, stream="no"), config())
    assert without_seconds(plain.history) != without_seconds(run_m.history)


def test_indexing_follows_a_tensors_rules(folder):
    x, _ = pictures()
    data, memory = engine.load_dataset(folder, stream="yes"), engine.load_dataset(folder)
    assert torch.equal(data.x[-1], memory.x[-1]) and torch.equal(data.x[[0, -1]],
                                                                 memory.x[[0, -1]])
    with pytest.raises(IndexError):
        data.x[90]
    with pytest.raises(IndexError):
        data.x[[-91]]


@pytest.mark.parametrize("change, message", [
    (lambda f: np.save(f / "x-00001.npy", np.zeros((25, 1, 8, 8), np.longdouble)),
     "wider than the 64-bit numbers"),
    (lambda f: np.save(f / "y-00001.npy", np.zeros(25, np.float64)),
     "labels of different shapes or number types"),
    (lambda f: rewrite(f, classes=["only"]), "names 1 classes"),
    (lambda f: rewrite(f, classes=[]), "names 0 classes"),
])
def test_labels_and_types_that_disagree_are_refused(folder, change, message):
    change(folder)
    with pytest.raises(engine.DatasetError, match=message):
        engine.load_dataset(folder)


def test_a_constant_column_becomes_zero_not_one(tmp_path):
    x = np.stack([np.linspace(0, 1, 50), np.full(50, 0.1)], 1).astype(np.float32)
    engine.write_shards(tmp_path / "c", [(x, np.arange(50) % 2)])
    for data in (engine.load_dataset(tmp_path / "c"),
                 make_dataset("m", x, np.arange(50) % 2, "classification", normalise="features")):
        assert torch.equal(data.x[:, 1], torch.zeros(50))


def test_a_name_with_glob_characters_removes_only_its_own_leftovers(tmp_path):
    x, y = pictures(5)
    other = subprocess.Popen([sys.executable, "-c", "pass"])
    other.wait()                                      # a dead writer, of another name
    live = tmp_path / f".x1.{other.pid}-beef0123.tmp"
    live.mkdir()
    engine.write_shards(tmp_path / "x[1]", [(x, y)])
    assert live.exists() and (tmp_path / "x[1]" / "shards.json").exists()
