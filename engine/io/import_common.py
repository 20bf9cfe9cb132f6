"""What the ONNX and the PyTorch importers share: a builder that turns a source graph, one
operation at a time, into a NetworkSpec of catalogue kinds with the source's weights, and the
check that the imported network reproduces the source.

Operations without a kind are collected, not raised one by one: the importer goes through the
whole graph and `GraphBuilder.finish` refuses them together in one `UnsupportedOperations`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

from engine.errors import LayerwiseError, SpecError, UnsupportedOperations
from engine.network.catalogue import LAYERS
from engine.network.layout import layered_positions
from engine.network.shapes import Shape, ShapeError
from engine.network.spec import NetworkSpec

TOLERANCE = 1e-5        # largest difference allowed, relative to the output's size (at least 1)
CHECK_BATCH = 4         # samples the imported network is checked on


class NotImportable(Exception):
    """Raised by a handler: this operation cannot be imported, for the reason given."""


@dataclass
class Imported:
    """An imported network: its document, the built model holding the source's weights, and
    the largest difference between their outputs on a random batch (None: not checked)."""
    spec: NetworkSpec
    model: Any          # engine.Model
    max_difference: float | None = None
    source: str = ""
    notes: list[str] = field(default_factory=list)


class GraphBuilder:
    """A NetworkSpec grown from a source graph. Source values (ONNX tensor names, fx nodes) are
    mapped to the node that computes them; shapes exclude the batch dimension."""

    def __init__(self, name: str = "", description: str = ""):
        self.spec = NetworkSpec(name, description)
        self.node_of: dict[Hashable, str] = {}
        self.shapes: dict[str, Shape] = {}
        self.weights: dict[str, dict[str, Any]] = {}
        self.refused: list[tuple[str, str]] = []
        self.broken: set[Hashable] = set()     # values computed by refused operations

    # ------------------------------------------------------------------ growing
    def input(self, value: Hashable, shape) -> str:
        node = self.spec.add("Input", {"shape": [int(d) for d in shape]})
        self.node_of[value] = node
        self.shapes[node] = tuple(int(d) for d in shape)
        return node

    def shape(self, value: Hashable) -> Shape:
        return self.shapes[self.node_of[value]]

    def known(self, value: Hashable) -> bool:
        return value in self.node_of

    def alias(self, value: Hashable, same_as: Hashable) -> None:
        """`value` is `same_as` (an identity, a no-op reshape, dropout at inference)."""
        self.node_of[value] = self.node_of[same_as]

    def emit(self, kind: str, params: dict, inputs: list[Hashable], output: Hashable,
             weights: dict[str, Any] | None = None) -> str:
        """Add a node of `kind` fed by `inputs` whose result is `output`; raises NotImportable
        when the kind refuses the shapes it would receive."""
        entry = LAYERS[kind]
        in_shapes = [self.shape(v) for v in inputs]
        try:
            full = {p.name: p.validate(params.get(p.name, p.default)) for p in entry.params}
            shape = tuple(entry.infer(full, in_shapes))
        except (ShapeError, ValueError) as exc:       # a value out of the kind's range, too
            raise NotImportable(f"{kind}: {exc}") from None
        try:
            node = self.spec.add(kind, params)
        except SpecError as exc:
            raise NotImportable(f"{kind}: {exc}") from None
        for v in inputs:
            self.spec.connect(self.node_of[v], node)
        self.node_of[output] = node
        self.shapes[node] = shape
        if weights:
            self.weights[node] = weights
        return node

    def refuse(self, name: str, op: str, outputs: list[Hashable]) -> None:
        self.refused.append((name, op))
        self.broken.update(outputs)

    def handle(self, name: str, op: str, inputs: list[Hashable], outputs: list[Hashable],
               handler: Callable[[], None] | None) -> None:
        """Run `handler` for one source operation, or record it as refused (`handler` None:
        no kind for this op). Operations fed by refused ones are skipped silently."""
        if handler is not None and any(v in self.broken for v in inputs):
            self.broken.update(outputs)
            return
        if handler is None:
            self.refuse(name, op, outputs)
            return
        try:
            handler()
        except NotImportable as exc:
            self.refuse(name, f"{op}: {exc}" if str(exc) else op, outputs)

    # ------------------------------------------------------------------ finishing
    def finish(self, output: Hashable):
        """The spec (laid out, pruned to what the output needs) and its built Model with the
        source's weights; raises UnsupportedOperations listing every refused operation."""
        if self.refused:
            raise UnsupportedOperations(self.refused)
        if output not in self.node_of:
            raise UnsupportedOperations([(str(output), "the output is not computed from the input")])
        self._prune(self.node_of[output])
        for node, (x, y) in layered_positions(self.spec).items():
            self.spec.move(node, (x, y))
        from engine.network.model import build
        model = build(self.spec)
        for node, weights in self.weights.items():
            fill(model.layers[node], weights, self.spec.label(node))
        return self.spec, model.eval()

    def _prune(self, out: str) -> None:
        keep, todo = set(), [out]
        while todo:
            n = todo.pop()
            if n not in keep:
                keep.add(n)
                todo += self.spec.inputs_of(n)
        for n in [n for n in self.spec.nodes if n not in keep]:
            self.spec.remove(n)
            self.weights.pop(n, None)


def fill(layer, weights: dict[str, Any], label: str) -> None:
    """Copy `weights` {state-dict key: array or tensor} into a built layer, shapes checked."""
    import numpy as np
    import torch
    state = layer.state_dict()
    for key, value in weights.items():
        tensor = (torch.from_numpy(np.array(value, dtype=np.float32)) if isinstance(
            value, np.ndarray) else torch.as_tensor(value).detach().to(torch.float32))
        if key not in state or tuple(state[key].shape) != tuple(tensor.shape):
            want = tuple(state[key].shape) if key in state else "nothing"
            raise SpecError(f"{label}: the source's {key} has shape {tuple(tensor.shape)}, the "
                            f"layer needs {want}")
        state[key] = tensor.to(state[key].dtype).clone()
    layer.load_state_dict(state)


def check_same(model, run_source: Callable[[Any], Any], what: str) -> float:
    """Run the imported model and the source on one random batch; the largest difference.
    Raises LayerwiseError when they differ beyond TOLERANCE."""
    import torch
    x = example(model)
    with torch.no_grad():
        got = model(x)
        want = torch.as_tensor(run_source(x)).to(got.dtype)
    if tuple(want.shape) != tuple(got.shape):
        raise LayerwiseError(f"the imported network gives outputs of shape {tuple(got.shape)[1:]}"
                             f" but {what} gives {tuple(want.shape)[1:]}; please report this "
                             f"network")
    diff = float((got - want).abs().max())
    if not diff <= TOLERANCE * max(1.0, float(want.abs().max())):
        raise LayerwiseError(f"the imported network does not reproduce {what} (largest "
                             f"difference {diff:.3g}); please report this network")
    return diff


def example(model, batch: int = CHECK_BATCH):
    """A random input batch to compare with (Model.example_input)."""
    return model.example_input(batch)


def import_network(source, input_shape=None, name: str | None = None,
                   weights=None) -> Imported:
    """Import a network: `source` is an .onnx path, a "file.py:ClassName" string (the file's
    code runs: only import files you trust), or a torch.nn.Module instance. `input_shape` (one
    sample's, without the batch) is needed for PyTorch sources that do not say it themselves
    (an INPUT_SHAPE attribute of the module or of its file); `weights`, a .safetensors state
    dict loaded into a PyTorch module before it is imported."""
    from pathlib import Path
    if isinstance(source, (str, Path)) and str(source).lower().endswith(".onnx"):
        if input_shape is not None or weights is not None:
            raise LayerwiseError("an ONNX model says its own input shape and holds its "
                                 "weights: give neither an input shape nor weights")
        from engine.io.import_onnx import import_onnx
        return import_onnx(source, name=name)
    from engine.io.import_torch import import_torch
    return import_torch(source, input_shape=input_shape, name=name, weights=weights)
