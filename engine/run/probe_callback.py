"""The probe as a callback of the training loop: which steps are probed, and where their
statistics go (the run's history or a pre-training stage's record, and ProbeEvents). The
statistics themselves are engine.run.probes.Watch's."""
from __future__ import annotations

import math

import numpy as np
import torch

from engine.run.events import Callback, ProbeEvent
from engine.run.history import ProbeLog
from engine.run.probes import WEIGHT_GRADIENT_STATS, Watch

READ_AFTER = 64     # pending probes read together (with the steps' losses) at the latest


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
        self.pending: list[tuple] = []      # (step, layout, device vector) until fetched
        self._kept: tuple = (None, (), [])   # _trained_only's last keys and columns kept

    def set_stage(self, params: list, target: dict | None, stage: int) -> None:
        """A new stage of the run: its trainable `params`, the dict whose "probes" receive
        its probes (None: the run's history), its number (0: training)."""
        if self.params is not None:
            self.params = list(params)
        self.target, self.stage, self.probing, self.pending = target, stage, 0, []
        trained = {id(p) for p in params}
        # a pre-training stage trains one block: the others get no gradient by design, which
        # is no "zero gradient" to report
        self.untrained = {n for n, ws in self.watch.weights.items()
                          if not any(id(w) in trained for w in ws)} if stage else set()

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
        """Reduce the probed step's statistics on the device. The loop fetches them (`vectors`)
        with the steps' losses in one transfer, for any number of probed steps, and hands them
        to `finish`; in fp16 they are read at once (whether the loss scaler skipped the step,
        so that the next one is probed instead, is known from them)."""
        if self.probing != step:
            return
        layout, vector = self.watch.gather(
            deltas=self._unscaled(self.watch.layer_output_gradients),
            steps=self._unscaled(self.watch.step_gradients))
        self.pending.append((step, layout, vector))
        if self.loss_scale is None:
            self._probed()

    def _probed(self) -> None:
        if self.every > 1:
            self.watch.remove()    # off until the next probed step (and in validation passes)
        self.probing = 0

    @property
    def must_read(self) -> bool:
        """Whether the loop should read the pending probes now: in fp16 at once, else when
        READ_AFTER of them are pending."""
        return len(self.pending) >= (1 if self.loss_scale is not None else READ_AFTER)

    def vectors(self) -> list[torch.Tensor]:
        """The pending probes' device vectors, in order (none for an empty probe)."""
        return [v for _, _, v in self.pending if v is not None]

    def fetch(self, run) -> None:
        """Fetch, record and emit the pending probes by themselves (a caller that reads
        nothing else)."""
        vectors = self.vectors()
        raw = torch.cat(vectors).numpy(force=True) if vectors else np.empty(0, np.float32)
        for event in self.finish(run, raw):
            self.emit(event)

    def finish(self, run, raw: np.ndarray, last_step: float = math.inf) -> list[ProbeEvent]:
        """Record the pending probes of steps up to `last_step` (those after it belong to steps
        a diverged run does not keep) from `raw`, their fetched vectors one after another;
        returns their ProbeEvents (none when no one listens), in order, for the caller to
        emit between its StepEvents."""
        pending, self.pending = self.pending, []
        events: list[ProbeEvent] = []
        start, group = 0, []
        for step, layout, vector in pending:
            size = vector.numel() if vector is not None else 0
            if step <= last_step:
                if group and group[0][1] is not layout:
                    events += self._record(run, group)
                    group = []
                group.append((step, layout, raw[start:start + size]))
            start += size
        if group:
            events += self._record(run, group)
        return events

    def _record(self, run, group: list) -> list[ProbeEvent]:
        """Record probes sharing one layout, as rows of one matrix."""
        layout = group[0][1]
        steps = [step for step, _, _ in group]
        keys, values = self.watch.finish_rows(layout, np.stack([r for _, _, r in group]))
        if self.loss_scale is not None:
            steps, values = self._unskipped(keys, steps, values)
        if self.untrained:
            keys, values = self._trained_only(keys, values)
        if not steps:
            return []
        target = self.target if self.target is not None else run.history
        if self.log is None or self.log.history is not target:
            self.log = ProbeLog(target, self.watch.nest)
        self.log.add_rows(steps, keys, values)
        if self.listening is not None and not self.listening():
            return []
        return [ProbeEvent(step, self.watch.nest(keys, row), self.stage)
                for step, row in zip(steps, values.tolist())]

    def _unskipped(self, keys: tuple, steps: list, values: np.ndarray):
        """fp16: the probes whose weight gradients are finite. The loss scaler skipped a step
        whose gradients overflowed (the weights did not change): it is not recorded, and the
        next step is probed in its place."""
        norms = [j for j, (_, stat) in enumerate(keys) if stat == "grad_norm"]
        ok = np.isfinite(values[:, norms]).all(axis=1)
        if not ok[-1]:
            self.probing = steps[-1] + 1
        else:
            self._probed()
        return [s for s, keep in zip(steps, ok) if keep], values[ok]

    def _trained_only(self, keys: tuple, values: np.ndarray) -> tuple[tuple, np.ndarray]:
        """The statistics other than the gradients of weights the stage does not train."""
        if keys is not self._kept[0]:
            keep = [j for j, (node, stat) in enumerate(keys)
                    if stat not in WEIGHT_GRADIENT_STATS or node not in self.untrained]
            self._kept = (keys, tuple(keys[j] for j in keep), keep)
        return self._kept[1], values[:, self._kept[2]]

    def on_train_end(self, run) -> None:
        self.watch.close()

    def _unscaled(self, gradients) -> dict | None:
        """In fp16, the gradients `gradients()` gives divided by the loss scale they carry;
        else None (the watch reads them itself)."""
        if self.loss_scale is None:
            return None
        scale = float(self.loss_scale())
        return {n: g.float() / scale for n, g in gradients().items()}


