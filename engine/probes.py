"""Per-layer statistics: what reaches each layer during learning, and what each layer does.

For each parameterised layer (Linear, Conv2d, BatchNorm, PReLU):
  grad_norm   ‖∂L/∂W‖, the norm of the weight gradient (before any clipping);
  delta_norm  ‖∂L/∂a‖, the norm of the gradient back-propagated to the layer's output (for the
              batch, of the batch-mean loss) — in deep sigmoid/tanh stacks this vanishes
              towards the input while grad_norm can stay flat;
  weight_norm ‖W‖.
For each activation layer:
  sparsity        fraction of its outputs exactly zero;
  dead            fraction of its units (every position of one sample's output) zero for
                  every sample of the batch;
  saturation      (sigmoid, tanh, softsign) fraction of outputs within 5% of the range from
                  either bound;
  mean_activation mean of its outputs.

Everything is reduced on the device (over the batch, per unit) and fetched in one transfer per
probe step; the sums over each layer's units are finished on the host. Hooks are put on for one
forward/backward only and all handles are kept in one list, removed in one place.
"""
from __future__ import annotations

import math
import threading
import weakref

import numpy as np
import torch

from .errors import TrainingError
from .events import Callback, ProbeEvent
from .history import add_probe
from .layers import LAYERS

SATURATION_MARGIN = 0.05
_watched: "weakref.WeakSet[torch.nn.Module]" = weakref.WeakSet()
_watched_lock = threading.Lock()


def probed_layers(model) -> tuple[list[str], list[str]]:
    """(parameterised node ids, activation node ids), in the network's order."""
    weighted = [n for n in model.order
                if isinstance(getattr(model.layers[n], "weight", None), torch.nn.Parameter)]
    acts = [n for n in model.order if LAYERS[model.spec.nodes[n].kind].category == "Activation"]
    return weighted, acts


class Watch:
    """Hooks for one forward/backward of `model`. `attach()` before the forward pass,
    `collect()` after the backward pass, `close()` when done (removes every hook).

    The hooks only keep references (activation outputs, output gradients); `collect()` then
    reduces everything in a handful of batched device operations — all norms in one fused call,
    all activation layers side by side as one (batch, units) matrix reduced over the batch —
    and fetches the result in one transfer; the per-layer sums are finished on the host."""

    def __init__(self, model):
        with _watched_lock:
            if model in _watched:
                raise TrainingError("this model is already being probed by another run; wait "
                                    "for it to end (or stop it) first")
            _watched.add(model)
        self.model = model
        self.weighted, self.activations = probed_layers(model)
        self.bounds = {n: LAYERS[model.spec.nodes[n].kind].bounds for n in self.activations}
        self.weights = {n: model.layers[n].weight for n in self.weighted}
        self.handles: list = []
        self.outputs: dict[str, torch.Tensor] = {}      # activation layers: detached outputs
        self.graded: dict[str, torch.Tensor] = {}       # parameterised layers: outputs kept
        self._limits: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}

    def attach(self) -> None:
        self.remove()
        for n in dict.fromkeys(self.weighted + self.activations):
            self.handles.append(self.model.layers[n].register_forward_hook(self._hook(n)))

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles.clear()

    def close(self) -> None:
        self.remove()
        self.outputs.clear()
        self.graded.clear()
        with _watched_lock:
            _watched.discard(self.model)

    def _hook(self, node: str):
        weighted, activation = node in self.weights, node in self.bounds

        def on_forward(module, inputs, output):
            if weighted and output.requires_grad:
                output.retain_grad()          # ∂L/∂a, filled in by the backward pass
                self.graded[node] = output
            if activation:
                self.outputs[node] = output.detach()
        return on_forward

    @torch.no_grad()
    def collect(self, grads: dict[str, torch.Tensor] | None = None,
                deltas: dict[str, torch.Tensor] | None = None) -> dict[str, dict]:
        """The statistics of the last forward/backward, {node: {stat: float}}, fetched in one
        transfer. Gradients come from `.grad`, or from `grads` (weights) and `deltas` (layer
        outputs), {node: tensor}, when the caller used torch.autograd.grad."""
        if grads is None:
            grads = {n: w.grad for n, w in self.weights.items()}
        if deltas is None:
            deltas = {n: out.grad for n, out in self.graded.items()}
        keys, tensors = [], []
        for stat, source in (("weight_norm", self.weights), ("grad_norm", grads),
                             ("delta_norm", deltas)):
            for n, t in source.items():
                if t is not None:
                    keys.append((n, stat))
                    tensors.append(t)
        acts = [n for n in self.activations if n in self.outputs]
        units = [math.prod(self.outputs[n].shape[1:]) for n in acts]
        parts = [torch.stack(_norms(tensors)).float()] if tensors else []
        parts += self._activation_sums(acts, units)
        values = torch.cat(parts).cpu().numpy().astype(np.float64) if parts else np.zeros(0)
        out: dict[str, dict] = {n: {} for n in self.model.order
                                if n in self.weights or n in self.bounds}
        for n in self.weighted:
            out[n]["grad_norm"] = 0.0          # unless a gradient reached it (below)
        for (node, stat), value in zip(keys, values):
            out[node][stat] = float(value)
        self._activation_stats(acts, units, values[len(keys):], out)
        self.outputs.clear()
        self.graded.clear()
        return out

    def _activation_sums(self, acts: list[str], units: list[int]) -> list[torch.Tensor]:
        """Per unit, over the batch: how many zeros, the sum, and how many saturated."""
        if not acts:
            return []
        batch = self.outputs[acts[0]].shape[0]
        flat = torch.cat([self.outputs[n].reshape(batch, -1) for n in acts], dim=1)
        sums = [torch.count_nonzero(flat, dim=0).float(), flat.sum(0, dtype=torch.float32)]
        if any(self.bounds[n] for n in acts):
            centre, reach = self._saturation_limits(acts, units, flat)
            sums.append(((flat - centre).abs_() >= reach).sum(0, dtype=torch.float32))
        return sums

    def _saturation_limits(self, acts: list[str], sizes: list[int], flat: torch.Tensor):
        """Per unit: the centre of its layer's output range and the distance from it beyond
        which the unit counts as saturated (infinite for unbounded layers)."""
        key = (tuple(acts), tuple(sizes), flat.device, flat.dtype)
        if key not in self._limits:
            centres, reaches = [], []
            for n, units in zip(acts, sizes):
                lo, hi = self.bounds[n] or (0.0, math.inf)
                centres.append(torch.full((units,), 0.0 if math.isinf(hi) else (lo + hi) / 2))
                reaches.append(torch.full((units,), math.inf if math.isinf(hi) else
                                          (hi - lo) / 2 * (1 - 2 * SATURATION_MARGIN)))
            self._limits[key] = (torch.cat(centres).to(flat), torch.cat(reaches).to(flat))
        return self._limits[key]

    def _activation_stats(self, acts: list[str], sizes: list[int], values: np.ndarray,
                          out: dict) -> None:
        """Finish on the host: per-unit sums over the batch -> per-layer statistics."""
        if not acts:
            return
        batch = self.outputs[acts[0]].shape[0]
        units = np.array(sizes, dtype=np.float64)
        starts = np.concatenate([[0], np.cumsum(units[:-1])]).astype(np.int64)
        per_unit = values.reshape(-1, int(units.sum()))   # nonzero, sum[, saturated]
        per_layer = np.add.reduceat(per_unit, starts, axis=1) / (batch * units)
        dead = (np.add.reduceat(per_unit[0] == 0, starts) / units).tolist()
        rows = per_layer.tolist()
        for i, n in enumerate(acts):
            out[n].update(sparsity=1.0 - rows[0][i], dead=dead[i], mean_activation=rows[1][i])
            if self.bounds[n]:
                out[n]["saturation"] = rows[2][i]


def _norms(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """Euclidean norms of many tensors, in one fused call where torch has it."""
    foreach = getattr(torch, "_foreach_norm", None)
    if foreach is not None and len({(t.device, t.dtype) for t in tensors}) == 1:
        return list(foreach(tensors))
    return [t.norm().to(tensors[0].device) for t in tensors]


class ProbeCallback(Callback):
    """Probes the training batch every `every` steps (steps 1, 1 + every, ...): hooks on before
    the forward pass, statistics read after the backward pass, hooks off again. `loss_scale`
    (fp16 training) gives the factor the loss was multiplied by, which the layer-output
    gradients still carry; their norms are divided by it."""

    def __init__(self, model, every: int, emit, loss_scale=None):
        self.every = every
        self.emit = emit
        self.loss_scale = loss_scale
        self.watch = Watch(model)
        self.probing = 0

    def on_batch_start(self, run, step: int) -> None:
        if (step - 1) % self.every == 0:
            if not self.watch.handles:
                self.watch.attach()
            self.probing = step

    def on_after_backward(self, run, step: int) -> None:
        if self.probing != step:
            return
        layers = self.watch.collect(deltas=self._unscaled_deltas())
        if self.every > 1:                 # probing every step keeps the hooks on
            self.watch.remove()
        self.probing = 0
        add_probe(run.history, step, layers)
        self.emit(ProbeEvent(step, layers))

    def on_train_end(self, run) -> None:
        self.watch.close()

    def _unscaled_deltas(self) -> dict | None:
        if self.loss_scale is None:
            return None
        scale = float(self.loss_scale())
        return {n: out.grad.float() / scale for n, out in self.watch.graded.items()
                if out.grad is not None}


def probe(network, dataset, samples: int = 500, seed: int = 0, loss: str = "auto",
          device: str = "auto") -> dict[str, dict[str, float]]:
    """The probe statistics of one forward/backward on a fixed batch (the first `samples` of a
    seeded shuffle of the data), without changing any weight, gradient or running statistic:
    a trainability check before training. `network` is a spec (built with `seed`, on `device`)
    or a Model (probed where it is, on its own device). Dropout draws from a private generator
    state, so the caller's random numbers are untouched."""
    from .data import load_dataset
    from .objective import make_objective
    from .train_setup import resolve_device, resolve_network
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise TrainingError(f"samples must be a whole number of at least 1, not {samples!r}")
    with torch.random.fork_rng(devices=[]):
        start = resolve_network(network, seed)
        model = start.model
        if model is not network and model is not getattr(network, "model", None):
            model.to(resolve_device(device))     # built here from a spec
        data = load_dataset(dataset).fit_input(model.input_shape)
        objective = make_objective(model, data, loss)
        return _probe_batch(model, data, objective, samples, seed)


def _probe_batch(model, data, objective, samples: int, seed: int) -> dict:
    dev = next(model.parameters(), torch.empty(0)).device
    pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:samples]
    x, y = data.x[pick].to(dev), data.y[pick].to(dev)
    buffers = {k: v.clone() for k, v in model.state_dict().items()
               if k not in dict(model.named_parameters())}
    was_training = model.training
    watch = Watch(model)
    try:
        model.train()
        torch.manual_seed(seed)
        watch.attach()
        loss = objective.loss(model(x), y)
        weights, outputs = list(watch.weights.items()), list(watch.graded.items())
        found = torch.autograd.grad(loss, [t for _, t in weights + outputs],
                                    allow_unused=True) if weights else []
        grads = dict(zip([n for n, _ in weights], found[:len(weights)]))
        deltas = dict(zip([n for n, _ in outputs], found[len(weights):]))
        return watch.collect(grads, deltas)
    finally:
        watch.close()
        model.train(was_training)
        model.load_state_dict(buffers, strict=False)
