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

Everything is reduced on the device and fetched in one transfer per probe step. Hooks are put
on for one forward/backward only and all handles are kept in one list, removed in one place.
"""
from __future__ import annotations

import threading
import weakref

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
    `collect()` after the backward pass, `close()` when done (removes every hook)."""

    def __init__(self, model):
        with _watched_lock:
            if model in _watched:
                raise TrainingError("this model is already being probed by another run; wait "
                                    "for it to end (or stop it) first")
            _watched.add(model)
        self.model = model
        self.weighted, self.activations = probed_layers(model)
        self.bounds = {n: LAYERS[model.spec.nodes[n].kind].bounds for n in self.activations}
        self.handles: list = []
        self.values: dict[tuple[str, str], torch.Tensor] = {}
        self.divisors: dict[tuple[str, str], float] = {}

    def attach(self) -> None:
        self.remove()
        for n in self.weighted:
            self.handles.append(self.model.layers[n].register_forward_hook(self._delta_hook(n)))
        for n in self.activations:
            self.handles.append(self.model.layers[n].register_forward_hook(self._act_hook(n)))

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles.clear()

    def close(self) -> None:
        self.remove()
        self.values.clear()
        self.divisors.clear()
        with _watched_lock:
            _watched.discard(self.model)

    def _delta_hook(self, node: str):
        def on_forward(module, inputs, output):
            if isinstance(output, torch.Tensor) and output.requires_grad:
                self.handles.append(output.register_hook(
                    lambda grad: self._store(node, "delta_norm", grad.detach().norm())))
        return on_forward

    def _act_hook(self, node: str):
        def on_forward(module, inputs, output):
            with torch.no_grad():
                for stat, (value, divisor) in activation_sums(output.detach(),
                                                              self.bounds[node]).items():
                    self._store(node, stat, value, divisor)
        return on_forward

    def _store(self, node: str, stat: str, value: torch.Tensor, divisor: float = 1.0) -> None:
        self.values[(node, stat)] = value
        self.divisors[(node, stat)] = divisor

    @torch.no_grad()
    def collect(self, grads: dict[str, torch.Tensor] | None = None) -> dict[str, dict]:
        """The statistics of the last forward/backward, {node: {stat: float}}, fetched in one
        transfer. Weight gradients come from `.grad`, or from `grads` {node: tensor}."""
        weights = [self.model.layers[n].weight for n in self.weighted]
        found = [(n, grads.get(n) if grads is not None else w.grad)
                 for n, w in zip(self.weighted, weights)]
        found = [(n, g) for n, g in found if g is not None]
        norms = _norms([w.detach() for w in weights] + [g for _, g in found])
        for n, norm in zip(self.weighted, norms):
            self._store(n, "weight_norm", norm)
            self._store(n, "grad_norm", torch.zeros_like(norm))    # no gradient reached it
        for (n, _), norm in zip(found, norms[len(weights):]):
            self._store(n, "grad_norm", norm)
        keys = list(self.values)
        numbers = torch.stack([self.values[k].float() for k in keys]).tolist() if keys else []
        out: dict[str, dict] = {n: {} for n in self.model.order
                                if n in self.weighted or n in self.activations}
        for key, value in zip(keys, numbers):
            out[key[0]][key[1]] = value / self.divisors[key]
        self.values.clear()
        self.divisors.clear()
        return {n: dict(sorted(s.items())) for n, s in out.items()}


def _norms(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """Euclidean norms of many tensors, in one fused call where torch has it."""
    if not tensors:
        return []
    foreach = getattr(torch, "_foreach_norm", None)
    if foreach is not None and len({(t.device, t.dtype) for t in tensors}) == 1:
        return list(foreach(tensors))
    return [t.norm() for t in tensors]


def activation_sums(a: torch.Tensor, bounds: tuple[float, float] | None) -> dict:
    """{stat: (0-d tensor on a's device, divisor)}: the statistic is tensor / divisor, so that
    the divisions happen on the host after the one transfer. Units are the positions of one
    sample's output; a unit is dead when it is zero for every sample of the batch."""
    count = float(a.numel())
    units = float(a[0].numel()) if a.dim() and len(a) else 1.0
    zero = a == 0
    stats = {"sparsity": (zero.sum(dtype=torch.float32), count),
             "dead": (zero.all(dim=0).sum(dtype=torch.float32), units),
             "mean_activation": (a.sum(dtype=torch.float32), count)}
    if bounds is not None:
        lo, hi = bounds
        centre, reach = (lo + hi) / 2, (hi - lo) / 2 * (1 - 2 * SATURATION_MARGIN)
        stats["saturation"] = (((a - centre).abs_() >= reach).sum(dtype=torch.float32), count)
    return stats


class ProbeCallback(Callback):
    """Probes the training batch every `every` steps (steps 1, 1 + every, ...): hooks on before
    the forward pass, statistics read after the backward pass, hooks off again."""

    def __init__(self, model, every: int, emit):
        self.every = every
        self.emit = emit
        self.watch = Watch(model)
        self.probing = 0

    def on_batch_start(self, run, step: int) -> None:
        if (step - 1) % self.every == 0:
            self.watch.attach()
            self.probing = step

    def on_after_backward(self, run, step: int) -> None:
        if self.probing != step:
            return
        layers = self.watch.collect()
        self.watch.remove()
        self.probing = 0
        add_probe(run.history, step, layers)
        self.emit(ProbeEvent(step, layers))

    def on_train_end(self, run) -> None:
        self.watch.close()


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
        weights = [model.layers[n].weight for n in watch.weighted]
        grads = torch.autograd.grad(loss, weights, allow_unused=True) if weights else []
        return watch.collect(dict(zip(watch.weighted, grads)))
    finally:
        watch.close()
        model.train(was_training)
        model.load_state_dict(buffers, strict=False)
