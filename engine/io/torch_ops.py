"""The PyTorch op table for the torch.fx importer: torch.nn module types (`MODULES`), functions
(`FUNCTIONS`) and tensor methods (`METHODS`), each mapped to a catalogue kind.

A module handler returns (kind, params) and the importer copies the module's state dict into
the built layer (the catalogue builds the same torch.nn classes, so the keys match). A function
or method handler gets the fx node and the Context, and emits through it.
"""
from __future__ import annotations

import operator

import torch
import torch.nn.functional as F
from torch import nn

from engine.io.import_common import NotImportable

BATCH, SHAPE = "batch", "shape"     # markers: x.size(0) / x.shape[0], and x.size() / x.shape
TUPLE = "tuple"     # marker: a recurrent layer's (output, state) or attention's (output, weights)
STATE = "state"     # marker: what else such a tuple holds (unusable: refused where it is used)


def _pair(value) -> int | list[int]:
    values = [int(v) for v in (value if isinstance(value, (tuple, list)) else (value, value))]
    return values[0] if len(set(values)) == 1 else values


def _one(value) -> int:
    return int(value[0] if isinstance(value, (tuple, list)) else value)


# ----------------------------------------------------------------------------- modules

def _conv(m) -> tuple[str, dict]:
    if isinstance(m.padding, str) or m.padding_mode != "zeros":
        raise NotImportable(f"padding {m.padding!r} ({m.padding_mode}); give it as numbers")
    size = _one if isinstance(m, nn.Conv1d) else _pair
    params = dict(out_channels=m.out_channels, kernel_size=size(m.kernel_size),
                  stride=size(m.stride), padding=size(m.padding), dilation=size(m.dilation),
                  groups=m.groups, bias=m.bias is not None)
    if isinstance(m, nn.ConvTranspose2d):
        params["output_padding"] = _pair(m.output_padding)
    return type(m).__name__, params


def _stride(size, kernel, stride):
    """A pooling stride; None (the kind's "same as kernel_size") when it is."""
    if not stride or size(stride) == size(kernel):
        return None
    return size(stride)


def _pool(m) -> tuple[str, dict]:
    size = _pair if type(m).__name__.endswith("2d") else _one
    if getattr(m, "return_indices", False) or getattr(m, "divisor_override", None):
        raise NotImportable("return_indices or divisor_override")
    params = dict(kernel_size=size(m.kernel_size), stride=_stride(size, m.kernel_size, m.stride),
                  padding=size(m.padding), ceil_mode=bool(m.ceil_mode))
    if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d)):
        params["dilation"] = size(m.dilation)
    else:
        params["count_include_pad"] = bool(m.count_include_pad)
    return type(m).__name__, params


def _batch_norm(m) -> tuple[str, dict]:
    if not m.track_running_stats or m.momentum is None:
        raise NotImportable("without running statistics (track_running_stats, momentum)")
    return type(m).__name__, dict(eps=m.eps, momentum=m.momentum, affine=m.affine)


def _upsample(m) -> tuple[str, dict]:
    scale = m.scale_factor
    scales = list(scale) if isinstance(scale, (tuple, list)) else [scale, scale]
    if m.size is not None or any(s != int(s) for s in scales) or \
            m.mode not in ("nearest", "bilinear") or m.align_corners:
        raise NotImportable("only whole scale factors, nearest or bilinear (not align_corners)")
    return "Upsample", dict(scale_factor=_pair([int(s) for s in scales]), mode=m.mode)


def _embedding(m) -> tuple[str, dict]:
    if m.padding_idx is not None or m.max_norm is not None:
        raise NotImportable("padding_idx or max_norm")
    return "Embedding", dict(num_embeddings=m.num_embeddings, embedding_dim=m.embedding_dim)


def _softmax(m) -> tuple[str, dict]:
    if m.dim is None:
        raise NotImportable("without an explicit dim")
    return "Softmax", {"dim": m.dim}


def _layer_norm(m) -> tuple[str, dict]:
    affine = m.elementwise_affine and m.bias is not None
    if m.elementwise_affine and not affine:
        raise NotImportable("a scale without a bias")
    return "LayerNorm", dict(dims=len(m.normalized_shape), eps=m.eps,
                             elementwise_affine=bool(affine))


def _recurrent(m) -> tuple[str, dict]:
    if not m.batch_first or getattr(m, "proj_size", 0) or m.num_layers > 1 and m.dropout:
        raise NotImportable("only batch_first=True, without proj_size or dropout between layers")
    return type(m).__name__, dict(hidden_size=m.hidden_size, num_layers=m.num_layers,
                                  bidirectional=m.bidirectional, output="sequence", bias=m.bias)


def _attention(m) -> tuple[str, dict]:
    if not m.batch_first or not m._qkv_same_embed_dim or m.bias_k is not None or \
            m.add_zero_attn:
        raise NotImportable("only batch_first=True self-attention, without bias_k or "
                            "add_zero_attn")
    return "MultiheadAttention", dict(num_heads=m.num_heads, dropout=m.dropout,
                                      bias=m.in_proj_bias is not None)


def _named(kind: str, *names: str):
    return lambda m: (kind, {n: getattr(m, n) for n in names})


MODULES = {
    nn.Linear: lambda m: ("Linear", dict(out_features=m.out_features, bias=m.bias is not None)),
    nn.Conv1d: _conv, nn.Conv2d: _conv, nn.ConvTranspose2d: _conv,
    nn.MaxPool1d: _pool, nn.MaxPool2d: _pool, nn.AvgPool1d: _pool, nn.AvgPool2d: _pool,
    nn.AdaptiveAvgPool2d: lambda m: ("AdaptiveAvgPool2d", {"output_size": _pair(m.output_size)}),
    nn.Flatten: _named("Flatten", "start_dim", "end_dim"), nn.Identity: _named("Identity"),
    nn.ReLU: _named("ReLU"), nn.LeakyReLU: _named("LeakyReLU", "negative_slope"),
    nn.PReLU: lambda m: ("PReLU", {"num_parameters": m.num_parameters, "init": 0.25}),
    nn.ELU: _named("ELU", "alpha"), nn.Softplus: _named("Softplus", "beta", "threshold"),
    nn.Sigmoid: _named("Sigmoid"), nn.Tanh: _named("Tanh"), nn.Softsign: _named("Softsign"),
    nn.GELU: _named("GELU", "approximate"), nn.SiLU: _named("SiLU"), nn.Mish: _named("Mish"),
    nn.Softmax: _softmax, nn.Dropout: _named("Dropout", "p"),
    nn.Dropout2d: _named("Dropout2d", "p"),
    nn.BatchNorm1d: _batch_norm, nn.BatchNorm2d: _batch_norm, nn.LayerNorm: _layer_norm,
    nn.GroupNorm: _named("GroupNorm", "num_groups", "eps", "affine"),
    nn.Upsample: _upsample, nn.Embedding: _embedding,
}
# modules that give a tuple whose first item is their output (the rest is refused if used)
TUPLE_MODULES = {nn.LSTM: _recurrent, nn.GRU: _recurrent, nn.MultiheadAttention: _attention}


# ----------------------------------------------------------------------------- functions

def arg(node, index: int, name: str, default=None):
    """An argument of an fx call, given by position or by name."""
    if name in node.kwargs:
        return node.kwargs[name]
    return node.args[index] if len(node.args) > index else default


def _simple(kind: str, **named):
    """A function of one tensor with parameters {param: (position, argument name, default)}."""
    def handler(ctx, node) -> None:
        params = {p: arg(node, i, a, d) for p, (i, a, d) in named.items()}
        ctx.emit(kind, params, [ctx.tensor(node, 0)], node)
    return handler


def _merge(kind: str):
    def handler(ctx, node) -> None:
        if "alpha" in node.kwargs or len(node.args) != 2:
            raise NotImportable("with alpha or more than two operands")
        a, b = node.args
        if not all(ctx.is_tensor(v) for v in (a, b)):
            raise NotImportable("with a constant operand")
        if ctx.b.shape(a) != ctx.b.shape(b):
            raise NotImportable(f"broadcasting {list(ctx.b.shape(a))} and {list(ctx.b.shape(b))}")
        ctx.emit(kind, {}, [a, b], node)
    return handler


def _cat(ctx, node) -> None:
    tensors = list(arg(node, 0, "tensors"))
    if not all(ctx.is_tensor(v) for v in tensors):
        raise NotImportable("of something other than the network's tensors")
    ctx.emit("Concat", {"dim": int(arg(node, 1, "dim", 0))}, tensors, node)


def _flatten(method: bool):
    def handler(ctx, node) -> None:
        start, end = arg(node, 1, "start_dim", 0), arg(node, 2, "end_dim", -1)
        if start == 0:
            raise NotImportable("flattening the batch dimension too (give start_dim=1)")
        ctx.emit("Flatten", {"start_dim": start, "end_dim": end}, [ctx.tensor(node, 0)], node)
    return handler


def _reshape(ctx, node) -> None:
    x = ctx.tensor(node, 0)
    dims = list(node.args[1:])
    if len(dims) == 1 and isinstance(dims[0], (tuple, list, torch.Size)):
        dims = list(dims[0])
    if "shape" in node.kwargs or "size" in node.kwargs:
        dims = list(node.kwargs.get("shape") or node.kwargs.get("size"))
    shape = list(ctx.b.shape(x))
    numel = int(torch.tensor(shape).prod())
    rest = dims[1:]
    if not (ctx.marker(dims[0]) == BATCH or dims[0] == -1) or not rest or \
            not all(isinstance(d, int) for d in rest) or rest.count(-1) > (dims[0] != -1):
        raise NotImportable("to a shape whose first dimension is not the batch")
    if -1 in rest:
        known = int(torch.tensor([d for d in rest if d != -1]).prod())
        rest = [numel // known if d == -1 else d for d in rest]
    if int(torch.tensor(rest).prod()) != numel:
        raise NotImportable(f"to {rest}: it would mix samples of the batch")
    if rest == shape:
        ctx.b.alias(node, x)
    elif len(rest) == 1:
        ctx.emit("Flatten", {}, [x], node)
    else:
        ctx.emit("Reshape", {"shape": rest}, [x], node)


def _size(ctx, node) -> None:
    dim = arg(node, 1, "dim")
    ctx.mark(node, SHAPE if dim is None else BATCH if dim == 0 else None)


def _getitem(ctx, node) -> None:
    source, index = node.args
    if ctx.marker(source) == SHAPE and index == 0:
        ctx.mark(node, BATCH)
        return
    if ctx.marker(source) == TUPLE and index == 0:
        ctx.b.alias(node, (source, 0))
        return
    if ctx.marker(source) in (TUPLE, STATE):
        ctx.markers[node] = STATE      # a recurrent state or attention weights: fine unused
        return
    if ctx.is_tensor(source) and index == (slice(None), -1):
        _last_step(ctx, node, source)
        return
    raise NotImportable("indexing")


def _last_step(ctx, node, source) -> None:
    """x[:, -1] of a one-way recurrent layer's output sequence used nowhere else: the layer
    gives its last step's output instead (its output "last")."""
    layer = ctx.b.node_of[source]
    spec_node = ctx.b.spec.nodes[layer]
    if spec_node.kind not in ("LSTM", "GRU") or spec_node.params["bidirectional"] or \
            len(source.users) != 1:
        raise NotImportable("indexing (only x[:, -1] of a one-way LSTM or GRU used nowhere "
                            "else)")
    ctx.b.spec.set_param(layer, "output", "last")
    ctx.b.shapes[layer] = ctx.b.shapes[layer][1:]
    ctx.b.alias(node, source)


def _getattr(ctx, node) -> None:
    if arg(node, 1, "name") != "shape" or not ctx.is_tensor(node.args[0]):
        raise NotImportable("an attribute other than .shape")
    ctx.mark(node, SHAPE)


def _same(ctx, node) -> None:
    ctx.b.alias(node, ctx.tensor(node, 0))


def _dropout(ctx, node) -> None:
    ctx.emit("Dropout", {"p": float(arg(node, 1, "p", 0.5))}, [ctx.tensor(node, 0)], node)


def _window(kind: str, one_d: bool, dilation: bool):
    size = _one if one_d else _pair

    def handler(ctx, node) -> None:
        kernel = arg(node, 1, "kernel_size")
        params = dict(kernel_size=size(kernel), stride=_stride(size, kernel, arg(node, 2, "stride")),
                      padding=size(arg(node, 3, "padding", 0)))
        if dilation:
            params.update(dilation=size(arg(node, 4, "dilation", 1)),
                          ceil_mode=bool(arg(node, 5, "ceil_mode", False)))
            if arg(node, 6, "return_indices", False):
                raise NotImportable("return_indices")
        else:
            params.update(ceil_mode=bool(arg(node, 4, "ceil_mode", False)),
                          count_include_pad=bool(arg(node, 5, "count_include_pad", True)))
            if arg(node, 6, "divisor_override") is not None:
                raise NotImportable("divisor_override")
        ctx.emit(kind, params, [ctx.tensor(node, 0)], node)
    return handler


def _softmax_fn(ctx, node) -> None:
    dim = arg(node, 1, "dim")
    if dim is None:
        raise NotImportable("without an explicit dim")
    ctx.emit("Softmax", {"dim": int(dim)}, [ctx.tensor(node, 0)], node)


_RELU, _SIGMOID, _TANH = _simple("ReLU"), _simple("Sigmoid"), _simple("Tanh")
_ADD, _MUL = _merge("Add"), _merge("Multiply")

FUNCTIONS = {
    operator.add: _ADD, torch.add: _ADD, operator.mul: _MUL, torch.mul: _MUL,
    torch.cat: _cat, torch.concat: _cat, torch.flatten: _flatten(False),
    torch.reshape: _reshape, getattr: _getattr, operator.getitem: _getitem,
    F.relu: _RELU, torch.relu: _RELU, torch.sigmoid: _SIGMOID, F.sigmoid: _SIGMOID,
    torch.tanh: _TANH, F.tanh: _TANH, F.silu: _simple("SiLU"), F.mish: _simple("Mish"),
    F.gelu: _simple("GELU", approximate=(1, "approximate", "none")),
    F.leaky_relu: _simple("LeakyReLU", negative_slope=(1, "negative_slope", 0.01)),
    F.elu: _simple("ELU", alpha=(1, "alpha", 1.0)),
    F.softplus: _simple("Softplus", beta=(1, "beta", 1.0), threshold=(2, "threshold", 20.0)),
    F.softsign: _simple("Softsign"), F.softmax: _softmax_fn, torch.softmax: _softmax_fn,
    F.dropout: _dropout, F.max_pool2d: _window("MaxPool2d", False, True),
    F.avg_pool2d: _window("AvgPool2d", False, False),
    F.max_pool1d: _window("MaxPool1d", True, True),
    F.avg_pool1d: _window("AvgPool1d", True, False),
    F.adaptive_avg_pool2d: lambda ctx, node: ctx.emit(
        "AdaptiveAvgPool2d", {"output_size": _pair(arg(node, 1, "output_size"))},
        [ctx.tensor(node, 0)], node),
}

METHODS = {
    "relu": _RELU, "sigmoid": _SIGMOID, "tanh": _TANH, "softmax": _softmax_fn,
    "add": _ADD, "mul": _MUL, "flatten": _flatten(True), "view": _reshape,
    "reshape": _reshape, "size": _size, "contiguous": _same,
}
