"""build(): a NetworkSpec turned into `Model`, an nn.Module that keeps its spec."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from engine.errors import SpecError
from engine.network.analysis import NETWORK, Analysis, analyze
from engine.network.init import initialise
from engine.network.catalogue import LAYERS
from engine.network.spec import NetworkSpec

Tap = Callable[[dict[str, torch.Tensor]], None]


class Model(nn.Module):
    """One submodule per node, keyed by node id in `self.layers`; runs them in topological order.

    `spec` is a private copy of the network it was built from; `analysis` holds its shapes.
    `forward(x)` takes a batch shaped (N, *input_shape) and returns the output node's tensor.
    `add_tap(fn)` has `fn(outputs)` called at the end of every forward pass with every layer's
    output, {node_id: tensor} — one plain call per pass, far cheaper than a module hook on
    each layer (a partial pass, `forward(x, until=...)` or `forward_chain`, gives the outputs
    of the layers it ran). Taps are not copied with the model.
    """

    def __init__(self, spec: NetworkSpec, analysis: Analysis):
        super().__init__()
        self.spec = spec
        self.analysis = analysis
        self.input_id = analysis.input_id
        self.output_id = analysis.output_id
        self.order = [n for n in analysis.order if n != analysis.input_id]
        self.inputs = {n: spec.inputs_of(n) for n in self.order}
        self.layers = nn.ModuleDict()
        for n in self.order:
            node = spec.nodes[n]
            self.layers[n] = LAYERS[node.kind].build(node.params, analysis.in_shapes[n])
        self._taps: list[Tap] = []
        self.reset_weights()

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.analysis.shapes[self.input_id]

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.analysis.output_shape

    def reset_weights(self) -> None:
        """Initialise every layer afresh (by each weighted layer's resolved `init`)."""
        for n in self.order:
            module = self.layers[n]
            if n in self.analysis.inits:
                initialise(module, *self.analysis.inits[n])
            elif hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def forward(self, x: torch.Tensor, until: str | None = None) -> torch.Tensor:
        """The output node's tensor; with `until`, the output of that node, computing only the
        layers up to it in the network's order (the taps see those)."""
        outs = {self.input_id: x}
        for n in self.order:
            outs[n] = self.layers[n](*(outs[p] for p in self.inputs[n]))
            if n == until:
                break
        for tap in self._taps:
            tap(outs)
        return outs[until or self.output_id]

    def forward_chain(self, h: torch.Tensor, nodes: list[str]) -> torch.Tensor:
        """Run the one-input layers `nodes` in turn on `h` (a part of a chain, as greedy
        pre-training trains it); the taps see their outputs."""
        outs = {}
        for n in nodes:
            h = outs[n] = self.layers[n](h)
        for tap in self._taps:
            tap(outs)
        return h

    def add_tap(self, fn: Tap) -> Callable[[], None]:
        """Call `fn(outputs)`, {node_id: output} (the input too), after each forward pass;
        returns the function that takes the tap off again."""
        self._taps = [*self._taps, fn]      # a new list: a forward pass in flight keeps its own

        def remove() -> None:
            self._taps = [t for t in self._taps if t is not fn]
        return remove

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()        # copies (deepcopy, pickle) start without taps
        state["_taps"] = []
        return state

    def label(self, node_id: str) -> str:
        return self.spec.label(node_id)


def build(spec: NetworkSpec) -> Model:
    """Build a Model from a valid spec; raise SpecError naming the (first) broken node."""
    analysis = analyze(spec)
    if not analysis.ok:
        node_id, message = analysis.problems[0]
        more = len(analysis.problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise SpecError(message + suffix, None if node_id == NETWORK else node_id,
                        problems=[(None if n == NETWORK else n, m) for n, m in analysis.problems])
    return Model(spec.copy(), analysis)
