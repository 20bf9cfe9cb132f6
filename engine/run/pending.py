"""The steps trained since the host last read their losses.

A step's loss stays on the device: reading it (`.item()`) would make the host wait for the
device on every step, which on a GPU stalls the pipeline and on any device costs a call into
the library per step. The loop keeps each step's detached loss (and, with gradient clipping,
its gradient norm) here, with what its StepEvent needs, and reads them all in one transfer —
together with the pending probes' statistics — at the end of each epoch, before pausing or
stopping, when someone is watching the steps live (the window, the command line's progress) at
most every LIVE_S seconds, and after a number of probed steps (engine.run.probe_callback). A NaN loss is therefore found when the steps are
read, up to a read's worth of steps late; the loop keeps the last weights whose outputs were
finite (engine.run.good_weights), so nothing a late find could spoil is lost.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

LIVE_S = 0.1            # with live listeners, the losses are read at least this often


@dataclass(frozen=True)
class StepInfo:
    """What a trained step's record and event need besides its loss."""
    step: int
    epoch: int           # 0-based
    batch: int           # 0-based, within the epoch
    batches: int
    lr: float
    samples: int


class PendingSteps:
    """Losses (and clipped gradient norms) of steps not read yet, on the device."""

    def __init__(self):
        self.losses: list[torch.Tensor] = []
        self.norms: list[torch.Tensor] = []
        self.infos: list[StepInfo] = []

    def __len__(self) -> int:
        return len(self.infos)

    def add(self, loss: torch.Tensor, norm: torch.Tensor | None, info: StepInfo) -> None:
        self.losses.append(loss)
        if norm is not None:
            self.norms.append(norm)
        self.infos.append(info)

    def take(self) -> tuple[torch.Tensor | None, torch.Tensor | None, list[StepInfo]]:
        """(losses, gradient norms or None, infos), emptying the list; the losses and norms
        as float32 vectors on the device."""
        losses = _vector(self.losses)
        norms = _vector(self.norms)
        infos = self.infos
        self.losses, self.norms, self.infos = [], [], []
        return losses, norms, infos


def _vector(scalars: list[torch.Tensor]) -> torch.Tensor | None:
    """0-d tensors as one float32 vector (None for none)."""
    if not scalars:
        return None
    vector = scalars[0].reshape(1) if len(scalars) == 1 else torch.stack(scalars)
    return vector.float()


def first_bad(values: list[float], n: int, with_norms: bool) -> int:
    """The index of the first of `n` steps whose loss (values[i]) or gradient norm
    (values[n + i], `with_norms`) is not finite; n when all are."""
    checked = values[:2 * n] if with_norms else values[:n]
    if all(map(math.isfinite, checked)):
        return n
    return next(i for i in range(n) if not math.isfinite(values[i])
                or with_norms and not math.isfinite(values[n + i]))
