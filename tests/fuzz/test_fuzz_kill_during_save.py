"""A save killed at any moment (kill -9) leaves the previous file or a complete new one, never a
half-written one; and the temporary file the killed save left is removed at the next save of
that file, so kills do not pile up partial files."""
import os
import random
import re
import signal
import time

import pytest
import torch

import engine

KILLS = 10


@pytest.fixture
def one_thread():
    """PyTorch on one thread while children are forked: a forked child must not enter the
    parent's OpenMP pool (it would wait for threads that did not survive the fork)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def big_network(version: str) -> engine.NetworkSpec:
    """About 0.8 million weights (3 MiB): a save takes long enough to be cut part way."""
    return engine.NetworkSpec.sequential((256,), [("Linear", {"out_features": 1024}),
                                                  ("ReLU", {}), ("Linear", {"out_features": 512})],
                                         name=version)


def save_forever(path, model, kill: int, done: int) -> None:
    """The forked child: save new versions over `path` until it is killed, writing a byte to
    the pipe `done` after each."""
    try:
        for n in range(10 ** 9):
            engine.save(path, big_network(f"v{kill}-{n}"), model=model)
            os.write(done, b".")
    finally:
        os._exit(0)


def temporaries(folder) -> list:
    return list(folder.glob(".big.lwnet.*.tmp"))


def wait_for_a_temporary(folder, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not temporaries(folder) and time.monotonic() < deadline:
        time.sleep(0.0005)


def kill_a_saving_child(path, model, kill: int, pause: float) -> None:
    """Fork a child that saves over and over; once it has saved once, kill it `pause`
    seconds later (pause None: as soon as its next temporary file appears)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        save_forever(path, model, kill, write)
    os.close(write)
    try:
        os.read(read, 1)                       # one save done: the child is under way
        if pause is None:
            wait_for_a_temporary(path.parent)
        else:
            time.sleep(pause)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    finally:
        os.close(read)


def test_kill_9_during_saves_leaves_a_file_that_opens_and_no_stale_temporary(tmp_path,
                                                                              one_thread):
    path = tmp_path / "big.lwnet"
    torch.manual_seed(0)
    model = engine.build(big_network("first"))
    start = time.perf_counter()
    engine.save(path, big_network("first"), model=model)
    seconds = time.perf_counter() - start
    rng = random.Random(17)
    versions, cut = set(), 0
    for kill in range(KILLS):              # half at random moments, half inside a write
        pause = rng.uniform(0, 2 * seconds) if kill % 2 else None
        kill_a_saving_child(path, model, kill, pause)
        cut += bool(temporaries(tmp_path))
        saved = engine.load(path)               # the old file or a complete new one
        assert re.fullmatch(r"v\d+-\d+", saved.spec.name), saved.spec.name
        assert torch.equal(saved.model.layers["linear_2"].weight,
                           model.layers["linear_2"].weight)
        versions.add(saved.spec.name)
    assert cut >= 1, "no kill landed inside a save: the test proves nothing"
    engine.save(path, big_network("last"), model=model)
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != "big.lwnet")
    assert left == [], f"{cut} kills cut a save; left behind after the next save: {left}"
    assert engine.load(path).spec.name == "last"
