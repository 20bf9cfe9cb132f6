"""Downloads: the real fetch code against a local HTTP server on 127.0.0.1 (never the internet)."""
from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from functools import partial

import numpy as np
import pytest

import engine
from engine.data import download as D
from engine.data.idx import write_idx
from engine.data.registry import load_dataset

IMAGES, LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):   # keep the test output clean
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """Serves tmp_path/www on 127.0.0.1; yields (base_url, folder, list of requested paths)."""
    www = tmp_path / "www"
    www.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            partial(_Handler, directory=str(www)))
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", www, httpd.requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERWISE_DATA_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _digits(www, n=12):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    write_idx(www / IMAGES, images, compress=True)
    write_idx(www / LABELS, labels, compress=True)
    return images, labels, {f: hashlib.sha256((www / f).read_bytes()).hexdigest()
                            for f in (IMAGES, LABELS)}


def test_fetch_downloads_verifies_reports_and_caches(server, cache):
    url, www, requests = server
    _, _, sums = _digits(www)
    remote = D.Remote("test-digits", url, "LAYERWISE_TEST_URL", sums)
    seen = []
    paths = D.fetch(remote, progress=lambda name, done, total: seen.append((name, done, total)))
    assert paths[IMAGES].read_bytes() == (www / IMAGES).read_bytes()
    assert paths[IMAGES].parent == cache / "test-digits"
    assert seen[-1] == (LABELS, (www / LABELS).stat().st_size, (www / LABELS).stat().st_size)
    assert D.cached(remote) and len(requests) == 2
    D.fetch(remote)                     # already there and intact: no new request
    assert len(requests) == 2
    assert not list((cache / "test-digits").glob("*.part"))


def test_corrupt_download_leaves_nothing(server, cache):
    url, www, _ = server
    _, _, sums = _digits(www)
    remote = D.Remote("bad", url, "LAYERWISE_TEST_URL", {IMAGES: "0" * 64})
    with pytest.raises(engine.DatasetError, match="corrupt.*LAYERWISE_TEST_URL"):
        D.fetch(remote)
    assert list((cache / "bad").iterdir()) == []


def test_missing_file_on_the_server(server):
    url, www, _ = server
    remote = D.Remote("absent", url, "LAYERWISE_TEST_URL", {"nothing.gz": "0" * 64})
    with pytest.raises(engine.DatasetError, match="cannot download.*HTTP 404"):
        D.fetch(remote)


def test_offline_gives_a_clear_error(monkeypatch):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()                        # nothing listens there now
    monkeypatch.setenv("LAYERWISE_MNIST_URL", f"http://127.0.0.1:{port}/")
    with pytest.raises(engine.DatasetError) as info:
        load_dataset("mnist")
    text = str(info.value)
    assert "cannot download data set 'mnist'" in text and "LAYERWISE_MNIST_URL" in text
    assert "mnist-5k" in text


def test_mnist_through_the_registry_from_a_mirror(server, monkeypatch):
    url, www, requests = server
    images, labels, sums = _digits(www)
    monkeypatch.setenv("LAYERWISE_MNIST_URL", url.rstrip("/"))
    for name, digest in sums.items():       # the test files stand in for the real ones
        monkeypatch.setitem(D.MNIST.files, name, digest)
    assert not {i.name: i for i in engine.datasets()}["mnist"].available
    ds = load_dataset("mnist")
    assert {i.name: i for i in engine.datasets()}["mnist"].available
    assert len(ds) == 12 and ds.input_shape == (1, 28, 28) and ds.n_classes == 10
    assert ds.y.tolist() == labels.tolist()
    assert sorted(requests) == [f"/{IMAGES}", f"/{LABELS}"]


def test_real_checksums_are_pinned():
    for remote in (D.MNIST, D.FASHION_MNIST):
        assert set(remote.files) == {IMAGES, LABELS}
        assert all(len(s) == 64 and int(s, 16) >= 0 for s in remote.files.values())
