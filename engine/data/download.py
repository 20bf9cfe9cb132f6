"""Data sets fetched on first use into a per-user cache: progress, sha256 check, atomic files.

The base URL of each remote can be replaced by an environment variable (a mirror, or a local
server); the cache folder by LAYERWISE_DATA_DIR. A file is written under a temporary name and
renamed only once complete and verified, so an interrupted download never leaves a bad file.
"""
from __future__ import annotations

import hashlib
import os
import socket
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from engine.errors import DatasetError

CHUNK = 1 << 16
Progress = Callable[[str, int, int], None]    # (file name, bytes done, bytes total or 0)


@dataclass(frozen=True)
class Remote:
    """Files (name -> sha256) under `base_url`, which the environment variable `env` replaces."""
    name: str
    base_url: str
    env: str
    files: dict[str, str]

    def url(self) -> str:
        base = os.environ.get(self.env) or self.base_url
        return base if base.endswith("/") else base + "/"


MNIST = Remote("mnist", "https://ossci-datasets.s3.amazonaws.com/mnist/", "LAYERWISE_MNIST_URL", {
    "train-images-idx3-ubyte.gz":
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz":
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
})
FASHION_MNIST = Remote(
    "fashion-mnist", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "LAYERWISE_FASHION_MNIST_URL", {
        "train-images-idx3-ubyte.gz":
            "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
        "train-labels-idx1-ubyte.gz":
            "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
    })

CIFAR10 = Remote("cifar-10", "https://www.cs.toronto.edu/~kriz/", "LAYERWISE_CIFAR10_URL", {
    # the binary version (never the pickled one); the sha256 that tensorflow-datasets pins in
    # url_checksums/cifar10.txt (170,052,171 bytes; the page's md5 is c32a1d4a...d87530)
    "cifar-10-binary.tar.gz":
        "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
})


def cache_dir() -> Path:
    """LAYERWISE_DATA_DIR, else the platform's per-user cache folder + 'layerwise'."""
    if os.environ.get("LAYERWISE_DATA_DIR"):
        return Path(os.environ["LAYERWISE_DATA_DIR"]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "layerwise" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "layerwise"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "layerwise"


def cached(remote: Remote) -> bool:
    folder = cache_dir() / remote.name
    return all((folder / f).is_file() for f in remote.files)


def fetch(remote: Remote, progress: Progress | None = None,
          timeout: float = 30.0) -> dict[str, Path]:
    """The remote's files in the cache, downloading and verifying those not there yet."""
    folder = cache_dir() / remote.name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"cannot create the data cache folder '{folder}' "
                           f"({exc.strerror or exc}); set LAYERWISE_DATA_DIR to a folder you "
                           f"can write") from None
    paths = {}
    for name, sha in remote.files.items():
        path = folder / name
        if not path.is_file() or _sha256(path) != sha:
            _download(remote, name, sha, path, progress, timeout)
        paths[name] = path
    return paths


def _download(remote: Remote, name: str, sha: str, path: Path, progress, timeout) -> None:
    url = remote.url() + name
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _copy(url, out, name, progress, timeout, remote)
        if digest != sha:
            raise DatasetError(f"the download of {url} is corrupt (its sha256 is {digest}, "
                               f"expected {sha}); try again later, or set {remote.env} to "
                               f"another mirror")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _copy(url: str, out, name: str, progress, timeout, remote: Remote) -> str:
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            if progress:
                progress(name, 0, total)
            while chunk := response.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(name, done, total)
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as exc:
        reason = f"the server answered HTTP {exc.code} {exc.reason}" \
            if isinstance(exc, urllib.error.HTTPError) else getattr(exc, "reason", None) or exc
        raise DatasetError(
            f"cannot download data set '{remote.name}' from {url} ({reason}). Check the "
            f"internet connection, set {remote.env} to a mirror, or use the bundled "
            f"'mnist-5k', which needs no network") from None
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
