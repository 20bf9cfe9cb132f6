"""The ONNX op table: each op the importer knows, mapped to a catalogue kind (`OPS`).

A handler reads one node's attributes and constant inputs (weights) and emits one Layerwise
node through the GraphBuilder, or raises NotImportable saying why this use of the op has no
kind (asymmetric padding, a constant operand, an axis through the batch). Axes in ONNX count the
batch; shapes in the builder do not.
"""
from __future__ import annotations

import numpy as np

from engine.io import onnx_layout, onnx_recurrent
from engine.io.onnx_layout import FOLD
from engine.io.import_common import GraphBuilder, NotImportable

DOMAINS = ("", "ai.onnx")


class Context:
    """What a handler sees: the builder, the constants (initializers and folded Constant ops),
    the opset, and how many nodes read each value; what engine.io.onnx_layout follows without
    a kind: `views` (transposed values), `zeros` (zero tensors), `atoms` (the axes of a
    recurrent layer's output); `folded`, the bytes of constants folded so far, within
    `fold_budget` (engine.io.onnx_layout.afford) for a file of `file_bytes`."""

    def __init__(self, builder: GraphBuilder, consts: dict, opset: int, graph,
                 file_bytes: int = 0):
        self.b = builder
        self.consts = consts
        self.opset = opset
        self.folded = 0
        self.fold_budget = onnx_layout.FOLD_ROOM + onnx_layout.FOLD_PER_BYTE * file_bytes
        self.readers: dict[str, int] = {}
        self.shape_readers: dict[str, int] = {}      # of those, Shape ops (sizes only)
        self.views: dict[str, onnx_layout.View] = {}
        self.zeros: set[str] = set()
        self.atoms: dict[str, tuple] = {}
        for node in graph.node:
            for name in node.input:
                self.readers[name] = self.readers.get(name, 0) + 1
                if node.op_type == "Shape":
                    self.shape_readers[name] = self.shape_readers.get(name, 0) + 1
        for out in graph.output:
            self.readers[out.name] = self.readers.get(out.name, 0) + 1

    def convert(self, node, index: int) -> None:
        name = node.name or (node.output[0] if node.output else f"#{index}")
        op = node.op_type if node.domain in DOMAINS else f"{node.domain}.{node.op_type}"
        values = [v for v in node.input if v and v not in self.consts]
        if node.domain in DOMAINS and node.op_type in FOLD and self._all_const(node):
            handler = FOLD[node.op_type]
        else:
            handler = onnx_layout.intercept(self, node) if node.domain in DOMAINS else None
            if handler is None and node.op_type in onnx_layout.FOLLOWED and \
                    any(v in self.b.broken for v in values):
                handler = onnx_layout.skipped       # fed by a refused op: skipped silently
            if handler is None and node.domain in DOMAINS:
                handler = OPS.get(node.op_type)
        self.b.handle(name, op, values, list(node.output),
                      None if handler is None else lambda: onnx_layout.guarded(handler, self, node))

    def _all_const(self, node) -> bool:
        return all(not v or v in self.consts for v in node.input)

    # ------------------------------------------------------------------ helpers
    def attr(self, node, name: str, default=None):
        import onnx
        for a in node.attribute:
            if a.name == name:
                value = onnx.helper.get_attribute_value(a)
                if not isinstance(value, bytes):
                    return value
                try:
                    return value.decode()
                except UnicodeDecodeError:
                    raise NotImportable(f"its attribute {name} is not text") from None
        return default

    def const(self, node, i: int, required: bool = True):
        name = node.input[i] if i < len(node.input) else ""
        if not name:
            if required:
                raise NotImportable("an input is missing")
            return None
        if name not in self.consts:
            raise NotImportable(f"input {i + 1} must be a constant (weights), not computed")
        return self.consts[name]

    def value(self, node, i: int = 0) -> str:
        name = node.input[i] if i < len(node.input) else ""
        if name in self.views:
            return onnx_layout.resolve(self, name)
        if not name or name in self.consts or not self.b.known(name):
            raise NotImportable(f"input {i + 1} must be computed from the network's input")
        return name

    def rank(self, value: str) -> int:
        return len(self.b.shape(value))

    def only_first_output(self, node) -> None:
        if any(self.readers.get(o, 0) for o in node.output[1:] if o):
            raise NotImportable("its second output is used")

    def emit(self, node, kind: str, params: dict, inputs=None, weights=None) -> str:
        self.only_first_output(node)
        return self.b.emit(kind, params, inputs or [self.value(node)], node.output[0], weights)


# ----------------------------------------------------------------------------- small helpers

def _pair(values) -> int | list[int]:
    values = [int(v) for v in values]
    return values[0] if len(set(values)) == 1 else values


def _pads(ctx: Context, node, spatial: int) -> list[int]:
    auto = ctx.attr(node, "auto_pad", "NOTSET")
    if auto not in ("NOTSET", "VALID"):
        raise NotImportable(f"auto_pad {auto} (give explicit pads)")
    pads = list(ctx.attr(node, "pads", [0] * 2 * spatial))
    if pads[:spatial] != pads[spatial:]:
        raise NotImportable(f"asymmetric padding {pads}")
    return pads[:spatial]


def _window(ctx: Context, node, spatial: int, kernel) -> dict:
    """kernel_size, stride, padding, dilation of a convolution or pooling window."""
    one = [1] * spatial
    return dict(kernel_size=list(kernel), stride=list(ctx.attr(node, "strides", one)),
                padding=_pads(ctx, node, spatial), dilation=list(ctx.attr(node, "dilations", one)))


def _shaped(window: dict, spatial: int) -> dict:
    """Window sizes as the kind takes them: ints for 1-D kinds, an int or a pair for 2-D."""
    if spatial == 1:
        return {k: int(v[0]) for k, v in window.items()}
    return {k: _pair(v) for k, v in window.items()}


def _spatial(ctx: Context, node, allowed=(1, 2)) -> int:
    spatial = ctx.rank(ctx.value(node)) - 1
    if spatial not in allowed:
        raise NotImportable(f"on {spatial}-D data (Layerwise has "
                            f"{' and '.join(f'{d}-D' for d in allowed)})")
    return spatial


def _sample_axis(ctx: Context, value: str, axis: int) -> int:
    """An ONNX axis (counting the batch) as a kind's dim: 1.. or negative; never the batch."""
    rank = ctx.rank(value) + 1
    full = axis + rank if axis < 0 else axis
    if full == 0:
        raise NotImportable("works across the batch")
    return axis


# ----------------------------------------------------------------------------- activations

def _activation(kind: str, params=lambda ctx, node: {}):
    def handler(ctx: Context, node) -> None:
        ctx.emit(node, kind, params(ctx, node))
    return handler


def _float(name: str, default: float):
    return lambda ctx, node: _short(ctx.attr(node, name, default))


def _short(value) -> float:
    """A float attribute (stored as float32) as the number it was written as: 0.2, not
    0.20000000298023224."""
    return float(str(np.float32(value)))


def _softmax(ctx: Context, node) -> None:
    x = ctx.value(node)
    rank = ctx.rank(x) + 1
    axis = int(ctx.attr(node, "axis", -1 if ctx.opset >= 13 else 1))
    if ctx.opset < 13 and (axis + rank) % rank != rank - 1:
        raise NotImportable("softmax over several flattened axes (opset before 13)")
    ctx.emit(node, "Softmax", {"dim": _sample_axis(ctx, x, axis)})


def _gelu(ctx: Context, node) -> None:
    ctx.emit(node, "GELU", {"approximate": ctx.attr(node, "approximate", "none")})


def _prelu(ctx: Context, node) -> None:
    x, slope = ctx.value(node), ctx.const(node, 1)
    n = slope.size
    channels = ctx.b.shape(x)[0]
    if n != 1 and (n != channels or max(slope.shape) != n):
        raise NotImportable(f"slopes of shape {list(slope.shape)} (one, or one per channel)")
    ctx.emit(node, "PReLU", {"num_parameters": int(n), "init": 0.25},
             weights={"weight": slope.reshape(n)})


# ----------------------------------------------------------------------------- dense, conv

def _gemm(ctx: Context, node) -> None:
    x, w = ctx.value(node), ctx.const(node, 1)
    if ctx.attr(node, "transA", 0) or w.ndim != 2 or ctx.rank(x) != 1:
        raise NotImportable("only x·Wᵀ + b on vectors maps to Linear")
    w = (w if ctx.attr(node, "transB", 0) else w.T) * ctx.attr(node, "alpha", 1.0)
    weights = {"weight": w}
    c = ctx.const(node, 2, required=False)
    if c is not None:
        if c.size not in (1, w.shape[0]):
            raise NotImportable(f"a bias of shape {list(c.shape)}")
        weights["bias"] = np.broadcast_to(c.reshape(-1), (w.shape[0],)) * ctx.attr(node, "beta", 1.0)
    ctx.emit(node, "Linear", {"out_features": int(w.shape[0]), "bias": c is not None},
             weights=weights)


def _matmul(ctx: Context, node) -> None:
    x, w = ctx.value(node), ctx.const(node, 1)
    if w.ndim != 2 or ctx.rank(x) != 1:
        raise NotImportable("only a vector times a constant matrix maps to Linear")
    ctx.emit(node, "Linear", {"out_features": int(w.shape[1]), "bias": False},
             weights={"weight": w.T})


def _conv(ctx: Context, node) -> None:
    spatial = _spatial(ctx, node)
    w, bias = ctx.const(node, 1), ctx.const(node, 2, required=False)
    params = _shaped(_window(ctx, node, spatial, w.shape[2:]), spatial)
    params.update(out_channels=int(w.shape[0]), groups=int(ctx.attr(node, "group", 1)),
                  bias=bias is not None)
    ctx.emit(node, "Conv2d" if spatial == 2 else "Conv1d", params,
             weights=_with_bias(w, bias))


def _conv_transpose(ctx: Context, node) -> None:
    _spatial(ctx, node, (2,))
    if ctx.attr(node, "output_shape") is not None:
        raise NotImportable("an explicit output_shape (give pads and output_padding)")
    w, bias = ctx.const(node, 1), ctx.const(node, 2, required=False)
    groups = int(ctx.attr(node, "group", 1))
    params = _shaped(_window(ctx, node, 2, w.shape[2:]), 2)
    params.update(out_channels=int(w.shape[1]) * groups, groups=groups, bias=bias is not None,
                  output_padding=_pair(ctx.attr(node, "output_padding", [0, 0])))
    ctx.emit(node, "ConvTranspose2d", params, weights=_with_bias(w, bias))


def _with_bias(w, bias) -> dict:
    return {"weight": w} if bias is None else {"weight": w, "bias": bias}


# ----------------------------------------------------------------------------- pooling

def _pool_window(ctx: Context, node, spatial: int) -> dict:
    """A pooling window; stride None (the kind's "same as kernel_size") when it is."""
    params = _shaped(_window(ctx, node, spatial, ctx.attr(node, "kernel_shape")), spatial)
    if params["stride"] == params["kernel_size"]:
        params["stride"] = None
    return params


def _max_pool(ctx: Context, node) -> None:
    spatial = _spatial(ctx, node)
    params = _pool_window(ctx, node, spatial)
    params["ceil_mode"] = bool(ctx.attr(node, "ceil_mode", 0))
    ctx.emit(node, f"MaxPool{spatial}d", params)


def _avg_pool(ctx: Context, node) -> None:
    spatial = _spatial(ctx, node)
    params = _pool_window(ctx, node, spatial)
    if params.pop("dilation") not in (1, [1, 1]):
        raise NotImportable("a dilated averaging window")
    params["ceil_mode"] = bool(ctx.attr(node, "ceil_mode", 0))
    params["count_include_pad"] = bool(ctx.attr(node, "count_include_pad", 0))
    ctx.emit(node, f"AvgPool{spatial}d", params)


def _global_avg(ctx: Context, node) -> None:
    _spatial(ctx, node, (2,))
    ctx.emit(node, "AdaptiveAvgPool2d", {"output_size": 1})


def _reduce_mean(ctx: Context, node) -> None:
    x = ctx.value(node)
    axes = ctx.attr(node, "axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = ctx.const(node, 1).tolist()
    rank = ctx.rank(x) + 1
    if rank != 4 or sorted((a + rank) % rank for a in axes or []) != [2, 3]:
        raise NotImportable("only the mean over an image's height and width maps to "
                            "AdaptiveAvgPool2d")
    if ctx.attr(node, "keepdims", 1):
        ctx.emit(node, "AdaptiveAvgPool2d", {"output_size": 1})
        return
    pooled = ("pooled", node.output[0])
    ctx.b.emit("AdaptiveAvgPool2d", {"output_size": 1}, [x], pooled)
    ctx.b.emit("Flatten", {}, [pooled], node.output[0])


# ----------------------------------------------------------------------------- normalisation

def _batch_norm(ctx: Context, node) -> None:
    if ctx.attr(node, "training_mode", 0):
        raise NotImportable("batch normalisation in training mode")
    x = ctx.value(node)
    kind = {1: "BatchNorm1d", 2: "BatchNorm1d", 3: "BatchNorm2d"}.get(ctx.rank(x))
    if kind is None:
        raise NotImportable(f"on data of shape {list(ctx.b.shape(x))}")
    names = ("weight", "bias", "running_mean", "running_var")
    weights = {n: ctx.const(node, i + 1) for i, n in enumerate(names)}
    momentum = min(max(_short(1.0 - _short(ctx.attr(node, "momentum", 0.9))), 0.0), 1.0)
    ctx.emit(node, kind, {"eps": _short(ctx.attr(node, "epsilon", 1e-5)),
                          "momentum": momentum, "affine": True}, weights=weights)


def _layer_norm(ctx: Context, node) -> None:
    x = ctx.value(node)
    rank = ctx.rank(x) + 1
    axis = int(ctx.attr(node, "axis", -1))
    dims = rank - axis if axis >= 0 else -axis
    if not 1 <= dims < rank:
        raise NotImportable("normalisation across the batch")
    scale = ctx.const(node, 1)
    bias = ctx.const(node, 2, required=False)
    shape = ctx.b.shape(x)[-dims:]
    weights = {"weight": np.broadcast_to(scale, shape),
               "bias": np.zeros(shape, np.float32) if bias is None else np.broadcast_to(bias, shape)}
    ctx.emit(node, "LayerNorm", {"dims": dims, "eps": _short(ctx.attr(node, "epsilon", 1e-5)),
                                 "elementwise_affine": True}, weights=weights)


# ----------------------------------------------------------------------------- merges

def _merge(kind: str):
    def handler(ctx: Context, node) -> None:
        consts = [v for v in node.input if v in ctx.consts]
        if consts:
            if kind == "Add" and len(node.input) == 2 and _fold_bias(ctx, node):
                return
            raise NotImportable("with a constant operand")
        values = [ctx.value(node, i) for i in range(len(node.input))]
        shapes = {ctx.b.shape(v) for v in values}
        if len(shapes) > 1:
            raise NotImportable(f"broadcasting {', '.join(map(str, map(list, shapes)))}")
        if len(values) == 1:
            ctx.b.alias(node.output[0], values[0])
            return
        ctx.emit(node, kind, {}, inputs=values)
    return handler


def _fold_bias(ctx: Context, node) -> bool:
    """x·W (+ b): an Add of a constant right after a bias-less Linear or convolution that
    nothing else reads becomes that layer's bias."""
    value = next(v for v in node.input if v not in ctx.consts)
    bias = ctx.consts[next(v for v in node.input if v in ctx.consts)]
    layer = ctx.b.node_of.get(value)
    if layer is None or ctx.readers.get(value, 0) != 1:
        return False
    spec_node = ctx.b.spec.nodes[layer]
    if spec_node.kind not in ("Linear", "Conv1d", "Conv2d", "ConvTranspose2d") or \
            spec_node.params["bias"]:
        return False
    shape = ctx.b.shapes[layer]
    width = shape[0]
    expected = (width,) if len(shape) == 1 else (width,) + (1,) * (len(shape) - 1)
    if bias.shape not in (expected, (1,) + expected, (width,) * (len(shape) == 1)):
        return False
    ctx.b.spec.set_param(layer, "bias", True)
    ctx.b.weights[layer]["bias"] = bias.reshape(width)
    ctx.b.alias(node.output[0], value)
    return True


def _concat(ctx: Context, node) -> None:
    values = [ctx.value(node, i) for i in range(len(node.input))]
    axis = _sample_axis(ctx, values[0], int(ctx.attr(node, "axis")))
    if len(values) == 1:
        ctx.b.alias(node.output[0], values[0])
        return
    ctx.emit(node, "Concat", {"dim": axis}, inputs=values)


# ----------------------------------------------------------------------------- reshaping

def _pass_through(ctx: Context, node) -> None:
    ctx.only_first_output(node)
    ctx.b.alias(node.output[0], ctx.value(node))


def _to_shape(ctx: Context, node, target: list[int]) -> None:
    """Reshape each sample to `target` (the batch excluded): nothing, Flatten or Reshape."""
    x = ctx.value(node)
    shape = tuple(ctx.b.shape(x))
    if tuple(target) == shape:
        ctx.b.alias(node.output[0], x)
    elif len(target) == 1:
        ctx.emit(node, "Flatten", {})
    else:
        ctx.emit(node, "Reshape", {"shape": list(target)})


def _reshape(ctx: Context, node) -> None:
    x = ctx.value(node)
    shape = list(ctx.b.shape(x))
    target = [int(d) for d in ctx.const(node, 1).reshape(-1)]
    if not ctx.attr(node, "allowzero", 0):
        target = [([-2] + shape)[i] if d == 0 and i <= len(shape) else d
                  for i, d in enumerate(target)]
    head, rest = target[0], target[1:]
    head = -2 if head == onnx_layout.BATCH else head        # the batch's size, from Shape
    if head not in (-1, -2) or rest.count(-1) + (head == -1) > 1 or not rest:
        raise NotImportable(f"to {target}: the first dimension must stay the batch")
    numel = int(np.prod(shape))
    if -1 in rest:
        known = int(np.prod([d for d in rest if d != -1]))
        rest = [numel // known if d == -1 else d for d in rest]
    if int(np.prod(rest)) != numel or min(rest) < 1:
        raise NotImportable(f"to {target}: it would mix samples of the batch")
    _to_shape(ctx, node, rest)


def _flatten(ctx: Context, node) -> None:
    if int(ctx.attr(node, "axis", 1)) != 1:
        raise NotImportable("flattening other than after the batch dimension")
    ctx.emit(node, "Flatten", {})


def _squeeze(unsqueeze: bool):
    def handler(ctx: Context, node) -> None:
        x = ctx.value(node)
        axes = ctx.attr(node, "axes")
        if axes is None:
            axes = ctx.const(node, 1).reshape(-1).tolist()
        shape = [None] + list(ctx.b.shape(x))
        rank = len(shape) + (len(axes) if unsqueeze else 0)
        axes = sorted((int(a) + rank) % rank for a in axes)
        if 0 in axes or (not unsqueeze and any(shape[a] != 1 for a in axes)):
            raise NotImportable("on the batch dimension or a dimension that is not 1")
        for a in (axes if unsqueeze else reversed(axes)):
            shape.insert(a, 1) if unsqueeze else shape.pop(a)
        _to_shape(ctx, node, shape[1:])
    return handler


def _resize(ctx: Context, node) -> None:
    x = ctx.value(node)
    _spatial(ctx, node, (2,))
    scales = ctx.const(node, 2, required=False)
    if scales is None or scales.size == 0:
        sizes = ctx.const(node, 3)
        scales = sizes[2:] / np.array(ctx.b.shape(x)[1:])
        scales = np.concatenate([[1, 1], scales])
    mode = ctx.attr(node, "mode", "nearest")
    how = ctx.attr(node, "coordinate_transformation_mode", "half_pixel")
    ok = (mode == "nearest" and how == "asymmetric" and
          ctx.attr(node, "nearest_mode", "round_prefer_floor") == "floor") or \
         (mode == "linear" and how in ("half_pixel", "pytorch_half_pixel"))
    whole = [int(s) for s in scales[2:]]
    if not ok or list(scales[:2]) != [1, 1] or list(scales[2:]) != whole or min(whole) < 1:
        raise NotImportable(f"{mode} resizing by {list(scales)} ({how})")
    ctx.emit(node, "Upsample", {"scale_factor": _pair(whole),
                                "mode": "nearest" if mode == "nearest" else "bilinear"})


def _gather(ctx: Context, node) -> None:
    if node.input and node.input[0] not in ctx.consts:
        return onnx_recurrent.last_step(ctx, node)
    table = ctx.const(node, 0)
    ids = ctx.value(node, 1)
    if int(ctx.attr(node, "axis", 0)) != 0 or table.ndim != 2:
        raise NotImportable("only looking up rows of a constant table maps to Embedding")
    ctx.emit(node, "Embedding", {"num_embeddings": int(table.shape[0]),
                                 "embedding_dim": int(table.shape[1])},
             inputs=[ids], weights={"weight": table})


OPS = {
    "Relu": _activation("ReLU"), "Sigmoid": _activation("Sigmoid"),
    "Tanh": _activation("Tanh"), "Softsign": _activation("Softsign"),
    "Softplus": _activation("Softplus"), "Mish": _activation("Mish"),
    "LeakyRelu": _activation("LeakyReLU", lambda c, n: {"negative_slope":
                                                        _float("alpha", 0.01)(c, n)}),
    "Elu": _activation("ELU", lambda c, n: {"alpha": _float("alpha", 1.0)(c, n)}),
    "Gelu": _gelu, "PRelu": _prelu, "Softmax": _softmax,
    "Gemm": _gemm, "MatMul": _matmul, "Conv": _conv, "ConvTranspose": _conv_transpose,
    "MaxPool": _max_pool, "AveragePool": _avg_pool, "GlobalAveragePool": _global_avg,
    "ReduceMean": _reduce_mean, "BatchNormalization": _batch_norm,
    "LayerNormalization": _layer_norm,
    "Add": _merge("Add"), "Sum": _merge("Add"), "Mul": _merge("Multiply"), "Concat": _concat,
    "Identity": _pass_through, "Dropout": _pass_through, "Cast": _pass_through,
    "Reshape": _reshape, "Flatten": _flatten, "Squeeze": _squeeze(False),
    "Unsqueeze": _squeeze(True), "Resize": _resize, "Gather": _gather,
    "LSTM": onnx_recurrent.recurrent("LSTM"), "GRU": onnx_recurrent.recurrent("GRU"),
}
