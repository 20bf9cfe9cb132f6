"""Continue after edits: carry trained weights over to an edited network.

A node keeps its trained state (weights, biases, batch-norm statistics) when the edited network
has a node with the same id, the same kind, the same parameters and the same input shapes; every
other node starts from its initialisation. The optimizer state carries over only when every
parameter of the new model was kept (its moments are per parameter and per shape).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import torch

from engine.errors import SpecError
from engine.network.analysis import analyze
from engine.network.model import Model, build
from engine.network.spec import NetworkSpec


@dataclass
class Transfer:
    """The new model; the node ids whose state was kept and those initialised afresh."""
    model: Model
    kept: list[str] = field(default_factory=list)
    fresh: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when nothing was initialised afresh (the optimizer state still fits)."""
        return not self.fresh


def same_network(a: NetworkSpec, b: NetworkSpec) -> bool:
    """True when a and b differ at most in canvas positions, name and description."""
    return _structure(a) == _structure(b)


def network_signature(spec: NetworkSpec) -> str:
    """A short fingerprint of what `same_network` compares (nodes, their parameters, the
    edges): equal for the same network, different after an edit. Training runs record it."""
    return hashlib.sha256(repr(_structure(spec)).encode("utf-8", "backslashreplace")
                          ).hexdigest()[:16]


def unchanged_nodes(model: Model, spec: NetworkSpec, analysis=None) -> list[str]:
    """The nodes of `spec` (in its order) that match one of `model` in kind, parameters and
    input shapes, so that the trained state of `model` fits them as it is."""
    analysis = analysis if analysis is not None else analyze(spec)
    return _matching(model.spec, model.analysis, spec, analysis)


def lost_in_edit(old: NetworkSpec, new: NetworkSpec) -> list[str]:
    """The nodes of `old` with parameters whose trained values the edited network `new`
    cannot keep (removed, or changed in kind, parameters or input shapes — a shape change
    upstream changes theirs), in `old`'s order. Layers added by the edit are not counted."""
    old_analysis, new_analysis = analyze(old), analyze(new)
    kept = set(_matching(old, old_analysis, new, new_analysis))
    return [n for n in old_analysis.order
            if old_analysis.params.get(n) and n not in kept]


def _matching(old: NetworkSpec, old_analysis, spec: NetworkSpec, analysis) -> list[str]:
    old_shapes = old_analysis.in_shapes
    out = []
    for node_id, node in spec.nodes.items():
        prev = old.nodes.get(node_id)
        if prev is None or prev.kind != node.kind or prev.params != node.params:
            continue
        shapes = analysis.in_shapes.get(node_id)
        if shapes is not None and _shapes(shapes) == _shapes(old_shapes.get(node_id, [])):
            out.append(node_id)
    return out


def transfer(model: Model, spec: NetworkSpec, seed: int = 0) -> Transfer:
    """A model of `spec` holding `model`'s trained state for every unchanged node; the other
    nodes are initialised with `seed` (the caller's random numbers are untouched). Raises
    SpecError (naming the node) when `spec` cannot be built."""
    if not isinstance(model, Model):
        raise SpecError(f"transfer() needs an engine.Model, not {type(model).__name__}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        new = build(spec)
    device = next(model.parameters(), torch.empty(0)).device
    new.to(device)
    kept = set(unchanged_nodes(model, spec, new.analysis))
    for node_id in kept:
        if node_id in new.layers and node_id in model.layers:
            _copy_state(model.layers[node_id], new.layers[node_id])
    stateful = [n for n in new.order if _has_state(new.layers[n])]
    return Transfer(new, [n for n in new.order if n in kept and _has_state(new.layers[n])],
                    [n for n in stateful if n not in kept])


def _copy_state(src: torch.nn.Module, dst: torch.nn.Module) -> None:
    with torch.no_grad():
        dst.load_state_dict({k: v.detach().clone() for k, v in src.state_dict().items()})


def _has_state(module: torch.nn.Module) -> bool:
    return bool(module.state_dict())


def _shapes(shapes) -> list[tuple]:
    return [tuple(s) for s in shapes]


def _structure(spec: NetworkSpec) -> tuple:
    nodes = tuple((n.id, n.kind, tuple(sorted((k, repr(v)) for k, v in n.params.items())))
                  for n in spec.nodes.values())
    return nodes, tuple(spec.edges)
