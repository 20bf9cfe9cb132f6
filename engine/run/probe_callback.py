"""The probe as a callback of the training loop: which steps are probed, and where their
statistics go (the run's history or a pre-training stage's record, and ProbeEvents). The
statistics themselves are engine.run.probes.Watch's."""
from __future__ import annotations

import math

import torch

from engine.run.events import Callback, ProbeEvent
from engine.run.history import ProbeLog
from engine.run.probes import WEIGHT_GRADIENT_STATS, Watch


class ProbeCallback(Callback):
    """Probes the training batch every `every` steps (steps 1, 1 + every, ...): tap on before
    the forward pass, statistics read after the backward pass, tap off again (probing every
    step, it stays on until the run ends; a validation pass then leaves outputs in the watch
    that the next training step replaces, never gradients). `loss_scale`
    (fp16 training) gives the factor the loss was multiplied by, which the layer-output
    gradients still carry; their norms are divided by it. A step whose gradients overflowed
    is skipped by the loss scaler (the weights do not change): it is not recorded, and the next
    step is probed in its place.

    Given the trainable `params`, the training loop back-propagates a probed step through
    `backward_for(step)`, which captures the layer-output gradients without copying them;
    without (a loop that calls loss.backward() itself, or DistributedDataParallel, whose
    gradient hooks need it) they are retained by autograd instead."""

    def __init__(self, model, every: int, emit, loss_scale=None, params=None, listening=None):
        self.every = every
        self.emit = emit
        self.listening = listening          # () -> whether anyone receives ProbeEvents
        self.loss_scale = loss_scale
        self.params = list(params) if params is not None else None
        self.watch = Watch(model, retain=self.params is None)
        self.probing = 0
        self.log: ProbeLog | None = None
        self.target: dict | None = None     # where probes go: None for the run's history
        self.stage = 0
        self.untrained: set[str] = set()    # weights the stage does not train (no grad_norm)
        self.pending: tuple | None = None   # (step, layout, device vector) until fetched

    def set_stage(self, params: list, target: dict | None, stage: int) -> None:
        """A new stage of the run: its trainable `params`, the dict whose "probes" receive
        its probes (None: the run's history), its number (0: training)."""
        if self.params is not None:
            self.params = list(params)
        self.target, self.stage, self.probing, self.pending = target, stage, 0, None
        trained = {id(p) for p in params}
        # a pre-training stage trains one block: the others get no gradient by design, which
        # is no "zero gradient" to report
        self.untrained = {n for n, w in self.watch.weights.items()
                          if id(w) not in trained} if stage else set()

    def on_batch_start(self, run, step: int) -> None:
        if (step - 1) % self.every == 0:
            self.watch.attach()
            self.probing = step

    def backward_for(self, step: int):
        """How to back-propagate step `step`'s loss: a function of the loss on probed steps
        (when this callback knows the parameters), else None for a plain loss.backward()."""
        if self.params is None or self.probing != step:
            return None
        return self._backward

    def _backward(self, loss: torch.Tensor) -> None:
        self.watch.backward(loss, self.params)

    def on_after_backward(self, run, step: int) -> None:
        """Reduce the probed step's statistics on the device; the loop fetches them (`raw`),
        with the steps' losses, in one transfer after the step, and hands them to `finish`."""
        if self.probing != step:
            return
        layout, vector = self.watch.gather(deltas=self._unscaled_deltas())
        self.pending = (step, layout, vector)

    @property
    def raw(self) -> torch.Tensor | None:
        """The pending probe's device vector (None when no probe is pending or it is empty)."""
        return self.pending[2] if self.pending is not None else None

    def fetch(self, run) -> None:
        """Fetch and record the pending probe by itself (a caller that reads nothing else)."""
        if self.pending is not None:
            raw = self.raw
            self.finish(run, raw.tolist() if raw is not None else [])

    def finish(self, run, raw: list[float]) -> None:
        """Record the pending probe from its fetched values and emit its ProbeEvent."""
        step, layout, _ = self.pending
        self.pending = None
        keys, values = self.watch.finish(layout, raw)
        if self.loss_scale is not None and _overflowed(keys, values):
            self.probing = step + 1    # the loss scaler skipped this step: probe the next one
            return
        if self.every > 1:
            self.watch.remove()    # off until the next probed step (and in validation passes)
        self.probing = 0
        if self.untrained:
            keys, values = self._trained_only(keys, values)
        target = self.target if self.target is not None else run.history
        if self.log is None or self.log.history is not target:
            self.log = ProbeLog(target, self.watch.nest)
        self.log.add(step, keys, values)
        if self.listening is None or self.listening():
            self.emit(ProbeEvent(step, self.watch.nest(keys, values), self.stage))

    def _trained_only(self, keys: tuple, values: list) -> tuple[tuple, list]:
        pairs = [(k, v) for k, v in zip(keys, values)
                 if k[1] not in WEIGHT_GRADIENT_STATS or k[0] not in self.untrained]
        return tuple(k for k, _ in pairs), [v for _, v in pairs]

    def on_train_end(self, run) -> None:
        self.watch.close()

    def _unscaled_deltas(self) -> dict | None:
        if self.loss_scale is None:
            return None
        scale = float(self.loss_scale())
        return {n: g.float() / scale for n, g in self.watch.layer_output_gradients().items()}


def _overflowed(keys: tuple, values: list[float]) -> bool:
    """Whether a weight gradient is not finite (fp16: the loss scaler skips the step)."""
    return any(stat == "grad_norm" and not math.isfinite(v)
               for (_, stat), v in zip(keys, values))
