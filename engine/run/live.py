"""What a live view of training needs beyond the history: decision boundaries, confusion
matrices and convolution filters, computed in the training thread between batches.

`LiveViews` is a callback: it computes each view from the model where it is (never while a
batch is in flight, so no lock is needed) and hands small numpy records to `put` (for example
`EventQueue.queue.put`), at most about once per `interval` seconds for the boundary and the
filters, and at each epoch end for the confusion matrix. The functions below it are usable on
their own (scripts, tests, the window after loading a file).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from engine.data import Dataset
from engine.data.dataset import CLASSIFICATION
from engine.run.events import Callback

GRID = 90                 # decision-boundary resolution (GRID x GRID points)
MAX_POINTS = 600          # data points drawn under the boundary
MAX_FILTERS = (32, 16)    # output channels x input channels shown per convolution


@dataclass(frozen=True)
class BoundaryEvent:
    """Class probabilities over a grid of the 2-D input plane, with some data points.
    probs: (GRID, GRID, classes), row = y, column = x; extent: (x0, x1, y0, y1)."""
    step: int
    probs: np.ndarray
    extent: tuple[float, float, float, float]
    points: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class ConfusionEvent:
    """counts[i, j]: validation samples of class i predicted as class j, at the epoch's end."""
    epoch: int
    counts: np.ndarray
    classes: list[str]


@dataclass(frozen=True)
class FiltersEvent:
    """The weights of each Conv2d layer: {node: (out, in, kh, kw) array}."""
    step: int
    filters: dict[str, np.ndarray]


def has_boundary(data: Dataset) -> bool:
    return data.task == CLASSIFICATION and data.input_shape == (2,)


CONVOLUTIONS = ("Conv2d", "Conv1d", "ConvTranspose2d")


def conv_layers(model) -> list[str]:
    return [n for n in model.order if model.spec.nodes[n].kind in CONVOLUTIONS]


STREAMED_VIEW_SAMPLES = 2000   # validation samples of a streamed folder the views decode


class LiveViews(Callback):
    """See the module docstring. `val_index` selects the samples of the confusion matrix."""

    def __init__(self, data: Dataset, put, val_index=None, interval: float = 1.0):
        self.data, self.put, self.interval = data, put, interval
        self.boundary = has_boundary(data)
        self.classes = data.task == CLASSIFICATION
        idx = val_index if val_index is not None and len(val_index) else None
        if data.streamed:       # decoded here, once: a seeded sample, never the whole folder
            pool = torch.as_tensor(idx) if idx is not None else torch.arange(len(data))
            pick = torch.randperm(len(pool), generator=torch.Generator().manual_seed(0))
            idx = pool[pick[:STREAMED_VIEW_SAMPLES]].sort().values
        self.vx = data.x if idx is None else data.x[idx]
        self.vy = data.y if idx is None else data.y[idx]
        self.points, self.labels = sample_points(data) if self.boundary else (None, None)
        # the boundary's box: the data's, or a streamed set's from its decoded sample
        self.box = torch.from_numpy(self.points) if self.boundary and data.streamed else data.x
        self.last = -math.inf
        self.step = 0

    def on_train_start(self, run) -> None:
        self._views(run.model, force=True)

    def on_step(self, run, event) -> None:
        self.step = event.step
        self._views(run.model)

    def on_epoch_end(self, run, event) -> None:
        if "stage" not in event.record:
            self._confusion(run.model, event.epoch)

    def snapshot(self, model, epoch: int, step: int) -> None:
        """Every view of `model` now, as after epoch `epoch` and step `step`."""
        self.step = step
        self._views(model, force=True)
        self._confusion(model, epoch)

    def _confusion(self, model, epoch: int) -> None:
        if self.classes and len(self.vx):
            counts = confusion_matrix(model, self.vx, self.vy, self.data.n_classes)
            names = self.data.classes or [str(i) for i in range(self.data.n_classes)]
            self.put(ConfusionEvent(epoch, counts, list(names)))

    def on_train_end(self, run) -> None:
        self._views(run.model, force=True)

    def _views(self, model, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        if self.boundary:
            probs, extent = decision_grid(model, self.box)
            self.put(BoundaryEvent(self.step, probs, extent, self.points, self.labels))
        filters = conv_filters(model)
        if filters:
            self.put(FiltersEvent(self.step, filters))


def trained_views(model, data: Dataset | None, val_fraction: float = 0.2, seed: int = 0,
                  epoch: int = 0, step: int = 0) -> list:
    """The views that trained weights allow, as a run sends them (a file reopened): the
    filters of each Conv2d layer, and, with its data, the decision boundary (2-D inputs) and
    the confusion matrix on the validation part that a run with `val_fraction` and `seed`
    holds out. The model's weights and modes are unchanged."""
    if data is None:
        filters = conv_filters(model)
        return [FiltersEvent(step, filters)] if filters else []
    data = data.fit_input(model.input_shape)
    _, val = data.split(val_fraction, seed)
    out: list = []
    LiveViews(data, out.append, val).snapshot(model, epoch, step)
    return out


# ----------------------------------------------------------------------------- the views

def sample_points(data: Dataset, limit: int = MAX_POINTS, seed: int = 0):
    """Up to `limit` samples (x as (n, 2) float32, labels as int64), a seeded choice."""
    n = len(data)
    pick = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:limit]
    return data.x[pick].numpy().astype(np.float32), data.y[pick].numpy()


@torch.no_grad()
def predict_proba(model, x: torch.Tensor, batch: int = 4096) -> torch.Tensor:
    """Class probabilities (N, classes) of `model` in evaluation mode; every submodule's
    training flag is restored afterwards (pre-training keeps some in evaluation mode)."""
    modes = [(m, m.training) for m in model.modules()]
    dev = next(model.parameters(), torch.empty(0)).device
    model.eval()
    try:
        outs = [model(x[i:i + batch].to(dev)).float() for i in range(0, len(x), batch)]
    finally:
        for m, mode in modes:
            m.training = mode
    out = torch.cat(outs).reshape(len(x), -1).cpu()
    if out.shape[1] == 1:
        p = torch.sigmoid(out)
        return torch.cat([1 - p, p], dim=1)
    return torch.softmax(out, dim=1)


def decision_grid(model, x: torch.Tensor, resolution: int = GRID, margin: float = 0.1):
    """(probs (res, res, classes) float32, extent (x0, x1, y0, y1)) over the data's box."""
    lo, hi = x.min(0).values, x.max(0).values
    pad = (hi - lo) * margin + 1e-6
    lo, hi = (lo - pad).tolist(), (hi + pad).tolist()
    xs = torch.linspace(lo[0], hi[0], resolution)
    ys = torch.linspace(lo[1], hi[1], resolution)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
    probs = predict_proba(model, grid)
    return (probs.reshape(resolution, resolution, -1).numpy().astype(np.float32),
            (lo[0], hi[0], lo[1], hi[1]))


def confusion_matrix(model, x: torch.Tensor, y: torch.Tensor, n_classes: int) -> np.ndarray:
    """counts[true, predicted] (int64) of `model` on (x, y)."""
    predicted = predict_proba(model, x).argmax(1)
    flat = y.cpu().long() * n_classes + predicted
    return torch.bincount(flat, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes).numpy()


def conv_filters(model) -> dict[str, np.ndarray]:
    """Each convolution's filters (at most MAX_FILTERS channels) as float32 arrays (output
    channels, input channels, height, width): a Conv1d's as rows of height 1, a transposed
    convolution's (stored input channels first) turned to the same order."""
    out = {}
    for n in conv_layers(model):
        w = model.layers[n].weight.detach()
        if w.dim() == 3:
            w = w[:, :, None, :]
        elif model.spec.nodes[n].kind == "ConvTranspose2d":
            w = w.transpose(0, 1)
        w = w[:MAX_FILTERS[0], :MAX_FILTERS[1]]
        out[n] = w.to("cpu", torch.float32).numpy().copy()
    return out


def filter_grid(weights: np.ndarray) -> tuple[int, int]:
    """(rows, columns) of kernels in `filter_tiles`: output x input channels, or, with one
    input channel (a first layer on grey images), the filters in a near-square grid."""
    o, i = weights.shape[:2]
    if i == 1:
        cols = math.ceil(math.sqrt(o))
        return math.ceil(o / cols), cols
    return o, i


def filter_tiles(weights: np.ndarray) -> np.ndarray:
    """One image of a convolution's filters (laid out as `filter_grid` says: row r, column c
    is output channel r and input channel c, or with one input channel filter r * columns + c),
    each kernel scaled to [0, 1] on its own, separated by a one-pixel gap (NaN)."""
    o, i, kh, kw = weights.shape
    rows, cols = filter_grid(weights)
    tiles = np.full((rows * (kh + 1) - 1, cols * (kw + 1) - 1), np.nan, dtype=np.float32)
    flat = weights.reshape(o * i, -1)
    lo, hi = flat.min(-1, keepdims=True), flat.max(-1, keepdims=True)
    scaled = ((flat - lo) / np.where(hi > lo, hi - lo, 1.0)).reshape(o * i, kh, kw)
    for k in range(o * i):
        r, c = divmod(k, cols)
        tiles[r * (kh + 1):r * (kh + 1) + kh, c * (kw + 1):c * (kw + 1) + kw] = scaled[k]
    return tiles


# ----------------------------------------------------------------------------- the window's helpers

def devices() -> list[str]:
    """The devices training can use here: auto, cpu, each CUDA device, mps where present."""
    found = ["auto", "cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


def suggest_dataset(input_shape) -> tuple[str, dict]:
    """A named data set (and options) that fits a network's input shape, for a network that
    comes without training settings; ("", {}) when none fits."""
    shape = tuple(int(d) for d in input_shape or ())
    if math.prod(shape) == 784 and shape:
        return "mnist-5k", {}
    if shape == (3, 32, 32):
        return "cifar-10", {}
    if len(shape) == 2 and shape[1] in (1, 2) and 2 <= shape[0] <= 1000:
        return ("sequence-parity" if shape[1] == 1 else "adding"), {"steps": shape[0]}
    if shape == (2,):
        return "moons", {}
    if shape == (1,):
        return "sine", {}
    if len(shape) == 1 and 2 <= shape[0] <= 16:
        return "parity", {"bits": shape[0]}
    return "", {}


def preview(data: Dataset, count: int = 8) -> dict:
    """What a data-set preview shows: the summary, and either a few images (scaled to [0, 1],
    (height, width), or (height, width, 3) for colour images of 3 channels, with their labels)
    or, for 2-D inputs, a sample of points."""
    info = data.describe()
    names = data.classes or ([str(i) for i in range(data.n_classes)] if data.n_classes else None)
    label = (lambda v: names[int(v)]) if names else (lambda v: f"{float(np.ravel(v)[0]):.3g}")
    if len(data.input_shape) == 3:
        images = []
        for i in range(min(count, len(data))):
            img = data.x[i].numpy()
            img = img.transpose(1, 2, 0) if img.shape[0] == 3 else img.mean(0)
            span = float(img.max() - img.min()) or 1.0
            images.append(((img - img.min()) / span).astype(np.float32))
        info["images"] = images
        info["image_labels"] = [label(data.y[i].numpy()) for i in range(len(images))]
    elif data.input_shape == (2,):
        info["points"], info["point_labels"] = sample_points(data, 300)
    return info
