"""Per-sample shape arithmetic for the catalogue (no torch: analysis must be fast on every edit).

Shapes exclude the batch dimension: an MNIST image is (1, 28, 28), a feature vector (784,).
Each function raises `ShapeError` with the second half of a sentence whose subject is the node:
"Conv2d 1" + " received (784,) but needs a (channels, height, width) image ...".
"""
from __future__ import annotations

import math

from engine.network.schema import size2

Shape = tuple[int, ...]


class ShapeError(ValueError):
    """The input a node received does not fit it. The message completes '<node label> ...'.
    `insert` names a kind that, put just before the node, would fix it (e.g. "Flatten")."""

    def __init__(self, message: str, insert: str = ""):
        super().__init__(message)
        self.insert = insert


def fmt(shape: Shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def numel(shape: Shape) -> int:
    return math.prod(shape)


def need_rank(shape: Shape, ranks: tuple[int, ...], meaning: str) -> None:
    if len(shape) not in ranks:
        raise ShapeError(f"received {fmt(shape)} but needs {meaning}")


def need_image(shape: Shape) -> None:
    need_rank(shape, (3,), "a (channels, height, width) image: add an Input of that shape, "
                           "or feed it from another image layer")


def window_out(size: int, kernel: int, stride: int, padding: int, dilation: int = 1,
               ceil_mode: bool = False) -> int:
    """Output length of a convolution or pooling window along one axis (torch's formula)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= size + padding:
            out -= 1
        return out
    return span // stride + 1


def window_2d(shape: Shape, kernel, stride, padding, dilation=1, ceil_mode=False,
              what: str = "kernel") -> tuple[int, int]:
    """Spatial output size of a 2-D window over a (C, H, W) input, with a clear error if empty."""
    need_image(shape)
    k, s, p, d = size2(kernel), size2(stride), size2(padding), size2(dilation)
    _, h, w = shape
    out = tuple(window_out(n, k[i], s[i], p[i], d[i], ceil_mode) for i, n in enumerate((h, w)))
    if min(out) < 1:
        eff = tuple(d[i] * (k[i] - 1) + 1 for i in range(2))
        raise ShapeError(
            f"received a {h}x{w} image, smaller than its {eff[0]}x{eff[1]} {what} "
            f"(with padding {p[0]}x{p[1]}): use a smaller {what}, more padding, or a larger input")
    return out


def need_signal(shape: Shape) -> None:
    need_rank(shape, (2,), "a (channels, length) signal: add an Input of that shape, e.g. "
                           "(1, 100) for one channel of 100 steps")


def need_sequence(shape: Shape) -> None:
    need_rank(shape, (2,), "a (steps, features) sequence: add an Input of that shape, e.g. "
                           "(20, 1) for 20 steps of one number, or an Embedding of token ids")


def window_1d(shape: Shape, kernel: int, stride: int, padding: int, dilation: int = 1,
              ceil_mode: bool = False, what: str = "kernel") -> int:
    """Output length of a 1-D window over a (C, L) signal, with a clear error if empty."""
    need_signal(shape)
    out = window_out(shape[1], kernel, stride, padding, dilation, ceil_mode)
    if out < 1:
        raise ShapeError(f"received a signal of length {shape[1]}, shorter than its "
                         f"{dilation * (kernel - 1) + 1}-step {what} (with padding {padding}): "
                         f"use a smaller {what}, more padding, or a longer input")
    return out


def need_groups(in_channels: int, out_channels: int, groups: int) -> None:
    """A convolution's `groups` must divide its input and output channels."""
    if in_channels % groups or out_channels % groups:
        raise ShapeError(f"has groups={groups}, which must divide both its {in_channels} input "
                         f"channels and its {out_channels} output channels")


def need_pool_padding(kernel, padding) -> None:
    k, p = size2(kernel), size2(padding)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ShapeError(f"has padding {p[0]}x{p[1]} but padding can be at most half the "
                         f"{k[0]}x{k[1]} kernel: lower the padding")


def flatten(shape: Shape, start_dim: int, end_dim: int) -> Shape:
    """torch.flatten on (batch, *shape); start/end count the batch dimension as 0."""
    full_rank = len(shape) + 1
    start = start_dim + full_rank if start_dim < 0 else start_dim
    end = end_dim + full_rank if end_dim < 0 else end_dim
    if not (0 <= start < full_rank and 0 <= end < full_rank):
        raise ShapeError(f"received {fmt(shape)} (with the batch: {full_rank} dimensions) but "
                         f"start_dim={start_dim}, end_dim={end_dim} lie outside it")
    if start == 0:
        raise ShapeError("would flatten the batch dimension (start_dim 0): use start_dim 1")
    if start > end:
        raise ShapeError(f"has start_dim {start_dim} after end_dim {end_dim}")
    s, e = start - 1, end - 1
    return shape[:s] + (numel(shape[s:e + 1]),) + shape[e + 1:]


def same_shapes(shapes: list[Shape], verb: str = "adds") -> Shape:
    first = shapes[0]
    if any(s != first for s in shapes[1:]):
        listed = ", ".join(fmt(s) for s in shapes)
        raise ShapeError(f"{verb} inputs of different shapes {listed}; all inputs must have the "
                         f"same shape: change a layer's size or add a Linear/Conv2d to match")
    return first


def concat(shapes: list[Shape], dim: int) -> Shape:
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        listed = ", ".join(fmt(s) for s in shapes)
        raise ShapeError(f"joins inputs of different ranks {listed}: flatten them first")
    axis = dim + rank + 1 if dim < 0 else dim
    if not 1 <= axis <= rank:
        raise ShapeError(f"joins along dim {dim} but its inputs {fmt(shapes[0])} have dims "
                         f"1..{rank} (0 is the batch)")
    i = axis - 1
    for s in shapes[1:]:
        if s[:i] + s[i + 1:] != shapes[0][:i] + shapes[0][i + 1:]:
            listed = ", ".join(fmt(x) for x in shapes)
            raise ShapeError(f"joins {listed} along dim {dim}; all other dimensions must match")
    total = sum(s[i] for s in shapes)
    return shapes[0][:i] + (total,) + shapes[0][i + 1:]
