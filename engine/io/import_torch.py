"""Import a PyTorch module as a Layerwise network, through torch.fx.

`symbolic_trace` gives the module's forward pass as a graph of call_module, call_function and
call_method nodes; each is mapped to a catalogue kind by the tables in engine.io.torch_ops, and
every module's weights are copied into the built layer. Operations without a kind are refused
together, each named with its fx node. The imported network is checked against the module itself.

Importing "file.py:ClassName" runs that file's code (that is what importing a class is): only
import files you trust. Weights can come from a .safetensors file (never from a pickle).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from engine.errors import FileFormatError, LayerwiseError
from engine.io.checks import file_problem
from engine.io.import_common import (GraphBuilder, Imported, NotImportable,
                                     UnsupportedOperations, check_same)
from engine.io.torch_ops import FUNCTIONS, METHODS, MODULES, TUPLE, TUPLE_MODULES


def import_torch(source, input_shape=None, name: str | None = None,
                 weights=None) -> Imported:
    """Import `source`, an nn.Module or "file.py:ClassName" (run to make one, no arguments),
    with one sample's `input_shape` (else the module's or its file's INPUT_SHAPE). `weights`: an
    optional .safetensors state dict loaded into the module first."""
    module, file_globals, label = _module_of(source)
    if weights is not None:
        _load_weights(module, Path(weights))
    shape = _input_shape(input_shape, module, file_globals)
    module = module.eval()
    graph = _trace(module, label)
    builder = GraphBuilder(name or type(module).__name__, f"Imported from the PyTorch module "
                                                          f"{label}.")
    ctx = Context(builder, graph, module)
    output = ctx.walk(shape)
    spec, model = builder.finish(output)
    result = Imported(spec, model, source=label)
    with torch.no_grad():
        result.max_difference = check_same(model, module, f"the module {label}")
    return result


# ----------------------------------------------------------------------------- the source

def _module_of(source) -> tuple[nn.Module, dict, str]:
    if isinstance(source, nn.Module):
        return source, {}, type(source).__name__
    if not isinstance(source, (str, Path)) or ":" not in str(source):
        raise LayerwiseError(f"cannot import {source!r}: give an .onnx file, \"file.py:ClassName\""
                             f" or a torch.nn.Module")
    file, _, class_name = str(source).rpartition(":")
    path = Path(file)
    if path.suffix != ".py":
        raise FileFormatError(path, ["give a Python file, ending in .py"])
    problem = file_problem(path)
    if problem:
        raise FileFormatError(path, [problem])
    namespace = _run_file(path)
    cls = namespace.get(class_name)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise LayerwiseError(f"'{path}' has no torch.nn.Module class called {class_name!r}")
    try:
        module = cls()
    except Exception as exc:        # the user's own code: anything can go wrong
        raise LayerwiseError(f"{class_name}() failed: {type(exc).__name__}: {exc}") from None
    return module, namespace, f"{path.name}:{class_name}"


def _run_file(path: Path) -> dict:
    """Run a Python file as a module under a private name; its globals."""
    from engine.io.export import load_python_module
    try:
        return vars(load_python_module(path))
    except Exception as exc:      # noqa: BLE001 - the user's file: any error is theirs
        raise LayerwiseError(f"running '{path}' failed: {type(exc).__name__}: {exc}") from None


def _load_weights(module: nn.Module, path: Path) -> None:
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    if path.suffix != ".safetensors":
        raise FileFormatError(path, ["weights are read from a .safetensors file only"])
    problem = file_problem(path)
    if problem:
        raise FileFormatError(path, [problem])
    try:
        module.load_state_dict(load_file(str(path)))
    except (SafetensorError, RuntimeError, OSError) as exc:
        raise FileFormatError(path, [f"its weights do not fit the module: "
                                     f"{str(exc).splitlines()[0]}"]) from None


def _input_shape(given, module: nn.Module, file_globals: dict) -> tuple[int, ...]:
    shape = given if given is not None else getattr(module, "INPUT_SHAPE",
                                                    file_globals.get("INPUT_SHAPE"))
    if shape is None:
        raise LayerwiseError("give the shape of one input sample (without the batch), e.g. "
                             "--input-shape 1,28,28 (or an INPUT_SHAPE in the module)")
    try:
        shape = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise LayerwiseError(f"the input shape {shape!r} must be whole numbers") from None
    if not shape or min(shape) < 1:
        raise LayerwiseError(f"the input shape {shape!r} must be positive whole numbers")
    return shape


def _trace(module: nn.Module, label: str):
    try:
        return torch.fx.symbolic_trace(module).graph
    except Exception as exc:        # fx raises many kinds (TraceError, TypeError, ...)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise LayerwiseError(f"cannot follow {label}'s forward pass with torch.fx (it "
                             f"depends on the input's values, or on something fx cannot "
                             f"trace): {first}") from None


# ----------------------------------------------------------------------------- the walk

class Context:
    """What a handler sees: the builder, the traced module, and markers for values that are
    not tensors (the batch size, a shape)."""

    def __init__(self, builder: GraphBuilder, graph, root: nn.Module):
        self.b = builder
        self.graph = graph
        self.root = root
        self.markers: dict = {}

    def walk(self, shape):
        output = None
        inputs = 0
        for node in self.graph.nodes:
            if node.op == "placeholder":
                inputs += 1
                if inputs == 1:
                    self.b.input(node, shape)
                else:
                    self.b.refuse(node.name, "a second input: a Layerwise network has one", [node])
            elif node.op == "output":
                output = node.args[0]
            else:
                self._convert(node)
        if not isinstance(output, torch.fx.Node):
            raise UnsupportedOperations([("output", "several outputs: a Layerwise network has "
                                                    "one")])
        return output

    def _convert(self, node) -> None:
        handler, op = self._handler(node)
        inputs = [v for v in node.all_input_nodes if v not in self.markers]
        self.b.handle(node.name, op, inputs, [node],
                      None if handler is None else lambda: handler(self, node))

    def _handler(self, node):
        if node.op == "call_module":
            module = self.root.get_submodule(node.target)
            if type(module) in TUPLE_MODULES:
                return _tuple_handler(TUPLE_MODULES[type(module)], module), \
                    type(module).__name__
            entry = MODULES.get(type(module))
            return (None if entry is None else _module_handler(entry, module)), \
                type(module).__name__
        if node.op == "call_function":
            name = getattr(node.target, "__name__", str(node.target))
            return FUNCTIONS.get(node.target), name
        if node.op == "call_method":
            return METHODS.get(node.target), f".{node.target}()"
        return None, f"{node.op} {node.target}"

    # ------------------------------------------------------------------ helpers
    def is_tensor(self, value) -> bool:
        return isinstance(value, torch.fx.Node) and self.b.known(value)

    def tensor(self, node, index: int):
        value = node.args[index] if len(node.args) > index else None
        if not self.is_tensor(value):
            raise NotImportable(f"argument {index + 1} must be a tensor of the network")
        return value

    def marker(self, value):
        return self.markers.get(value) if isinstance(value, torch.fx.Node) else None

    def mark(self, node, marker) -> None:
        if marker is None:
            raise NotImportable("a size other than the batch's")
        self.markers[node] = marker

    def emit(self, kind: str, params: dict, inputs: list, node, weights=None) -> str:
        return self.b.emit(kind, params, inputs, node, weights)


def _tuple_handler(entry, module: nn.Module):
    """An LSTM/GRU called on one tensor, or self-attention called as attn(x, x, x): the layer,
    its result a tuple whose first item (torch_ops._getitem) is the layer's output."""
    def handler(ctx: Context, node) -> None:
        kind, params = entry(module)
        x = node.args[0] if node.args else None
        attention = kind == "MultiheadAttention"
        if not ctx.is_tensor(x) or (attention and (len(node.args) != 3 or any(
                a is not x for a in node.args))) or (not attention and len(node.args) != 1):
            raise NotImportable("self-attention called as attn(x, x, x), a recurrent layer on "
                                "one tensor (no initial state)" if attention or len(node.args)
                                else "called with other than the network's tensors")
        if set(node.kwargs) - {"need_weights", "average_attn_weights"}:
            raise NotImportable(f"with {', '.join(sorted(node.kwargs))}")
        state = {k: v.detach() for k, v in module.state_dict().items()}
        ctx.emit(kind, params, [x], (node, 0), weights=state or None)
        ctx.markers[node] = TUPLE
    return handler


def _module_handler(entry, module: nn.Module):
    def handler(ctx: Context, node) -> None:
        kind, params = entry(module)
        if len(node.args) != 1 or node.kwargs or not ctx.is_tensor(node.args[0]):
            raise NotImportable("called with other than one tensor")
        state = {k: v.detach() for k, v in module.state_dict().items()
                 if not k.endswith("num_batches_tracked")}
        ctx.emit(kind, params, [node.args[0]], node, weights=state or None)
    return handler

