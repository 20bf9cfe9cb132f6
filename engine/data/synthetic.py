"""Built-in data sets generated from a seed: 2-D toy problems, Boolean parity, 1-D regression,
and sequence tasks for recurrent and attention layers (parity of a bit stream, the adding problem).

Each generator takes its options as keyword arguments (validated by the registry) and returns
(x, y) numpy arrays. The same options and seed always give the same data.
"""
from __future__ import annotations

import itertools

import numpy as np

from engine.data import limits
from engine.errors import DatasetError


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(int(seed))


def _split_counts(n: int, k: int) -> list[int]:
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def moons(n: int, noise: float, seed: int):
    """Two interleaving half circles."""
    rng = _rng(seed)
    n_top, n_bottom = _split_counts(n, 2)
    t_top = rng.uniform(0, np.pi, n_top)
    t_bottom = rng.uniform(0, np.pi, n_bottom)
    top = np.stack([np.cos(t_top), np.sin(t_top)], 1)
    bottom = np.stack([1 - np.cos(t_bottom), 0.5 - np.sin(t_bottom)], 1)
    x = np.concatenate([top, bottom]) + rng.normal(0, noise, (n, 2))
    y = np.concatenate([np.zeros(n_top), np.ones(n_bottom)])
    return _shuffle(rng, x, y)


def circles(n: int, noise: float, factor: float, seed: int):
    """A small circle (class 1) inside a large one (class 0); `factor` is the radius ratio."""
    rng = _rng(seed)
    n_out, n_in = _split_counts(n, 2)
    t_out = rng.uniform(0, 2 * np.pi, n_out)
    t_in = rng.uniform(0, 2 * np.pi, n_in)
    outer = np.stack([np.cos(t_out), np.sin(t_out)], 1)
    inner = factor * np.stack([np.cos(t_in), np.sin(t_in)], 1)
    x = np.concatenate([outer, inner]) + rng.normal(0, noise, (n, 2))
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    return _shuffle(rng, x, y)


def spiral(n: int, classes: int, noise: float, turns: float, seed: int):
    """`classes` interleaved spiral arms, each turning `turns` times around the centre."""
    rng = _rng(seed)
    xs, ys = [], []
    for k, count in enumerate(_split_counts(n, classes)):
        r = np.linspace(0.05, 1.0, count)
        t = 2 * np.pi * (turns * r + k / classes) + rng.normal(0, noise, count)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], 1))
        ys.append(np.full(count, k))
    return _shuffle(rng, np.concatenate(xs), np.concatenate(ys))


def xor(n: int, noise: float, seed: int):
    """Points in [-1, 1]²; class 1 where exactly one coordinate is positive."""
    rng = _rng(seed)
    x = rng.uniform(-1, 1, (n, 2))
    y = ((x[:, 0] > 0) != (x[:, 1] > 0)).astype(np.int64)
    return x + rng.normal(0, noise, (n, 2)), y


def gaussians(n: int, classes: int, noise: float, seed: int):
    """`classes` round Gaussian blobs of standard deviation `noise`, centred on a circle of
    radius 2."""
    rng = _rng(seed)
    xs, ys = [], []
    for k, count in enumerate(_split_counts(n, classes)):
        angle = 2 * np.pi * k / classes
        centre = 2.0 * np.array([np.cos(angle), np.sin(angle)])
        xs.append(centre + rng.normal(0, noise, (count, 2)))
        ys.append(np.full(count, k))
    return _shuffle(rng, np.concatenate(xs), np.concatenate(ys))


def parity(bits: int):
    """All 2^bits patterns of `bits` bits (as 0.0/1.0); class 1 when an odd number are set."""
    x = np.array(list(itertools.product((0.0, 1.0), repeat=bits)))
    return x, (x.sum(axis=1) % 2).astype(np.int64)


SINE_FUNCTIONS = {
    "sin": lambda x: np.sin(x),
    "sin3": lambda x: np.sin(3 * x),
    "abs": lambda x: np.abs(x) - 1.5,
    "square": lambda x: x ** 2 / 3 - 1.5,
    "step": lambda x: np.where(x >= 0, 1.0, -1.0),
    "sawtooth": lambda x: 2 * ((x / np.pi + 1) / 2 % 1) - 1,
}


def sine(n: int, function: str, noise: float, seed: int):
    """x uniform in [-π, π] (sorted), target function(x) + Gaussian noise."""
    rng = _rng(seed)
    x = np.sort(rng.uniform(-np.pi, np.pi, n))
    y = SINE_FUNCTIONS[function](x) + rng.normal(0, noise, n) if noise else \
        SINE_FUNCTIONS[function](x)
    return x.reshape(n, 1), y.reshape(n, 1)


def sequence_parity(samples: int, steps: int, form: str, seed: int):
    """`samples` random streams of `steps` bits; class 1 when an odd number are set (no single
    step tells: the net must carry one bit of memory through the whole stream). `form`
    "values": (steps, 1) values 0.0/1.0, for LSTM, GRU, Conv1d or attention; "ids": (steps,)
    token ids 0/1, for an Embedding."""
    _check_size("sequence-parity", samples, steps, 1)
    bits = _rng(seed).integers(0, 2, (samples, steps)).astype(np.float32)
    y = (bits.sum(axis=1) % 2).astype(np.int64)
    return (bits if form == "ids" else bits[:, :, None]), y


def adding(samples: int, steps: int, seed: int):
    """The adding problem (Hochreiter & Schmidhuber, 1997): (steps, 2) per sample, channel 0
    uniform numbers in [0, 1], channel 1 a marker that is 1 at exactly two steps, one in the
    first half and one in the second; the target is the sum of the two marked numbers."""
    _check_size("adding", samples, steps, 2)
    rng = _rng(seed)
    values = rng.uniform(0.0, 1.0, (samples, steps))
    rows = np.arange(samples)
    first = rng.integers(0, steps // 2, samples)
    second = rng.integers(steps // 2, steps, samples)
    marks = np.zeros((samples, steps))
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    target = values[rows, first] + values[rows, second]
    return np.stack([values, marks], axis=2), target.reshape(samples, 1)


def _check_size(name: str, samples: int, steps: int, channels: int) -> None:
    """DatasetError when the sequences would not fit the memory budget of preparing data."""
    values = samples * steps * channels
    need = values * limits.BYTES_PER_VALUE
    if need > limits.memory_budget():
        raise DatasetError(
            f"data set '{name}': {samples:,} samples of {steps:,} steps make "
            f"{limits.number_text(values)} values, which would need about "
            f"{limits.size_text(need)} of memory to prepare; the limit is "
            f"{limits.size_text(limits.memory_budget())}. Use fewer samples or steps")


def _shuffle(rng: np.random.Generator, x: np.ndarray, y: np.ndarray):
    order = rng.permutation(len(x))
    return x[order], y[order].astype(np.int64)
