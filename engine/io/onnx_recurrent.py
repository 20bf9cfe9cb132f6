"""ONNX LSTM and GRU as Layerwise's LSTM and GRU (one layer each; stacked ones are several).

ONNX keeps the gates in another order than PyTorch (LSTM: input, output, forget, cell against
input, forget, cell, output; GRU: update, reset, hidden against reset, update, new), and the
input and recurrent biases in one vector; the weights are reordered here. What PyTorch's
exporter writes around the op (the transposes to and from steps-first, the zero initial state)
is followed by engine.io.onnx_layout. The layer gives its output sequence, or, when only its
last hidden state is read (Y_h) or the sequence's last step is taken (Gather of step -1), its
'last' output; a bidirectional layer's sequence only (Layerwise's 'last' of one joins the
forward direction's last step with the backward direction's first, which ONNX's last state
is not).
"""
from __future__ import annotations

import numpy as np

from engine.io.import_common import NotImportable
from engine.io.onnx_layout import BATCH, View, base_groups, is_base, normal, view_of

GATES = {"LSTM": (4, [0, 2, 3, 1]), "GRU": (3, [1, 0, 2])}   # ONNX blocks in PyTorch's order
ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"]}


def recurrent(kind: str):
    def handler(ctx, node) -> None:
        hidden, dirs, layout = _attributes(ctx, node, kind)
        x = _sequence_input(ctx, node, layout)
        _zero_states(ctx, node, kind)
        steps, features = ctx.b.shape(x)
        weights, bias = _weights(ctx, node, kind, hidden, dirs, features)
        used = [bool(o) and ctx.readers.get(o, 0) > 0 for o in node.output]
        if any(used[2:]):
            raise NotImportable("its cell state output (Y_c) is used")
        if len(used) > 1 and used[0] and used[1]:
            raise NotImportable("both its sequence (Y) and its last state (Y_h) are used")
        last = len(used) > 1 and used[1]
        if last and dirs == 2:
            raise NotImportable("the last states (Y_h) of a bidirectional layer: Layerwise's "
                                "'last' output joins the forward direction's last step with "
                                "the backward direction's first")
        key = (kind, tuple(node.output))     # the layer's own value: no tensor's name
        ctx.b.emit(kind, {"hidden_size": hidden, "num_layers": 1, "bias": bias,
                          "bidirectional": dirs == 2, "output": "last" if last else "sequence"},
                   [x], key, weights)
        atom = {a: (key, a) for a in "SDH"}
        sizes = {"B": BATCH, atom["S"]: steps, atom["D"]: dirs, atom["H"]: hidden}
        S, D, B, H = (atom["S"],), (atom["D"],), ("B",), (atom["H"],)
        if last:      # Y_h: (directions, batch, hidden), of the (batch, hidden) output
            ctx.atoms[key] = ((B, D + H), sizes)
            groups = (D, B, H) if layout == 0 else (B, D, H)
        else:         # Y: (steps, directions, batch, hidden), of (batch, steps, dirs x hidden)
            ctx.atoms[key] = ((B, S, D + H), sizes)
            groups = (S, D, B, H) if layout == 0 else (B, S, D, H)
        _view(ctx, node.output[1 if last else 0], View(key, groups, sizes))
    return handler


def _view(ctx, name: str, view: View) -> None:
    if is_base(ctx, view):
        ctx.b.alias(name, view.base)
    else:
        ctx.views[name] = view


def _attributes(ctx, node, kind: str) -> tuple[int, int, int]:
    hidden = ctx.attr(node, "hidden_size")
    if not isinstance(hidden, int) or hidden < 1:
        raise NotImportable("its hidden_size is not given")
    direction = ctx.attr(node, "direction", "forward")
    if direction not in ("forward", "bidirectional"):
        raise NotImportable(f"direction {direction!r} (Layerwise's layers run forwards, or "
                            f"both ways)")
    dirs = 2 if direction == "bidirectional" else 1
    activations = ctx.attr(node, "activations")
    if activations is not None:
        names = [a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a)
                 for a in activations]
        if names != ACTIVATIONS[kind] * dirs:
            raise NotImportable(f"activations {names} (PyTorch's {ACTIVATIONS[kind]} only)")
    if ctx.attr(node, "clip") is not None:
        raise NotImportable("clipping of the cell's inputs")
    if kind == "LSTM" and ctx.attr(node, "input_forget", 0):
        raise NotImportable("coupled input and forget gates")
    if kind == "GRU" and not ctx.attr(node, "linear_before_reset", 0):
        raise NotImportable("linear_before_reset = 0 (PyTorch's GRU applies the reset gate "
                            "after the recurrent weights: linear_before_reset = 1)")
    layout = ctx.attr(node, "layout", 0)
    if layout not in (0, 1):
        raise NotImportable(f"layout {layout} (0: steps first, or 1: batch first)")
    return hidden, dirs, layout


def _sequence_input(ctx, node, layout: int) -> str:
    """The computed (batch, steps, features) value the layer reads."""
    name = node.input[0] if node.input else ""
    if layout == 1:
        x = ctx.value(node)
    else:
        view = view_of(ctx, name) if name else None
        base = base_groups(ctx, view.base) if view is not None else ()
        if view is None or len(base) != 3 or \
                normal(view) != normal(view, (base[1], base[0], base[2])):
            raise NotImportable("its input must be a batch-first sequence transposed to "
                                "steps first")
        x = view.base
    if len(ctx.b.shape(x)) != 2:
        raise NotImportable(f"its input has samples of shape {list(ctx.b.shape(x))}, not "
                            f"(steps, features)")
    return x


def _zero_states(ctx, node, kind: str) -> None:
    if len(node.input) > 4 and node.input[4]:
        raise NotImportable("sequence lengths (every sequence must run its full length)")
    for i in (5, 6) if kind == "LSTM" else (5,):
        v = node.input[i] if len(node.input) > i else ""
        if v and v not in ctx.zeros and not (v in ctx.consts and not np.any(ctx.consts[v])):
            raise NotImportable("an initial state that is not zeros")
    if kind == "LSTM" and len(node.input) > 7 and node.input[7]:
        raise NotImportable("peephole weights")


def _weights(ctx, node, kind: str, hidden: int, dirs: int, features: int):
    """PyTorch's weights from W, R and B (reordered gates); whether there is a bias."""
    gates, order = GATES[kind]
    w, r = ctx.const(node, 1), ctx.const(node, 2)
    b = ctx.const(node, 3, required=False)
    for name, array, want in (("W", w, (dirs, gates * hidden, features)),
                              ("R", r, (dirs, gates * hidden, hidden)),
                              ("B", b, (dirs, 2 * gates * hidden))):
        if array is not None and tuple(array.shape) != want:
            raise NotImportable(f"its {name} has shape {list(array.shape)}, not {list(want)}")

    def torch_order(m):
        blocks = np.split(np.asarray(m, dtype=np.float32), gates, axis=0)
        return np.concatenate([blocks[i] for i in order], axis=0)
    weights = {}
    for d in range(dirs):
        suffix = "_l0_reverse" if d else "_l0"
        weights["weight_ih" + suffix] = torch_order(w[d])
        weights["weight_hh" + suffix] = torch_order(r[d])
        if b is not None:
            weights["bias_ih" + suffix] = torch_order(b[d][:gates * hidden])
            weights["bias_hh" + suffix] = torch_order(b[d][gates * hidden:])
    return weights, b is not None


def _other_readers(ctx, layer: str) -> bool:
    """Whether the sequence of `layer` is read by more than the chain of transposes and
    reshapes that ends in one Gather: each value of the chain (a name of the layer's output,
    or a view of it) is read once, by the next link, Shape ops aside."""
    chain = [n for n, v in ctx.b.node_of.items() if v == layer and isinstance(n, str)]
    chain += [n for n, view in ctx.views.items() if ctx.b.node_of.get(view.base) == layer]
    reads = sum(ctx.readers.get(n, 0) - ctx.shape_readers.get(n, 0) for n in chain)
    return reads != len(chain)


def last_step(ctx, node) -> None:
    """Gather of the last step of a recurrent layer's sequence: that layer's 'last' output."""
    x = ctx.value(node)
    spec = ctx.b.spec
    layer = ctx.b.node_of[x]
    kind = spec.node(layer).kind
    index, axis = ctx.const(node, 1), int(ctx.attr(node, "axis", 0))
    params = spec.node(layer).params
    if kind not in GATES or params.get("output") != "sequence" or spec.outputs_of(layer):
        raise NotImportable("picking steps of a sequence: Layerwise takes the last step of "
                            "an LSTM or GRU only (its 'last' output)")
    if _other_readers(ctx, layer):
        raise NotImportable("the last step of a sequence that is read whole elsewhere too")
    steps = ctx.b.shape(x)[0]
    if axis not in (1, -2) or index.size != 1 or int(index.reshape(-1)[0]) not in (-1,
                                                                                   steps - 1):
        raise NotImportable("picking a step other than the last of a sequence")
    if params.get("bidirectional"):
        raise NotImportable("the last step of a bidirectional layer's sequence: Layerwise's "
                            "'last' output joins the forward direction's last step with the "
                            "backward direction's first")
    if index.ndim:
        raise NotImportable("keeping the step axis of the last step (index as a list)")
    ctx.only_first_output(node)
    spec.set_param(layer, "output", "last")
    ctx.b.shapes[layer] = (int(ctx.b.shape(x)[1]),)
    ctx.b.alias(node.output[0], x)
