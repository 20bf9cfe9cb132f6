"""build(): a NetworkSpec turned into `Model`, an nn.Module that keeps its spec."""
from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from engine.errors import SpecError
from engine.network.analysis import NETWORK, Analysis, analyze
from engine.network.init import initialise
from engine.network.catalogue import LAYERS
from engine.network.describe import memory as fmt_memory
from engine.network.memory import BYTES_PER_VALUE
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
        self._input_taps: dict[str, Callable] = {}     # node -> fn(its inputs) -> inputs
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
        given = self._input_taps
        for n in self.order:
            if given and n in given:
                outs[n] = self.layers[n](*given[n](tuple(outs[p] for p in self.inputs[n])))
            else:
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
        given = self._input_taps
        for n in nodes:
            h = outs[n] = self.layers[n](*given[n]((h,))) if given and n in given \
                else self.layers[n](h)
        for tap in self._taps:
            tap(outs)
        return h

    def example_input(self, batch: int = 3, seed: int = 0) -> torch.Tensor:
        """A seeded random input batch (to trace, export or compare with): token ids when the
        input feeds an Embedding (below the smallest vocabulary), else normal values."""
        self.check_batch_fits(batch)
        gen = torch.Generator().manual_seed(seed)
        nodes = self.spec.nodes
        vocab = [nodes[n].params["num_embeddings"] for n in self.order
                 if nodes[n].kind == "Embedding" and self.input_id in self.inputs[n]]
        if vocab:
            return torch.randint(0, min(vocab), (batch, *self.input_shape), generator=gen).float()
        return torch.randn(batch, *self.input_shape, generator=gen)

    def check_batch_fits(self, batch: int) -> None:
        """SpecError, before anything is allocated, when the activations of a `batch` of
        samples would take more than half of this computer's memory (a forward pass keeps
        them all while tracing, exporting or comparing)."""
        need = self.analysis.activation_bytes * batch
        have = memory_of_this_computer()
        if have is not None and need > have // 2:
            raise SpecError(f"A batch of {batch} samples takes {fmt_memory(need)} of "
                            f"activations in this network ({fmt_memory(need // batch)} a "
                            f"sample), more than half of this computer's memory "
                            f"({fmt_memory(have)}), so it cannot be run here. Make the Input "
                            f"or the layers smaller.")

    def add_tap(self, fn: Tap) -> Callable[[], None]:
        """Call `fn(outputs)`, {node_id: output} (the input too), after each forward pass;
        returns the function that takes the tap off again."""
        self._taps = [*self._taps, fn]      # a new list: a forward pass in flight keeps its own

        def remove() -> None:
            self._taps = [t for t in self._taps if t is not fn]
        return remove

    def add_input_tap(self, node: str, fn: Callable) -> Callable[[], None]:
        """Give layer `node` `fn(inputs)` instead of its inputs (a tuple) in every forward
        pass; returns the function that takes the tap off again."""
        self._input_taps = {**self._input_taps, node: fn}

        def remove() -> None:
            if self._input_taps.get(node) is fn:
                self._input_taps = {k: v for k, v in self._input_taps.items() if k != node}
        return remove

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()        # copies (deepcopy, pickle) start without taps
        state["_taps"], state["_input_taps"] = [], {}
        return state

    def label(self, node_id: str) -> str:
        return self.spec.label(node_id)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True,
                        assign: bool = False):
        """torch's `load_state_dict` (same keys, result and errors), in time linear in the
        number of layers: torch's own matches every key against every layer's prefix, which
        took 50 s for a network of 10,000 layers. Each key goes to its layer; each layer loads
        its own part with torch."""
        parts, unexpected = _by_layer(state_dict, self.layers)
        missing: list[str] = []
        errors: list[str] = []
        for n, layer in self.layers.items():
            try:
                result = layer.load_state_dict(parts[n], strict=False, assign=assign)
            except RuntimeError as exc:         # shapes that do not fit: torch's sentences
                errors += [f"in layers.{n}: {line.strip()}" for line in str(exc).splitlines()[1:]]
                continue
            missing += [f"layers.{n}.{k}" for k in result.missing_keys]
            unexpected += [f"layers.{n}.{k}" for k in result.unexpected_keys]
        if strict and unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: "
                             + ", ".join(f'"{k}"' for k in unexpected) + ". ")
        if strict and missing:
            errors.insert(0, "Missing key(s) in state_dict: "
                             + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for Model:\n\t"
                               + "\n\t".join(errors))
        return nn.modules.module._IncompatibleKeys(missing, unexpected)


def _by_layer(state_dict: Mapping[str, Any], layers) -> tuple[dict[str, OrderedDict], list]:
    """{node id: its part of `state_dict`, keys without "layers.<id>." and with its part of
    torch's `_metadata`}, and the keys of no layer."""
    parts = {n: OrderedDict() for n in layers}
    metadata = getattr(state_dict, "_metadata", None)
    if metadata is not None:
        for part in parts.values():
            part._metadata = {}
        for key, value in metadata.items():
            n, name = _layer_key(key)
            if n in parts:
                parts[n]._metadata[name] = value
    unexpected = []
    for key, value in state_dict.items():
        n, name = _layer_key(key)
        if n in parts and name:
            parts[n][name] = value
        else:
            unexpected.append(key)
    return parts, unexpected


def _layer_key(key: str) -> tuple[str | None, str]:
    """"layers.linear_1.weight" -> ("linear_1", "weight"); (None, "") outside the layers."""
    head, _, rest = key.partition(".")
    node, _, name = rest.partition(".")
    return (node, name) if head == "layers" and node else (None, "")


def build(spec: NetworkSpec) -> Model:
    """Build a Model from a valid spec; raise SpecError naming the (first) broken node, or
    saying that its weights do not fit this computer's memory (before allocating them)."""
    analysis = analyze(spec)
    if not analysis.ok:
        node_id, message = analysis.problems[0]
        more = len(analysis.problems) - 1
        suffix = f" (and {more:,} more problem{'s' if more > 1 else ''})" if more else ""
        raise SpecError(message + suffix, None if node_id == NETWORK else node_id,
                        problems=[(None if n == NETWORK else n, m) for n, m in analysis.problems])
    weights = analysis.total_params * BYTES_PER_VALUE
    have = memory_of_this_computer()
    if have is not None and weights > have:
        raise SpecError(_too_big(analysis, f"more than this computer's memory "
                                           f"({fmt_memory(have)})"))
    try:
        return Model(spec.copy(), analysis)
    except (MemoryError, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and "alloc" not in str(exc).lower():
            raise
        raise SpecError(_too_big(analysis, "and there is not enough free memory for them")) \
            from None


def _too_big(analysis: Analysis, why: str) -> str:
    weights = analysis.total_params * BYTES_PER_VALUE
    return (f"The network cannot be built: its {analysis.total_params:,} weights take "
            f"{fmt_memory(weights)} as float32, {why}. Give its layers fewer units or a "
            f"smaller input.")


def memory_of_this_computer() -> int | None:
    """Bytes of memory this process may use: the computer's, or its container's limit when
    lower; None where the system does not say."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
    for limit in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total
