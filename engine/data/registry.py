"""The named data sets (built-in, bundled, downloadable), their options, and `load_dataset`."""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from engine.errors import DatasetError
from engine.data import download as D
from engine.data import synthetic as S
from engine.data.cifar import CLASSES as CIFAR_CLASSES, cifar_dataset, read_cifar
from engine.data.dataset import CLASSIFICATION, REGRESSION, Dataset, Option, make_dataset
from engine.data.idx import read_idx
from engine.data.readers import read_path

RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "data"
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]


@dataclass(frozen=True)
class DatasetInfo:
    """A named data set: what `engine.datasets()` lists."""
    name: str
    kind: str                     # "built-in", "bundled" or "download"
    description: str
    input_shape: tuple[int, ...]
    task: str
    classes: int | None
    samples: str
    options: tuple[Option, ...] = ()
    loader: Callable[..., Dataset] = field(default=None, repr=False, compare=False)
    remote: D.Remote | None = field(default=None, repr=False, compare=False)

    @property
    def available(self) -> bool:
        """True when it can be loaded without the network."""
        return self.remote is None or D.cached(self.remote)

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "description": self.description,
                "input_shape": list(self.input_shape), "task": self.task,
                "classes": self.classes, "samples": self.samples,
                "available": self.available,
                "options": {o.name: o.to_dict() for o in self.options}}


# ----------------------------------------------------------------------------- loaders

def _synthetic(name, generate, description, task=CLASSIFICATION, **fixed):
    def load(**options):
        x, y = generate(**options)
        return make_dataset(name, x, y, task, options=options, description=description, **fixed)
    return load


def _mnist_5k(samples: int = 5000, seed: int = 0, **_):
    """The bundled digits; `samples` below 5,000 picks a seeded random subset (a quick run)."""
    path = RESOURCES / "mnist-5k.npz"
    try:
        with np.load(path, allow_pickle=False) as f:
            images, labels = f["images"], f["labels"]
    except (OSError, KeyError, ValueError) as exc:
        raise DatasetError(f"the bundled data set '{path}' is missing or damaged ({exc}); "
                           f"reinstall Layerwise") from None
    data = _digits("mnist-5k", images, labels, [str(i) for i in range(10)],
                   "5,000 MNIST digits (500 per class), bundled")
    if samples >= len(data):
        return data
    pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:samples]
    return replace(data, x=data.x[pick], y=data.y[pick],
                   description=f"{samples:,} of the 5,000 bundled MNIST digits (seed {seed})")


def _remote_loader(remote: D.Remote, classes, description):
    def load(progress=None, **_):
        paths = D.fetch(remote, progress)
        images = read_idx(paths["train-images-idx3-ubyte.gz"])
        labels = read_idx(paths["train-labels-idx1-ubyte.gz"])
        return _digits(remote.name, images, labels, classes, description)
    return load


def _cifar10(progress=None, **_):
    paths = D.fetch(D.CIFAR10, progress)
    images, labels = read_cifar(paths["cifar-10-binary.tar.gz"])
    return cifar_dataset("cifar-10", images, labels, "the 50,000 CIFAR-10 training images")


def _digits(name, images, labels, classes, description) -> Dataset:
    return make_dataset(name, images.reshape(len(images), 1, 28, 28), labels, CLASSIFICATION,
                        normalise="global", scale=1 / 255, classes=classes, n_classes=10,
                        description=description)


def _opts(*extra, samples=1000, noise=0.1, seed=True):
    base = [Option("samples", samples, "number of points", 4, 1_000_000),
            Option("noise", noise, "standard deviation of the Gaussian noise", 0.0, 10.0)]
    return tuple(base + list(extra) + ([Option("seed", 0, "random seed", 0, 2**31 - 1)]
                                       if seed else []))


def _sequence_opts(samples, steps, *extra):
    return (Option("samples", samples, "number of sequences", 4, 1_000_000),
            Option("steps", steps, "length of each sequence (time steps)", 2, 1000),
            *extra, Option("seed", 0, "random seed", 0, 2**31 - 1))


def _rename(generate):
    return lambda samples, **kw: generate(n=samples, **kw)


_INFOS = [
    DatasetInfo("moons", "built-in", "two interleaving half circles", (2,), CLASSIFICATION, 2,
                "1,000", _opts(), _synthetic("moons", _rename(S.moons), "two half moons")),
    DatasetInfo("circles", "built-in", "a small circle inside a large one", (2,),
                CLASSIFICATION, 2, "1,000",
                _opts(Option("factor", 0.5, "inner radius / outer radius", 0.05, 0.95),
                      noise=0.05),
                _synthetic("circles", _rename(S.circles), "two concentric circles")),
    DatasetInfo("spiral", "built-in", "interleaved spiral arms, one per class", (2,),
                CLASSIFICATION, 3, "1,000",
                _opts(Option("classes", 3, "number of arms", 2, 10),
                      Option("turns", 1.0, "turns of each arm", 0.25, 5.0), noise=0.1),
                _synthetic("spiral", _rename(S.spiral), "spiral arms")),
    DatasetInfo("xor", "built-in", "the XOR problem: class 1 where x and y differ in sign",
                (2,), CLASSIFICATION, 2, "1,000", _opts(noise=0.05),
                _synthetic("xor", _rename(S.xor), "XOR of the signs of x and y")),
    DatasetInfo("gaussians", "built-in", "Gaussian blobs around a circle", (2,),
                CLASSIFICATION, 3, "1,000",
                _opts(Option("classes", 3, "number of blobs", 2, 20), noise=0.5),
                _synthetic("gaussians", _rename(S.gaussians), "Gaussian blobs")),
    DatasetInfo("parity", "built-in", "all 2^bits bit patterns; class = odd number of ones "
                "(depth versus width)", (8,), CLASSIFICATION, 2, "2^bits",
                (Option("bits", 8, "number of bits (input size)", 2, 16),),
                _synthetic("parity", S.parity, "Boolean parity")),
    DatasetInfo("sine", "built-in", "1-D regression of a chosen function on [-pi, pi] "
                "(universal approximation)", (1,), REGRESSION, None, "500",
                _opts(Option("function", "sin", "target function",
                             choices=tuple(S.SINE_FUNCTIONS)), samples=500, noise=0.0),
                _synthetic("sine", _rename(S.sine), "a 1-D function", REGRESSION)),
    DatasetInfo("sequence-parity", "built-in", "random bit streams, (steps, 1) values 0/1 (or "
                "with form=ids (steps,) token ids for an Embedding); class = odd number of ones "
                "(memory across a whole sequence)", (12, 1), CLASSIFICATION, 2, "2,000",
                _sequence_opts(2000, 12, Option("form", "values", "values: (steps, 1) numbers "
                                                "0/1 for LSTM, GRU, Conv1d, attention; ids: "
                                                "(steps,) token ids 0/1 for an Embedding",
                                                choices=("values", "ids"))),
                _synthetic("sequence-parity", S.sequence_parity, "parity of a bit stream",
                           classes=["even", "odd"], n_classes=2)),
    DatasetInfo("adding", "built-in", "the adding problem: (steps, 2) of random numbers in "
                "[0, 1] and a marker on two of them, one in each half; target = their sum "
                "(always answering 1 scores a mean squared error of about 0.167)", (50, 2),
                REGRESSION, None, "2,000", _sequence_opts(2000, 50),
                _synthetic("adding", S.adding, "the adding problem", REGRESSION)),
    DatasetInfo("mnist-5k", "bundled", "5,000 handwritten digits, 500 per class, 28x28 "
                "(ships with Layerwise)", (1, 28, 28), CLASSIFICATION, 10, "5,000",
                (Option("samples", 5000, "how many of the digits (a seeded random subset "
                         "below 5,000)", 10, 5000),
                 Option("seed", 0, "which subset (random seed)", 0, 2**31 - 1)),
                loader=_mnist_5k),
    DatasetInfo("mnist", "download", "60,000 handwritten digits, 28x28 (downloaded once, "
                "about 10 MB)", (1, 28, 28), CLASSIFICATION, 10, "60,000",
                loader=_remote_loader(D.MNIST, [str(i) for i in range(10)],
                                      "the 60,000 MNIST training digits"), remote=D.MNIST),
    DatasetInfo("fashion-mnist", "download", "60,000 clothing images in 10 classes, 28x28 "
                "(downloaded once, about 30 MB)", (1, 28, 28), CLASSIFICATION, 10, "60,000",
                loader=_remote_loader(D.FASHION_MNIST, FASHION_CLASSES,
                                      "the 60,000 Fashion-MNIST training images"),
                remote=D.FASHION_MNIST),
    DatasetInfo("cifar-10", "download", "50,000 small colour photographs in 10 classes ("
                f"{', '.join(CIFAR_CLASSES)}), 3x32x32 (downloaded once, about 170 MB)",
                (3, 32, 32), CLASSIFICATION, 10, "50,000", loader=_cifar10, remote=D.CIFAR10),
]
REGISTRY: dict[str, DatasetInfo] = {i.name: i for i in _INFOS}


def datasets() -> list[DatasetInfo]:
    """The named data sets, in the order they are listed."""
    return list(_INFOS)


def load_dataset(name_or_path, progress: D.Progress | None = None, **options) -> Dataset:
    """A named data set (see `datasets()`) with its options, or the user's own file or folder
    (.csv, .npz, IDX, image folder). `progress(file, done, total)` reports downloads."""
    if isinstance(name_or_path, Dataset):
        return name_or_path
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise DatasetError(f"a data set is given by name, by path or as an engine Dataset, not "
                           f"as {type(name_or_path).__name__}")
    info = REGISTRY.get(str(name_or_path).lower()) if isinstance(name_or_path, str) else None
    if info is not None:
        checked = _check_options(info, options)
        if info.remote is not None:
            return info.loader(progress=progress)
        dataset = info.loader(**checked)
        dataset.source, dataset.options = info.name, checked
        return dataset
    path = Path(name_or_path)
    if "\0" in str(path):
        raise DatasetError(f"{str(path)!r} holds a NUL character, which no file name may hold")
    if _may_exist(path) or path.suffix or len(path.parts) > 1:
        return read_path(path, options)
    close = difflib.get_close_matches(str(name_or_path), list(REGISTRY), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise DatasetError(f"unknown data set '{name_or_path}'{hint}: use one of "
                       f"{', '.join(REGISTRY)}, or a path to a .csv, .npz or IDX file or a "
                       f"folder of images")


def _may_exist(path: Path) -> bool:
    """Whether `path` exists, or may (it is out of reach: read_path says why)."""
    try:
        return path.exists()
    except OSError:
        return True


def _check_options(info: DatasetInfo, options: dict) -> dict:
    known = {o.name: o for o in info.options}
    unknown = [k for k in options if k not in known]
    if unknown:
        takes = f"it takes {', '.join(known)}" if known else "it takes no options"
        raise DatasetError(f"data set '{info.name}' has no option {unknown[0]!r}; {takes}")
    return {o.name: o.check(info.name, options.get(o.name, o.default)) for o in info.options}
