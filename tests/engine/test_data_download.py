"""Downloads: the real fetch code against a local HTTP server on 127.0.0.1 (never the internet)."""
from __future__ import annotations

import hashlib
import http.server
import io
import socket
import tarfile
import threading
from functools import partial

import numpy as np
import pytest

import engine
from engine.data import cifar
from engine.data import download as D
from engine.data.dataset import make_dataset
from engine.data.idx import write_idx
from engine.data.registry import load_dataset

IMAGES, LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
CIFAR = "cifar-10-binary.tar.gz"


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
    assert D.CIFAR10.files == {CIFAR: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9dd"
                                      "da3db29a59bca1dd"}          # tensorflow-datasets' pin
    assert D.CIFAR10.env == "LAYERWISE_CIFAR10_URL"


# ----------------------------------------------------------------------------- CIFAR-10

@pytest.fixture
def two_records(monkeypatch):
    """Batch files of 2 records stand in for the real ones of 10,000."""
    monkeypatch.setattr(cifar, "RECORDS", 2)


def _batches(records=2, seed=0):
    """{member name: bytes} of the five training batches, labels 0..9 in turn."""
    rng = np.random.default_rng(seed)
    out, label = {}, 0
    for name in cifar.BATCHES:
        rows = rng.integers(0, 256, (records, cifar.RECORD), dtype=np.uint8)
        rows[:, 0] = [(label + i) % 10 for i in range(records)]
        label += records
        out[name] = rows.tobytes()
    return out


def _tar(path, members: dict, links=()):
    """A tar.gz of regular files {name: bytes} and symbolic links (name, target)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return path


def test_cifar10_through_the_registry_from_a_mirror(server, cache, monkeypatch, two_records):
    url, www, requests = server
    members = {"cifar-10-batches-bin/readme.html": b"<html/>", **_batches(),
               "cifar-10-batches-bin/test_batch.bin": bytes(2 * cifar.RECORD)}
    _tar(www / CIFAR, members)
    monkeypatch.setenv("LAYERWISE_CIFAR10_URL", url)
    monkeypatch.setitem(D.CIFAR10.files, CIFAR, hashlib.sha256((www / CIFAR).read_bytes())
                        .hexdigest())
    info = {i.name: i for i in engine.datasets()}["cifar-10"]
    assert not info.available and info.input_shape == (3, 32, 32)
    ds = load_dataset("cifar-10")
    records = np.frombuffer(b"".join(members[n] for n in cifar.BATCHES), np.uint8)
    records = records.reshape(10, cifar.RECORD)
    assert len(ds) == 10 and ds.input_shape == (3, 32, 32) and ds.n_classes == 10
    assert ds.y.tolist() == list(range(10)) and ds.classes[0] == "airplane"
    assert ds.classes[9] == "truck" and ds.reference() == {"name": "cifar-10", "options": {}}
    like_mnist = make_dataset("c", records[:, 1:].reshape(10, 3, 32, 32), records[:, 0],
                              "classification", normalise="global", scale=1 / 255)
    assert np.allclose(ds.x.numpy(), like_mnist.x.numpy(), atol=1e-5)
    assert ds.normalisation == pytest.approx(like_mnist.normalisation)
    assert info.available and requests == [f"/{CIFAR}"]
    assert [p.name for p in (cache / "cifar-10").iterdir()] == [CIFAR]   # nothing unpacked


def test_corrupt_cifar10_download_leaves_nothing(server, cache, monkeypatch):
    url, www, _ = server
    _tar(www / CIFAR, _batches())           # not the real archive: its sha256 differs
    monkeypatch.setenv("LAYERWISE_CIFAR10_URL", url)
    with pytest.raises(engine.DatasetError, match="corrupt.*LAYERWISE_CIFAR10_URL"):
        load_dataset("cifar-10")
    assert list((cache / "cifar-10").iterdir()) == []


BATCH_3 = "cifar-10-batches-bin/data_batch_3.bin"


def _without(name, **extra):
    members = _batches()
    del members[name]
    return {**members, **extra}


@pytest.mark.parametrize("members, links, words", [
    ({**_batches(), BATCH_3: bytes(cifar.RECORD * 3)}, (),
     f"member {BATCH_3} holds 9,219 bytes, not 6,146"),
    (_without(BATCH_3), [(BATCH_3, "/etc/passwd")], f"member {BATCH_3} is a link"),
    (_without(BATCH_3), (), f"no member {BATCH_3}"),
    (_batches(), [(BATCH_3, "data_batch_1.bin")], f"member {BATCH_3} appears twice"),
    ({**_batches(), BATCH_3: b"\x0c" + bytes(2 * cifar.RECORD - 1)}, (),
     f"member {BATCH_3}, record 0, has label 12"),
])
def test_cifar10_archive_refused_with_the_member_named(tmp_path, two_records, members, links,
                                                       words):
    path = _tar(tmp_path / CIFAR, members, links)
    with pytest.raises(engine.DatasetError, match=words) as info:
        cifar.read_cifar(path)
    assert str(path) in str(info.value)


def test_not_a_cifar10_archive(tmp_path, two_records):
    (tmp_path / "plain.tar.gz").write_bytes(b"not an archive at all")
    with pytest.raises(engine.DatasetError, match="plain.tar.gz"):
        cifar.read_cifar(tmp_path / "plain.tar.gz")
