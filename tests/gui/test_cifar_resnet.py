"""Tried as a new user would: ResNet-8 from the examples trains on CIFAR-10 in the window, with
live probes. CIFAR-10 comes from a small copy of the official binary archive (8 images per
batch file) served on 127.0.0.1 through LAYERWISE_CIFAR10_URL, downloaded by the window as the
real one would be."""
from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

import engine
from engine.data import cifar
from engine.data import download as D

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
ARCHIVE = "cifar-10-binary.tar.gz"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def small_cifar(tmp_path, monkeypatch):
    """A CIFAR-10 binary archive of 5 x 8 images, served locally, its checksum pinned."""
    www = tmp_path / "www"
    www.mkdir()
    rng = np.random.default_rng(0)
    with tarfile.open(www / ARCHIVE, "w:gz") as tar:
        for k, name in enumerate(cifar.BATCHES):
            rows = rng.integers(0, 256, (8, cifar.RECORD), dtype=np.uint8)
            rows[:, 0] = (np.arange(8) + k) % 10
            info = tarfile.TarInfo(name)
            info.size = rows.nbytes
            tar.addfile(info, io.BytesIO(rows.tobytes()))
    digest = hashlib.sha256((www / ARCHIVE).read_bytes()).hexdigest()
    monkeypatch.setattr(cifar, "RECORDS", 8)
    monkeypatch.setitem(D.CIFAR10.files, ARCHIVE, digest)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("LAYERWISE_CIFAR10_URL", f"http://127.0.0.1:{httpd.server_address[1]}/")
    monkeypatch.setenv("LAYERWISE_DATA_DIR", str(tmp_path / "cache"))
    yield
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_resnet8_from_the_examples_trains_on_cifar10_with_live_probes(qtbot, window,
                                                                      small_cifar, monkeypatch):
    from gui import dialogs
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *a: "discard")
    torch.set_num_threads(1)
    session = window.ensure_training()
    assert window.open_example(str(EXAMPLES / "resnet8.json"))
    recipe = session.panel.recipe()
    assert recipe.data.name == "cifar-10"                   # suggested by the input's shape
    session.panel.load(recipe.with_settings(train={"epochs": 1, "batch_size": 8,
                                                   "probe_every": 1, "augment_flip": True}))
    probes = []
    session.dashboard.add = (lambda real: lambda events: (probes.extend(
        e for e in events if isinstance(e, engine.ProbeEvent)), real(events))[1])(
        session.dashboard.add)
    with qtbot.waitSignal(window.training_finished, timeout=120000) as blocker:
        assert window.start_training()
    assert blocker.args == ["finished"], window.doc.history.get("message")
    history = window.doc.history
    assert len(history["epochs"]) == 1 and history["epochs"][0]["val_acc"] is not None
    assert list(history["probes"]["step"]) == [1, 2, 3, 4, 5]          # 36 images, batch 8
    assert probes, "no ProbeEvent reached the dashboard while training"
    layers = set(probes[-1].layers)              # the weighted layers; merges have no weights
    assert {"conv2d_1", "linear_1", "batchnorm2d_1"} <= layers and "add_1" not in layers
