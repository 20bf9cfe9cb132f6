"""Dataset: tensors ready for training, with task, shapes, normalisation and a seeded split."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from engine.data.limits import number_text
from engine.errors import DatasetError

CLASSIFICATION = "classification"
REGRESSION = "regression"


@dataclass
class Dataset:
    """`x` is float32 (N, *input_shape), already normalised; `y` holds class indices (int64, (N,))
    for classification or float32 targets (N, *target_shape) for regression.

    `normalisation` says what was applied to the raw inputs: {"kind": "none"}, or
    {"kind": "standardise", "scale": s, "mean": m, "std": d} meaning x = (raw * s - m) / d
    (m and d are numbers, or per-feature lists). `source` and `options` recreate the data set
    with `engine.load_dataset(source, **options)`.

    A streamed image folder's `x` is an engine.data.stream.ImageFiles: the same shape, its
    samples decoded from disk when indexed (`streamed` is true); `y` is in memory.
    """
    name: str
    x: Any
    y: torch.Tensor
    task: str
    n_classes: int | None = None
    classes: list[str] | None = None
    normalisation: dict = field(default_factory=lambda: {"kind": "none"})
    source: str = ""
    options: dict = field(default_factory=dict)
    description: str = ""

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def streamed(self) -> bool:
        """Whether the inputs stay on disk, decoded batch by batch (a large image folder)."""
        return not isinstance(self.x, torch.Tensor)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    @property
    def target_shape(self) -> tuple[int, ...]:
        return () if self.task == CLASSIFICATION else tuple(self.y.shape[1:])

    def split(self, val_fraction: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """(train indices, validation indices): a seeded permutation, the first part validates."""
        if not 0.0 <= val_fraction < 1.0:
            raise DatasetError(f"the validation fraction must be at least 0 and below 1, "
                               f"not {val_fraction}")
        n = len(self)
        n_val = int(round(n * val_fraction))
        if val_fraction > 0 and n_val == 0 and n > 1:
            n_val = 1
        if n - n_val < 1:
            raise DatasetError(f"data set '{self.name}' has {n} samples: too few to keep "
                               f"{val_fraction:.0%} for validation; lower the validation "
                               f"fraction or use more data")
        order = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed)))
        return order[n_val:], order[:n_val]

    def fit_input(self, shape: tuple[int, ...]) -> "Dataset":
        """This data shaped for a network whose Input is `shape` (a reshape when only the layout
        differs, as 784 CSV columns for a 1x28x28 Input); DatasetError when the sizes differ."""
        shape = tuple(int(d) for d in shape)
        if shape == self.input_shape:
            return self
        if math.prod(shape) == math.prod(self.input_shape):
            return replace(self, x=self.x.reshape(len(self), *shape))
        raise DatasetError(
            f"the network's Input has shape {list(shape)} but data set '{self.name}' gives "
            f"samples of shape {list(self.input_shape)} ({math.prod(self.input_shape)} values): "
            f"set the Input node's shape to {list(self.input_shape)} or choose a data set "
            f"that fits")

    def with_target(self, target: str) -> "Dataset":
        """This data with what a network learns from it: its labels ("labels"), or its inputs
        themselves ("inputs": an autoencoder, a regression whose targets are the inputs; the
        same tensor, not a copy). engine.network.fit.with_target says the same of describe()."""
        if target == "labels":
            return self
        return replace(self, y=self.x, task=REGRESSION, n_classes=None, classes=None)

    def reference(self) -> dict:
        """What to store in a file to load this data set again."""
        return {"name": self.source or self.name, "options": dict(self.options)}

    def describe(self) -> dict:
        """A JSON-ready summary (for `datasets`, the GUI and reports)."""
        return {"name": self.name, "samples": len(self), "input_shape": list(self.input_shape),
                "task": self.task, "classes": self.n_classes, "class_names": self.classes,
                "target_shape": list(self.target_shape), "normalisation": self.normalisation,
                "description": self.description, "streamed": self.streamed}


# ----------------------------------------------------------------------------- building

def make_dataset(name: str, x: np.ndarray, y: np.ndarray, task: str, *, source: str = "",
                 options: dict | None = None, description: str = "", normalise: str = "none",
                 scale: float = 1.0, classes: list[str] | None = None,
                 n_classes: int | None = None, stats: tuple | None = None) -> Dataset:
    """Check, normalise and wrap numpy arrays. `normalise`: "none", "global" (one mean and std
    for all values, for images; `stats` = (mean, std) when already known) or "features" (per
    feature, for tables)."""
    x = np.asarray(x)
    y = np.asarray(y)
    where = source or name
    if len(x) == 0:
        raise DatasetError(f"data set '{where}' is empty: it has no samples")
    if len(x) != len(y):
        raise DatasetError(f"data set '{where}' has {len(x)} inputs but {len(y)} labels; "
                           f"they must be the same number")
    if x[0].size == 0:
        raise DatasetError(f"data set '{where}' has samples of shape {list(x.shape[1:])}, "
                           f"which hold no values")
    xf = x.astype(np.float64, order="C")   # one working copy, changed in place from here
    with np.errstate(all="ignore"):        # overflow shows as a value that is not finite
        if scale != 1.0:
            xf *= scale
        norm = _normalise(xf, normalise, scale, stats)
        nonzero = np.count_nonzero(xf)
        xs = xf.astype(np.float32)
    del xf
    if not np.all(np.isfinite(xs)):
        raise DatasetError(f"data set '{where}' has values that are not finite numbers "
                           f"(NaN or infinity, or beyond the range of 32-bit floats) in its "
                           f"inputs")
    if np.count_nonzero(xs) < nonzero:
        raise DatasetError(f"data set '{where}' has input values too close to 0 for 32-bit "
                           f"floats (below about 1e-45), which would become 0: "
                           f"standardise them (normalise=features or global) or scale them")
    if task == CLASSIFICATION:
        yt, n_classes = _class_labels(y, where, n_classes)
    else:
        yt = torch.from_numpy(_regression_targets(y, where))
    return Dataset(name, torch.from_numpy(xs), yt, task, n_classes, classes, norm,
                   source or name, dict(options or {}), description)


def make_streamed(name: str, x, y: np.ndarray, *, source: str, options: dict,
                  description: str, classes: list[str]) -> Dataset:
    """A classification data set whose inputs stay on disk (an engine.data.stream.ImageFiles,
    already carrying its normalisation); the labels are checked as make_dataset does."""
    norm = {"kind": "standardise", "scale": x.scale, "mean": x.mean, "std": x.std}
    return make_prepared(name, x, y, CLASSIFICATION, norm, source=source, options=options,
                         description=description, classes=classes)


def make_prepared(name: str, x, y: np.ndarray, task: str, normalisation: dict, *,
                  source: str, options: dict | None = None, description: str = "",
                  classes: list[str] | None = None) -> Dataset:
    """A data set whose inputs are already normalised as `normalisation` says: a float32
    tensor, or inputs that stay on disk (engine.data.stream.ImageFiles,
    engine.data.shards.ArrayShards); the labels or targets are checked as make_dataset does."""
    where = source or name
    if len(x) != len(y):
        raise DatasetError(f"data set '{where}' has {len(x)} inputs but {len(y)} labels; "
                           f"they must be the same number")
    n_classes = None
    if classes is not None and (task != CLASSIFICATION or len(classes) < 2):
        raise DatasetError(f"data set '{where}' names {len(classes)} classes: a classification "
                           f"needs at least 2 names (or none)")
    if task == CLASSIFICATION:
        yt, n_classes = _class_labels(np.asarray(y), where, len(classes) if classes else None)
    else:
        yt = torch.from_numpy(_regression_targets(np.asarray(y), where))
    return Dataset(name, x, yt, task, n_classes, classes, normalisation, where,
                   dict(options or {}), description)


CONSTANT = 1e-9
"""A spread below this share of the mean is rounding: the values are all the same."""


def spread(std, mean):
    """The standard deviations to divide by: 1 where the values are constant (a spread of 0,
    or one below CONSTANT of the mean, rounding's: a column of 0.1 has 4e-17), so a constant
    becomes 0 rather than 0/0 or ±1."""
    return np.where(std > CONSTANT * np.abs(mean), std, 1.0)


EXTREME = 1e150     # magnitudes whose squares overflow float64 (or, inverted, vanish to 0)


def _moments(flat: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of a 2-D float64 array along `axis`, right for values near
    float64's limits too: a line whose values pass EXTREME (or are all below 1/EXTREME) would
    overflow its sum of squares to infinity or underflow it to 0, so it is divided by its
    largest magnitude first (only those lines are copied)."""
    mean, std = flat.mean(axis=axis), flat.std(axis=axis)
    top = np.maximum(flat.max(axis=axis), -flat.min(axis=axis))
    extreme = np.flatnonzero((top > EXTREME) | (top > 0) & (top < 1 / EXTREME)
                             | ~np.isfinite(mean) | ~np.isfinite(std))
    if len(extreme):
        unit = top[extreme]
        lines = np.take(flat, extreme, axis=1 - axis) / np.expand_dims(unit, axis)
        mean[extreme] = lines.mean(axis=axis) * unit
        std[extreme] = lines.std(axis=axis) * unit
    return mean, std


def _normalise(x: np.ndarray, how: str, scale: float, stats: tuple | None = None) -> dict:
    """Normalise `x` in place (no second copy of a large data set); what was done, as stored
    in `Dataset.normalisation`."""
    if how == "none":
        return {"kind": "none"} if scale == 1.0 else {"kind": "scale", "scale": scale}
    if how == "global":
        mean, std = stats if stats is not None else \
            tuple(float(v[0]) for v in _moments(x.reshape(1, -1), axis=1))
        std = float(spread(np.float64(std), np.float64(mean)))
        x -= mean
        x /= std
        return {"kind": "standardise", "scale": scale, "mean": mean, "std": std}
    flat = x.reshape(len(x), -1)
    mean, std = _moments(flat, axis=0)
    std = spread(std, mean)
    flat -= mean
    flat /= std
    return {"kind": "standardise", "scale": scale, "mean": mean.tolist(), "std": std.tolist()}


def _class_labels(y: np.ndarray, where: str, n_classes: int | None):
    if y.ndim != 1:
        raise DatasetError(f"data set '{where}': class labels must be one number per sample, "
                           f"but they have shape {list(y.shape)}")
    if not np.issubdtype(y.dtype, np.number) or not np.all(np.isfinite(y)) \
            or not np.all(y == np.round(y)):
        raise DatasetError(f"data set '{where}': class labels must be whole numbers 0, 1, 2, "
                           f"...; for real-valued targets use the regression task")
    low, high = int(y.min()), int(y.max())     # before any cast: no wrap-around
    if low < 0:
        raise DatasetError(f"data set '{where}': label {number_text(low)} (sample "
                           f"{int(np.argmin(y))}) is out of range: class labels count from 0")
    n = n_classes if n_classes is not None else high + 1
    if high >= n:
        raise DatasetError(f"data set '{where}': label {number_text(high)} (sample "
                           f"{int(np.argmax(y))}) is out of range for {n} classes (labels 0 to "
                           f"{n - 1})")
    if n > 10_000:
        raise DatasetError(f"data set '{where}': labels go up to {number_text(high)}, which "
                           f"would make {number_text(n)} classes; for real-valued targets use "
                           f"the regression task")
    return torch.from_numpy(y.astype(np.int64)), max(n, 2)


def _regression_targets(y: np.ndarray, where: str) -> np.ndarray:
    if not np.issubdtype(y.dtype, np.number):
        raise DatasetError(f"data set '{where}': regression targets must be numbers")
    with np.errstate(all="ignore"):            # too large for float32 shows as infinity
        y = y.astype(np.float32)
    if not np.all(np.isfinite(y)):
        raise DatasetError(f"data set '{where}' has targets that are not finite numbers")
    return y.reshape(len(y), 1) if y.ndim == 1 else y


# ----------------------------------------------------------------------------- options

def check_choice(name: str, value, choices) -> None:
    """DatasetError unless `value` is one of `choices` (a reader's argument)."""
    if value not in choices:
        raise DatasetError(f"{name} must be one of {', '.join(map(str, choices))}, not {value!r}")


def given_options(**options) -> dict:
    """The options that differ from None, as given (to reload the data set later)."""
    return {k: v for k, v in options.items() if v is not None}


@dataclass(frozen=True)
class Option:
    """One option of a named data set or of a kind of file, described well enough to check a
    value and to build a control for it. `kind` (from the default when not given):
    "number" (a whole number when the default is an int; within lo..hi), "choice" (one of
    `choices`, shown as `labels` when given), "column" (a column number, negative from the
    end, or a column name), "path" (a file; None for "find it"), "size" ([height, width] in
    pixels; None for "as it is")."""
    name: str
    default: Any
    help: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple = ()
    kind: str = ""
    labels: tuple = ()

    def __post_init__(self):
        if not self.kind:
            object.__setattr__(self, "kind", "choice" if self.choices else "number")

    def to_dict(self) -> dict:
        """JSON-ready: the default, the help and the choices (if any)."""
        return {"default": self.default, "help": self.help,
                **({"choices": list(self.choices)} if self.choices else {})}

    def label(self, choice) -> str:
        """How a choice is shown."""
        for value, text in zip(self.choices, self.labels):
            if _same(value, choice):
                return text
        return str(choice)

    def check(self, dataset: str, value: Any) -> Any:
        """The value as the loader takes it, or DatasetError saying what is wrong."""
        where = f"data set '{dataset}': option {self.name}"
        return getattr(self, "_check_" + self.kind)(where, value)

    def _check_choice(self, where: str, value: Any):
        for choice in self.choices:
            if _same(choice, value):
                return choice
        if isinstance(value, str):
            word = value.strip().lower()
            for choice in self.choices:
                if word in (str(choice).lower(), self.label(choice).lower()):
                    return choice
        shown = ", ".join(self.label(c) for c in self.choices)
        raise DatasetError(f"{where} must be one of {shown}, not {value!r}")

    def _check_number(self, where: str, value: Any):
        whole = isinstance(self.default, int)
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            if whole and not number.is_integer():
                raise ValueError
        except (TypeError, ValueError):
            raise DatasetError(f"{where} must be {'a whole number' if whole else 'a number'}, "
                               f"not {value!r}") from None
        value = int(number) if whole else number
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise DatasetError(f"{where} must be between {self.lo} and {self.hi}, not {value}")
        return value

    def _check_column(self, where: str, value: Any):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip():
            text = value.strip()
            return int(text) if text.lstrip("-").isdigit() else text
        raise DatasetError(f"{where} must be a column number (0 for the first, -1 for the "
                           f"last) or a column name from the header row, not {value!r}")

    def _check_path(self, where: str, value: Any):
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str):
            return value.strip()
        raise DatasetError(f"{where} must be the path of a file, not {value!r}")

    def _check_size(self, where: str, value: Any):
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
            return None
        parts = value.lower().replace("x", ",").split(",") if isinstance(value, str) else value
        size = _pixels(parts)
        if size is not None:
            return size
        raise DatasetError(f"{where} must be height x width in pixels (each 1 to 4096), as "
                           f"28x28, or empty to keep the images' own size; not {value!r}")


def _pixels(parts) -> list[int] | None:
    """[height, width] from two whole numbers of 1 to 4096 (given as numbers or text), else
    None."""
    if not isinstance(parts, (list, tuple)) or len(parts) != 2 or any(
            isinstance(p, (bool, float)) for p in parts):
        return None
    try:
        size = [int(p) for p in parts]
    except (TypeError, ValueError):
        return None
    return size if all(0 < v <= 4096 for v in size) else None


def _same(a, b) -> bool:
    """Equal and of the same type (so that 1 is not True and 0 is not False)."""
    return type(a) is type(b) and a == b
