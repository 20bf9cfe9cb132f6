"""Per-layer statistics: what reaches each layer during learning, and what each layer does.

For each parameterised layer (Linear, Conv2d, BatchNorm, PReLU):
  grad_norm   ‖∂L/∂W‖, the norm of the weight gradient (before any clipping);
  grad_rms    ‖∂L/∂W‖/√n, its root mean square per weight (n weights): unlike the norm, it
              carries no factor of the layer's size, so layers of different sizes compare;
  grad_ratio  ‖∂L/∂W‖/‖W‖, the gradient relative to the weights (the relative change a step
              of plain SGD makes is the learning rate times this);
  delta_norm  ‖∂L/∂a‖, the norm of the gradient back-propagated to the layer's output (for the
              batch, of the batch-mean loss) — in deep sigmoid/tanh stacks this vanishes
              towards the input while grad_norm can stay flat;
  delta_rms   ‖∂L/∂a‖/√m, its root mean square per output value (m values in the batch; the
              loss being the batch mean, it scales with 1/batch size, like delta_norm);
  weight_norm ‖W‖.
For each recurrent layer (LSTM, GRU), besides: the gradient reaching its inputs and the
saturation of its hidden outputs along the sequence, per part of it (engine.run.probes_steps).
For each activation layer:
  sparsity        fraction of its outputs exactly zero;
  dead            fraction of its units (every position of one sample's output) zero for
                  every sample of the batch;
  saturation      (sigmoid, tanh, softsign) fraction of outputs within 5% of the range from
                  either bound;
  mean_activation mean of its outputs.

Everything is reduced on the device into one vector, which the training loop fetches in one
transfer per probe step together with the steps' losses (engine.run.pending); only turning
counts into fractions is left to the host. The model is tapped (engine.Model.add_tap) for the
probed forward/backward only (for the whole run when every step is probed), and the tap is
taken off in one place. The training loop's probed steps back-propagate through
`Watch.backward`, which captures the layer-output gradients instead of retaining copies.
"""
from __future__ import annotations

import math
import threading
import weakref

import numpy as np
import torch

from engine.errors import TrainingError
from engine.network.catalogue import LAYERS
from engine.run.probes_steps import StepProfiles

SATURATION_MARGIN = 0.05
WEIGHT_GRADIENT_STATS = ("grad_norm", "grad_rms", "grad_ratio")
MEMBERSHIP_LIMIT = 8192        # entries of the (units, layers) matrix that sums per layer:
#                               beyond, one sum per layer is faster (LeNet-5: 6,508 x 4)
_watched: "weakref.WeakSet[torch.nn.Module]" = weakref.WeakSet()
_watched_lock = threading.Lock()


def layer_weights(module: torch.nn.Module) -> list[torch.nn.Parameter]:
    """The weights whose statistics stand for a layer: its `weight` (Linear, convolutions,
    normalisations, Embedding, PReLU), else all its weight matrices together (an LSTM's
    weight_ih_l0, weight_hh_l0, ...; attention's in_proj_weight and out_proj.weight)."""
    weight = getattr(module, "weight", None)
    if isinstance(weight, torch.nn.Parameter):
        return [weight]
    return [p for name, p in module.named_parameters()
            if p.dim() >= 2 and name.rsplit(".", 1)[-1].startswith("weight")
            or name.endswith("_weight")]


def probed_layers(model) -> tuple[list[str], list[str]]:
    """(parameterised node ids, activation node ids), in the network's order."""
    weighted = [n for n in model.order if layer_weights(model.layers[n])]
    acts = [n for n in model.order if LAYERS[model.spec.nodes[n].kind].category == "Activation"]
    return weighted, acts


class Watch:
    """Taps one forward/backward of `model`. `attach()` before the forward pass, `collect()`
    after the backward pass, `close()` when done (takes the tap off).

    The tap (engine.Model.add_tap, one plain call per forward pass) only keeps references:
    activation outputs, and the outputs of parameterised layers. Their gradients ∂L/∂a come
    from `backward(loss, params)`, which fills the parameters' .grad as loss.backward() does
    and captures those gradients on the way; with `retain=True` the tap instead asks autograd
    to retain them (`retain_grad`, which copies each one), for callers that run the backward
    pass themselves. `collect()` then reduces everything in a handful of batched device
    operations — all norms in one fused call per dtype, all activation layers side by side as
    one (batch, units) matrix reduced over the batch and then, by one matrix product, per
    layer — and fetches the result in one transfer."""

    def __init__(self, model, retain: bool = True):
        with _watched_lock:
            if model in _watched:
                raise TrainingError("this model is already being probed by another run; wait "
                                    "for it to end (or stop it) first")
            _watched.add(model)
        self.model = model
        self.weighted, self.activations = probed_layers(model)
        self.bounds = {n: LAYERS[model.spec.nodes[n].kind].bounds for n in self.activations}
        self.signed = {n for n in self.activations
                       if not LAYERS[model.spec.nodes[n].kind].nonnegative}
        self.weights = {n: layer_weights(model.layers[n]) for n in self.weighted}
        self.weight_list = [w for ws in self.weights.values() for w in ws]
        # layers of several weight tensors: which layer each tensor's norm goes to (else None)
        self._owners = [j for j, ws in enumerate(self.weights.values()) for _ in ws] \
            if len(self.weight_list) > len(self.weighted) else None
        self.probed = [n for n in model.order if n in self.weights or n in self.bounds]
        self.outputs: dict[str, torch.Tensor] = {}      # activation layers: outputs kept
        self.graded: dict[str, torch.Tensor] = {}       # parameterised layers: outputs kept
        self.deltas: dict[str, torch.Tensor | None] | None = None   # captured by backward()
        self.retain = retain
        self.steps = StepProfiles(model, self.weighted, retain)    # recurrent layers, per step
        self.step_deltas: dict[str, torch.Tensor | None] | None = None
        self._untap = None
        self._plans: dict[tuple, _ActivationPlan] = {}
        self._layouts: dict[tuple, _Layout] = {}

    @property
    def attached(self) -> bool:
        return self._untap is not None

    def attach(self) -> None:
        if self._untap is None:
            self._untap = self.model.add_tap(self._on_outputs)
            self.steps.attach()

    def remove(self) -> None:
        if self._untap is not None:
            self._untap()
            self._untap = None
            self.steps.remove()

    def close(self) -> None:
        self.remove()
        self._forget()
        with _watched_lock:
            _watched.discard(self.model)

    def _on_outputs(self, outputs: dict[str, torch.Tensor]) -> None:
        """Keep the outputs of a forward pass (of part of the network, in pre-training)."""
        for n in self.weighted:
            out = outputs.get(n)
            if out is not None and out.requires_grad:
                if self.retain:
                    out.retain_grad()         # ∂L/∂a, filled in by the backward pass
                self.graded[n] = out
        for n in self.activations:
            out = outputs.get(n)
            if out is not None:
                self.outputs[n] = out         # read under no_grad in collect()

    def backward(self, loss: torch.Tensor, params: list[torch.Tensor]) -> None:
        """Back-propagate `loss` into the .grad of `params` (accumulated, as loss.backward()
        does) and keep the gradients at the tapped layer outputs for `collect()`."""
        _accumulate(params, self.grad(loss, params))

    def grad(self, loss: torch.Tensor, params: list[torch.Tensor]) -> list:
        """The gradients of `params` (put nowhere), keeping on the way those at the tapped
        layer outputs and at the recurrent layers' inputs for `collect()`."""
        outs, steps = list(self.graded.values()), list(self.steps.inputs.values())
        found = torch.autograd.grad(loss, [*params, *outs, *steps], allow_unused=True) \
            if params or outs or steps else ()
        p, o = len(params), len(outs)
        self.deltas = dict(zip(self.graded, found[p:p + o]))
        self.step_deltas = dict(zip(self.steps.inputs, found[p + o:]))
        return list(found[:p])

    def step_gradients(self) -> dict[str, torch.Tensor]:
        """The gradients at the recurrent layers' inputs from the last backward pass."""
        if self.step_deltas is not None:
            return {n: g for n, g in self.step_deltas.items() if g is not None}
        return self.steps.gradients()

    def layer_output_gradients(self) -> dict[str, torch.Tensor]:
        """The gradients at the tapped layer outputs from the last backward pass."""
        if self.deltas is not None:
            return {n: g for n, g in self.deltas.items() if g is not None}
        return {n: out.grad for n, out in self.graded.items() if out.grad is not None}

    def _forget(self) -> None:
        self.outputs.clear()
        self.graded.clear()
        self.deltas = self.step_deltas = None
        self.steps.forget()

    def collect(self, grads: list[torch.Tensor | None] | None = None,
                deltas: dict[str, torch.Tensor] | None = None) -> dict[str, dict]:
        """The statistics of the last forward/backward, {node: {stat: float}}, fetched in one
        transfer. Gradients come from `.grad`, or from `grads` (of `weight_list`, in order)
        and `deltas` (layer outputs, {node: tensor}) when the caller used autograd.grad."""
        return self.nest(*self.collect_values(grads, deltas))

    def nest(self, keys: tuple, values: list[float]) -> dict[str, dict]:
        """Parallel ((node, stat), ...) keys and values -> {node: {stat: value}}, in the
        network's order."""
        out: dict[str, dict] = {n: {} for n in self.probed}
        for (node, stat), value in zip(keys, values):
            out[node][stat] = value
        return out

    def collect_values(self, grads: list[torch.Tensor | None] | None = None,
                       deltas: dict[str, torch.Tensor] | None = None) -> tuple[tuple, list]:
        """`collect()` as parallel ((node, stat), ...) keys and values."""
        layout, raw = self.gather(grads, deltas)
        raw = raw.numpy(force=True) if raw is not None else np.empty(0, np.float32)
        keys, values = self.finish_rows(layout, raw[None])
        return keys, values[0].tolist()

    @torch.inference_mode()        # a little cheaper per operation than no_grad
    def gather(self, grads: list[torch.Tensor | None] | None = None,
               deltas: dict[str, torch.Tensor] | None = None,
               steps: dict[str, torch.Tensor] | None = None
               ) -> tuple["_Layout", torch.Tensor | None]:
        """The statistics' raw sums as one float32 vector on the device (None when there is
        nothing to measure), with the layout that `finish_rows` turns them into values by: the
        caller fetches the vector, in one transfer with whatever else it reads. While the same
        gradients exist and the batch keeps its size, the layout (and its keys) is the very
        same object from one step to the next, and the work is a fixed list of device
        operations: this runs every probed step, where every small operation and Python line
        costs. `steps`: the gradients at the recurrent layers' inputs, when not captured."""
        wgrads = [w.grad for w in self.weight_list] if grads is None else list(grads)
        if deltas is None:
            deltas = self.layer_output_gradients()
        if steps is None and self.steps.nodes:
            steps = self.step_gradients()
        if self._owners is not None:
            wgrads = self._whole_layers(wgrads)
        found = [g for g in wgrads if g is not None]
        found += [d for d in deltas.values() if d is not None]
        plan = self._plan()
        batch = self.outputs[plan.acts[0]].shape[0] if plan is not None else 0
        layout = self._layout(wgrads, deltas, found, plan, batch, steps or {})
        tensors = self.weight_list + found
        parts = [_norms(tensors) if layout.owners is None else
                 _layer_norms(_norms(tensors), layout.owners)] if tensors else []
        if plan is not None:
            parts.append(plan.reduce(self.outputs, batch))
        if self.steps.nodes:
            parts += self.steps.reduce(steps or {}, self.graded)
        self._forget()
        return layout, (torch.cat(parts) if len(parts) > 1 else parts[0]) if parts else None

    @staticmethod
    def finish_rows(layout: "_Layout", raw: np.ndarray) -> tuple[tuple, np.ndarray]:
        """(keys, values): the statistics of probes sharing `layout` as a float64 matrix, one
        row per probe, from the raw sums `gather` gave for them (one row each), fetched."""
        raw = raw.astype(np.float64)
        values = np.zeros((len(raw), len(layout.keys)))
        picked = len(layout.index)
        values[:, :picked] = layout.offset + layout.scale * raw[:, layout.index]
        grad, weight = raw[:, layout.ratio_grad], raw[:, layout.ratio_weight]
        with np.errstate(divide="ignore", invalid="ignore"):    # x/0 -> inf, 0/0 -> 0
            values[:, picked:picked + grad.shape[1]] = np.where(
                weight != 0, grad / weight, np.where(grad == 0, 0.0, np.inf))
        return layout.keys, values      # the rest: gradients of weights none reached, 0

    def _whole_layers(self, wgrads: list) -> list:
        """The gradients of layers that have one for every weight tensor, the others None."""
        missing = {j for j, g in zip(self._owners, wgrads) if g is None}
        return [None if j in missing else g for j, g in zip(self._owners, wgrads)]

    def _layout(self, wgrads: list, deltas: dict, found: list, plan, batch: int,
                steps: dict) -> "_Layout":
        """The layout for these gradients; when every weight and layer output has one (the
        usual case), the same object while the plan and batch size (and the recurrent
        layers' sequence lengths) stay the same."""
        if len(found) != len(wgrads) + len(self.weighted):      # gradients found for all
            return _Layout(self, wgrads, deltas, plan, batch, steps)
        key = (plan, batch, found[-1].shape[0] if found else 0)     # delta_rms: its batch
        if self.steps.nodes:
            key += self.steps.signature(steps, self.graded)
        layout = self._layouts.get(key)
        if layout is None:
            layout = self._layouts[key] = _Layout(self, wgrads, deltas, plan, batch, steps)
        return layout

    def _plan(self) -> "_ActivationPlan | None":
        """The reduction plan for the activation outputs kept (the forward pass keeps them in
        the network's order; their per-sample shapes are fixed by the network)."""
        if not self.outputs:
            return None
        acts = tuple(self.outputs)
        first = self.outputs[acts[0]]
        key = (acts, first.device)
        if key not in self._plans:
            self._plans[key] = _ActivationPlan(
                acts, [math.prod(self.outputs[n].shape[1:]) for n in acts],
                [self.bounds[n] for n in acts], first.device,
                reshape=any(self.outputs[n].dim() != 2 for n in acts),
                signed=any(n in self.signed for n in acts))
        return self._plans[key]


class _ActivationPlan:
    """How the outputs of a set of activation layers are reduced, worked out once: side by
    side as one (batch, units) matrix, per unit over the batch (nonzero count, sum, alive,
    saturated count), then per layer — by one product with a (units, layers) membership
    matrix while that matrix is small (MEMBERSHIP_LIMIT entries), else one sum per layer.
    The per-layer counts are turned into fractions on the host. `signed`: whether any of the
    layers can give negative outputs (else the signs are counted as they are, one pass less
    over the activations: LeNet-5's four ReLUs, ~20 µs a probe)."""

    def __init__(self, acts: tuple[str, ...], sizes: list[int], bounds: list, device,
                 reshape: bool = True, signed: bool = True):
        self.acts, self.sizes, self.reshape, self.signed = acts, sizes, reshape, signed
        self.saturating = [b is not None for b in bounds]
        self.keys = [(n, stat) for n, saturating in zip(acts, self.saturating)
                     for stat in ("sparsity", "dead", "mean_activation")
                     + (("saturation",) if saturating else ())]
        self.length = len(acts) * (4 if any(self.saturating) else 3)   # values `reduce` gives
        total = sum(sizes)
        member = torch.zeros(total, len(acts)) if total * len(acts) <= MEMBERSHIP_LIMIT else None
        centre, reach = torch.zeros(total), torch.full((total,), math.inf)
        start = 0
        for j, (units, b) in enumerate(zip(sizes, bounds)):
            if member is not None:
                member[start:start + units, j] = 1.0
            if b is not None:
                lo, hi = b
                centre[start:start + units] = (lo + hi) / 2
                reach[start:start + units] = (hi - lo) / 2 * (1 - 2 * SATURATION_MARGIN)
            start += units
        self.member = member.to(device) if member is not None else None
        self.limits = (centre.to(device), reach.to(device)) if any(self.saturating) else None

    def reduce(self, outputs: dict[str, torch.Tensor], batch: int) -> torch.Tensor:
        """(rows x layers) sums, flattened: nonzero, sum, live units[, saturated]. Written for
        few kernel launches (each costs several microseconds on a CPU) on float tensors only
        (a reduction of a bool tensor is several times slower): |sign| marks the nonzeros, ge_
        the saturated values, in place. A NaN output makes its layer's statistics NaN."""
        flat = torch.cat([o.reshape(batch, -1) for o in outputs.values()] if self.reshape
                         else list(outputs.values()), dim=1)   # the tap keeps plan order
        if flat.dtype != torch.float32:
            flat = flat.float()              # counts stay exact, sums comparable
        signs = flat.sign()                  # ±1 where nonzero; ~5x faster than ne().sum()
        nonzero = (signs.abs_() if self.signed else signs).sum(0)
        rows = [nonzero, flat.sum(0), nonzero.sign()]          # sign: the unit is alive
        if self.limits is not None:
            centre, reach = self.limits
            rows.append((flat - centre).abs_().ge_(reach).sum(0))
        if self.member is not None:
            return torch.mm(torch.stack(rows), self.member).view(-1)
        per_unit = torch.stack(rows)
        return torch.stack([part.sum(1) for part in per_unit.split(self.sizes, dim=1)],
                           dim=1).view(-1)

    def picks(self, start: int, batch: int) -> list[tuple[int, float, float]]:
        """(index, offset, scale) of each statistic in `keys`, from the per-layer sums that
        `reduce` lays out from `start` on: sparsity = 1 - nonzero / cells, dead = 1 - live
        units / units, mean = sum / cells, saturation = saturated / cells."""
        layers = len(self.acts)
        out = []
        for j, units in enumerate(self.sizes):
            cells = batch * units
            out += [(start + j, 1.0, -1.0 / cells), (start + 2 * layers + j, 1.0, -1.0 / units),
                    (start + layers + j, 0.0, 1.0 / cells)]
            if self.saturating[j]:
                out.append((start + 3 * layers + j, 0.0, 1.0 / cells))
        return out


class _Layout:
    """Where each statistic of a probe comes from: `keys`, and for each one, its index in the
    fetched vector (norms of the weights, of the gradients found, then the activation plan's
    per-layer sums) with the offset and scale that turn it into the statistic (the plan's
    counts into fractions of the batch, a norm into a root mean square); `ratios`, the indices
    of (gradient norm, weight norm) of each grad_ratio; the gradient statistics of weights no
    gradient reached, last, are 0. All also as numpy index arrays. `owners`, for networks with
    layers of several weight tensors (recurrent, attention): the layer of each norm computed
    (see _layer_norms). Worked out once for each plan, batch size and set of gradients found."""

    def __init__(self, watch: Watch, wgrads: list, deltas: dict, plan, batch: int,
                 steps: dict):
        weighted = watch.weighted
        sizes = _grad_sizes(watch, wgrads)
        graded = [(n, size) for n, size in zip(weighted, sizes) if size is not None]
        reached = [(n, d) for n, d in deltas.items() if d is not None]
        keys = [(n, "weight_norm") for n in weighted]
        keys += [(n, "grad_norm") for n, _ in graded] + [(n, "delta_norm") for n, _ in reached]
        self.pick = [(i, 0.0, 1.0) for i in range(len(keys))]
        first = len(weighted)                       # where the gradient norms start
        for j, (n, size) in enumerate(graded):
            keys.append((n, "grad_rms"))
            self.pick.append((first + j, 0.0, 1.0 / math.sqrt(max(1, size))))
        first += len(graded)
        for j, (n, d) in enumerate(reached):
            keys.append((n, "delta_rms"))
            self.pick.append((first + j, 0.0, 1.0 / math.sqrt(max(1, d.numel()))))
        self.owners = _owners(watch, sizes, len(reached)) if watch._owners else None
        start = len(weighted) + len(graded) + len(reached)
        if plan is not None:
            keys += plan.keys
            self.pick += plan.picks(start, batch)
            start += plan.length
        reaches: list = []
        if watch.steps.nodes:           # recurrent layers' per-step values, as they are
            step_keys, reaches = watch.steps.layout(steps, watch.graded, start)
            keys += step_keys
            self.pick += [(start + i, 0.0, 1.0) for i in range(len(step_keys))]
        row = {n: i for i, n in enumerate(weighted)}
        self.ratios = [(len(weighted) + j, row[n]) for j, (n, _) in enumerate(graded)]
        self.ratios += [(first, last) for _, first, last in reaches]
        keys += [(n, "grad_ratio") for n, _ in graded]
        keys += [(n, "step_grad_reach") for n, _, _ in reaches]
        missing = [(n, stat) for n, size in zip(weighted, sizes) if size is None
                   for stat in WEIGHT_GRADIENT_STATS]
        self.keys = tuple(keys + missing)
        index, offset, scale = zip(*self.pick) if self.pick else ((), (), ())
        self.index = np.array(index, dtype=np.intp)
        self.offset, self.scale = np.array(offset), np.array(scale)
        self.ratio_grad = np.array([g for g, _ in self.ratios], dtype=np.intp)
        self.ratio_weight = np.array([w for _, w in self.ratios], dtype=np.intp)


def _grad_sizes(watch: Watch, wgrads: list) -> list[int | None]:
    """The number of gradient values of each weighted layer (None: no gradient reached it);
    `wgrads` has one entry per weight tensor, whole layers only (Watch._whole_layers)."""
    if watch._owners is None:
        return [None if g is None else g.numel() for g in wgrads]
    sizes: list[int | None] = [0] * len(watch.weighted)
    for j, g in zip(watch._owners, wgrads):
        sizes[j] = None if g is None else sizes[j] + g.numel()
    return sizes


def _owners(watch: Watch, sizes: list, deltas: int) -> tuple[torch.Tensor, int]:
    """(the output position of each norm in the vector gather computes, the vector's length):
    weight tensors to their layer's weight norm, gradients found to their layer's gradient
    norm, layer-output gradients each to its own."""
    layers = len(watch.weighted)
    rank = {j: layers + i for i, j in enumerate(j for j, s in enumerate(sizes) if s is not None)}
    owners = list(watch._owners)
    owners += [rank[j] for j in watch._owners if sizes[j] is not None]
    start = layers + len(rank)
    owners += range(start, start + deltas)
    device = watch.weight_list[0].device
    return torch.tensor(owners, device=device), start + deltas


def _layer_norms(norms: torch.Tensor, owners: tuple[torch.Tensor, int]) -> torch.Tensor:
    """Norms of tensors combined into norms of layers: √(Σ ‖t‖²) over each layer's tensors
    (a sum per layer, so a NaN stays in its own layer)."""
    index, size = owners
    return torch.zeros(size, device=norms.device).index_add_(0, index, norms.square()).sqrt_()


def _accumulate(params: list[torch.Tensor], grads) -> None:
    """Add `grads` to the parameters' .grad as the backward pass would: a gradient is taken
    as it is when it is contiguous or laid out like its parameter (so never a broadcast view)
    and not already taken by another parameter, else copied."""
    taken: set[int] = set()
    for p, g in zip(params, grads):
        if g is None:
            continue
        if p.grad is not None:
            p.grad += g
        elif id(g) in taken or not g.is_contiguous() and g.stride() != p.stride():
            p.grad = torch.empty_like(p).copy_(g)
        else:
            taken.add(id(g))
            p.grad = g


def _norms(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Euclidean norms of many tensors (all on one device) as one float32 vector: one fused
    call per dtype — mixed precision keeps layer outputs in a lower precision than weights."""
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) == 1:
        norms = torch.stack(torch._foreach_norm(tensors))
        return norms if norms.dtype == torch.float32 else norms.float()
    norms: list = [None] * len(tensors)
    for dtype in dtypes:
        members = [i for i, t in enumerate(tensors) if t.dtype == dtype]
        for i, value in zip(members, torch._foreach_norm([tensors[i] for i in members])):
            norms[i] = value.float()
    return torch.stack(norms)
