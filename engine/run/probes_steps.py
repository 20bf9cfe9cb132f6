"""What a recurrent layer (LSTM, GRU) does along its sequence: the probes' per-step statistics.

For each recurrent layer, over PARTS equal parts of its sequence (every step when it has
fewer), first to last:
  step_grad_k        RMS of ∂L/∂x_t, the gradient reaching the layer's inputs at the steps of
                     part k: through the recurrence, how much the loss learns from each part of
                     the sequence. In a plain recurrent network it vanishes towards the first
                     steps (Bengio, Simard & Frasconi 1994); gates let an LSTM keep it longer;
  step_grad_reach    step_grad_1 / step_grad_K (the last part), one number that follows the
                     reach through training (unidirectional layers: a bidirectional one reads
                     both ends last);
  step_saturation_k  the fraction of the hidden outputs h_t of part k within 5% of the range
                     from ±1, where tanh saturates (layers that output their sequence).

The gradient at the inputs comes from an input tap (engine.Model.add_input_tap, which copies of
the model do not keep), put on while the model is tapped: it makes the layer's input part of
the probed backward pass (a copy that requires a gradient,
when the input is the data itself), whose gradient engine.run.probes.Watch captures with the
others. Everything is reduced on the device into the probe's one vector.
"""
from __future__ import annotations

import torch

from engine.network.modules import SequenceGRU, SequenceLSTM

PARTS = 8
SATURATED = 0.9          # |h| within 5% of the range (-1, 1) from a bound


class StepProfiles:
    """The recurrent layers of a model and their per-step statistics for one probed pass."""

    def __init__(self, model, weighted: list[str], retain: bool):
        self.model, self.retain = model, retain
        self.nodes = [n for n in weighted
                      if isinstance(model.layers[n], (SequenceLSTM, SequenceGRU))]
        self.inputs: dict[str, torch.Tensor] = {}
        self._handles: list = []
        self._bins: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}

    def attach(self) -> None:
        if self.nodes and not self._handles:
            self._handles = [self.model.add_input_tap(n, lambda args, n=n: self._keep_input(
                n, args)) for n in self.nodes]

    def remove(self) -> None:
        for untap in self._handles:
            untap()
        self._handles = []

    def forget(self) -> None:
        self.inputs.clear()

    def _keep_input(self, node: str, args: tuple) -> tuple:
        if not torch.is_grad_enabled():
            return args
        x = args[0]
        if not x.requires_grad:
            x = x.detach().requires_grad_()       # the data: a copy that takes a gradient
        if self.retain:
            x.retain_grad()
        self.inputs[node] = x
        return (x, *args[1:])

    def gradients(self) -> dict[str, torch.Tensor]:
        """The inputs' gradients after a backward pass run by the caller (retain mode)."""
        return {n: x.grad for n, x in self.inputs.items() if x.grad is not None}

    def signature(self, grads: dict, outputs: dict) -> tuple:
        """What the layout of `reduce`'s values depends on."""
        return tuple((n, grads[n].shape[1] if n in grads else 0,
                      outputs[n].shape[1] if _sequence(outputs.get(n)) else 0)
                     for n in self.nodes)

    def layout(self, grads: dict, outputs: dict, start: int) -> tuple[list, list]:
        """(the statistics `reduce` gives, in order, as (node, stat); (node, index of
        step_grad_1, index of the last part's) of each unidirectional layer's profile, in the
        vector `reduce` lays out from `start`)."""
        keys, reaches = [], []
        for n in self.nodes:
            if n in grads:
                k = _parts(grads[n])
                keys += [(n, f"step_grad_{i + 1}") for i in range(k)]
                if k > 1 and not self.model.layers[n].bidirectional:
                    reaches.append((n, start, start + k - 1))
                start += k
            if _sequence(outputs.get(n)):
                k = _parts(outputs[n])
                keys += [(n, f"step_saturation_{i + 1}") for i in range(k)]
                start += k
        return keys, reaches

    def reduce(self, grads: dict, outputs: dict) -> list[torch.Tensor]:
        """The per-part values, laid out as `layout` says (float32 vectors on the device)."""
        parts = []
        for n in self.nodes:
            g = grads.get(n)
            if g is not None:
                sums, cells = self._per_part(g.float().square().sum((0, 2)), g)
                parts.append((sums / cells).sqrt_())
            out = outputs.get(n)
            if _sequence(out):
                hits = out.detach().float().abs().ge_(SATURATED).sum((0, 2))
                sums, cells = self._per_part(hits, out)
                parts.append(sums / cells)
        return parts

    def _per_part(self, per_step: torch.Tensor, like: torch.Tensor):
        """Sums of a (steps,) vector over the parts, and the values each part holds."""
        batch, steps, width = like.shape
        key = (steps, batch * width, per_step.device)
        if key not in self._bins:
            k = min(PARTS, steps)
            index = (torch.arange(steps) * k // steps).to(per_step.device)
            cells = torch.bincount(index, minlength=k).float() * batch * width
            self._bins[key] = index, cells
        index, cells = self._bins[key]
        return torch.zeros(len(cells), device=per_step.device).index_add_(0, index, per_step), \
            cells


def _parts(t: torch.Tensor) -> int:
    return min(PARTS, t.shape[1])


def _sequence(t) -> bool:
    return t is not None and t.dim() == 3
