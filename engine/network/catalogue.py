"""The layer catalogue: one `LayerKind` per kind, the single description of that kind.

Its parameter schema drives the GUI palette and inspector, file validation and the builder.
Kinds and arguments carry torch.nn names. Input sizes (in_features, in_channels, num_features)
are never parameters: they are inferred from the shape flowing in. This module does not import
torch (analysis runs on every edit and the GUI must start fast); builders import it when called.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from engine.network import shapes as S
from engine.network.schema import Param, size2
from engine.network.shapes import Shape, ShapeError

INIT_CHOICES = ("auto", "pytorch", "uniform", "xavier_uniform", "xavier_normal",
                "kaiming_uniform", "kaiming_normal")
INIT_HELP = ("weight initialisation: auto = He after a rectifier, Xavier after sigmoid/tanh/"
             "softsign, PyTorch's default otherwise; uniform = ±1/√fan_in (the early papers)")

CATEGORIES = ("Input", "Dense", "Convolution", "Pooling", "Reshape", "Activation",
              "Regularisation", "Normalisation", "Merge")


@dataclass(frozen=True)
class LayerKind:
    name: str
    category: str
    doc: str
    params: tuple[Param, ...]
    infer: Callable[[dict, list[Shape]], Shape]
    build: Callable[[dict, list[Shape]], Any] | None   # -> torch.nn.Module; None for Input
    count: Callable[[dict, list[Shape]], int] = lambda p, s: 0
    flops: Callable[[dict, list[Shape], Shape], int] = lambda p, s, o: 0
    min_inputs: int = 1
    max_inputs: int | None = 1          # None: any number
    family: str = ""                    # activations: "rectifier" or "saturating"
    bounds: tuple[float, float] | None = None   # saturating activations' output range
    transparent: bool = False           # seen through when 'auto' init looks for the next activation
    replaces: tuple[str, ...] = ()      # older names still read from files

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    @property
    def weighted(self) -> bool:
        """True for kinds whose weights take an `init` (Linear, Conv2d)."""
        return any(p.name == "init" and p.type == "choice" for p in self.params)

    def describe(self) -> dict:
        return {"name": self.name, "category": self.category, "doc": self.doc,
                "inputs": [self.min_inputs, self.max_inputs],
                "params": [p.describe() for p in self.params]}


def _nn():
    import torch.nn
    return torch.nn


# ----------------------------------------------------------------------------- parameters

def _int(name, default, help, lo=1, hi=None):
    return Param(name, "int", default, help, min=lo, max=hi)


def _float(name, default, help, lo=None, hi=None):
    return Param(name, "float", default, help, min=lo, max=hi)


def _bool(name, default, help):
    return Param(name, "bool", default, help)


def _size(name, default, help, lo=1, nullable=False, null_help=""):
    return Param(name, "size2", default, help, min=lo, nullable=nullable, null_help=null_help)


_BIAS = _bool("bias", True, "learn an additive bias")
_INIT = Param("init", "choice", "auto", INIT_HELP, choices=INIT_CHOICES)
_KERNEL = _size("kernel_size", 2, "window height and width")
_POOL_STRIDE = _size("stride", None, "step between windows", nullable=True,
                     null_help="same as kernel_size")
_POOL_PAD = _size("padding", 0, "implicit padding on each side", lo=0)
_CEIL = _bool("ceil_mode", False, "round the output size up instead of down")


# ----------------------------------------------------------------------------- Input

def _input_infer(p, shapes):
    return tuple(p["shape"])


# ----------------------------------------------------------------------------- Linear

def _linear_in(shapes) -> int:
    (shape,) = shapes
    return shape[-1]


def _linear_infer(p, shapes):
    """Linear takes a vector. PyTorch would apply it to the last dimension of a larger input
    (valid maths, but on an image it mixes only the pixels of each row and leaves a
    multi-dimensional output that no class count matches); a Flatten first is what is meant,
    as MATLAB's designer does by itself."""
    (shape,) = shapes
    if len(shape) > 1:
        raise ShapeError(f"received {S.fmt(shape)} but takes a vector of features: insert a "
                         f"Flatten before it (it makes the {S.numel(shape):,} values one "
                         f"vector)", insert="Flatten")
    return (p["out_features"],)


def _linear_count(p, shapes):
    return _linear_in(shapes) * p["out_features"] + (p["out_features"] if p["bias"] else 0)


def _linear_flops(p, shapes, out):
    return 2 * _linear_in(shapes) * S.numel(out)


def _linear_build(p, shapes):
    return _nn().Linear(_linear_in(shapes), p["out_features"], bias=p["bias"])


# ----------------------------------------------------------------------------- Conv2d

def _conv_infer(p, shapes):
    (shape,) = shapes
    S.need_image(shape)
    c = shape[0]
    g = p["groups"]
    if c % g or p["out_channels"] % g:
        raise ShapeError(f"has groups={g}, which must divide both its {c} input channels and "
                         f"its {p['out_channels']} output channels")
    h, w = S.window_2d(shape, p["kernel_size"], p["stride"], p["padding"], p["dilation"])
    return (p["out_channels"], h, w)


def _conv_weights(p, shapes):
    kh, kw = size2(p["kernel_size"])
    return p["out_channels"] * (shapes[0][0] // p["groups"]) * kh * kw


def _conv_count(p, shapes):
    return _conv_weights(p, shapes) + (p["out_channels"] if p["bias"] else 0)


def _conv_flops(p, shapes, out):
    return 2 * _conv_weights(p, shapes) * out[1] * out[2]


def _conv_build(p, shapes):
    return _nn().Conv2d(shapes[0][0], p["out_channels"], size2(p["kernel_size"]),
                        stride=size2(p["stride"]), padding=size2(p["padding"]),
                        dilation=size2(p["dilation"]), groups=p["groups"], bias=p["bias"])


# ----------------------------------------------------------------------------- pooling

def _stride(p):
    return p["kernel_size"] if p["stride"] is None else p["stride"]


def _maxpool_infer(p, shapes):
    (shape,) = shapes
    S.need_image(shape)
    S.need_pool_padding(p["kernel_size"], p["padding"])
    h, w = S.window_2d(shape, p["kernel_size"], _stride(p), p["padding"], p["dilation"],
                       p["ceil_mode"], what="pooling window")
    return (shape[0], h, w)


def _maxpool_build(p, shapes):
    return _nn().MaxPool2d(size2(p["kernel_size"]), stride=size2(_stride(p)),
                           padding=size2(p["padding"]), dilation=size2(p["dilation"]),
                           ceil_mode=p["ceil_mode"])


def _avgpool_infer(p, shapes):
    (shape,) = shapes
    S.need_image(shape)
    S.need_pool_padding(p["kernel_size"], p["padding"])
    h, w = S.window_2d(shape, p["kernel_size"], _stride(p), p["padding"], 1, p["ceil_mode"],
                       what="pooling window")
    return (shape[0], h, w)


def _avgpool_build(p, shapes):
    return _nn().AvgPool2d(size2(p["kernel_size"]), stride=size2(_stride(p)),
                           padding=size2(p["padding"]), ceil_mode=p["ceil_mode"],
                           count_include_pad=p["count_include_pad"])


def _adaptive_infer(p, shapes):
    (shape,) = shapes
    S.need_image(shape)
    return (shape[0],) + size2(p["output_size"])


def _adaptive_build(p, shapes):
    return _nn().AdaptiveAvgPool2d(size2(p["output_size"]))


# ----------------------------------------------------------------------------- reshape

def _flatten_infer(p, shapes):
    return S.flatten(shapes[0], p["start_dim"], p["end_dim"])


def _flatten_build(p, shapes):
    return _nn().Flatten(p["start_dim"], p["end_dim"])


# ----------------------------------------------------------------------------- element-wise

def _same(p, shapes):
    return shapes[0]


def _simple(cls_name: str, *arg_names: str):
    """A builder for a torch.nn class that takes exactly the named schema parameters."""
    def build(p, shapes):
        return getattr(_nn(), cls_name)(**{n: p[n] for n in arg_names})
    return build


def _prelu_infer(p, shapes):
    (shape,) = shapes
    n = p["num_parameters"]
    if n != 1 and (len(shape) < 1 or shape[0] != n):
        raise ShapeError(f"has num_parameters={n} but receives {S.fmt(shape)} with "
                         f"{shape[0]} channels: use 1 (shared) or the channel count")
    return shape


def _dropout2d_infer(p, shapes):
    S.need_image(shapes[0])
    return shapes[0]


# ----------------------------------------------------------------------------- batch norm

def _bn1d_infer(p, shapes):
    S.need_rank(shapes[0], (1, 2), "(features,) or (channels, length): flatten images first, "
                                   "or use BatchNorm2d")
    return shapes[0]


def _bn2d_infer(p, shapes):
    S.need_rank(shapes[0], (3,), "a (channels, height, width) image; use BatchNorm1d for "
                                 "feature vectors")
    return shapes[0]


def _bn_count(p, shapes):
    return 2 * shapes[0][0] if p["affine"] else 0


def _bn_build(cls_name):
    def build(p, shapes):
        return getattr(_nn(), cls_name)(shapes[0][0], eps=p["eps"], momentum=p["momentum"],
                                        affine=p["affine"])
    return build


_BN_PARAMS = (
    _float("eps", 1e-5, "added to the variance for numerical stability", lo=1e-12, hi=1.0),
    _float("momentum", 0.1, "weight of the current batch in the running statistics",
           lo=0.0, hi=1.0),
    _bool("affine", True, "learn a per-channel scale and shift"),
)


# ----------------------------------------------------------------------------- merges

def _add_infer(p, shapes):
    return S.same_shapes(shapes)


def _concat_infer(p, shapes):
    return S.concat(shapes, p["dim"])


def _add_build(p, shapes):
    from engine.network.modules import AddInputs
    return AddInputs()


def _concat_build(p, shapes):
    from engine.network.modules import ConcatInputs
    return ConcatInputs(p["dim"])


# ----------------------------------------------------------------------------- the catalogue

def _activation(name, doc, params=(), family="", bounds=None, build=None, infer=_same,
                count=lambda p, s: 0):
    return LayerKind(name, "Activation", doc, tuple(params), infer,
                     build or _simple(name, *(q.name for q in params)),
                     count=count, family=family, bounds=bounds)


_KINDS = [
    LayerKind("Input", "Input", "The data entering the network: one sample's shape, without the "
              "batch dimension.",
              (Param("shape", "shape", (1, 28, 28), "one sample's shape, e.g. [1, 28, 28] for an "
                     "MNIST image or [2] for a 2-D point", min=1),),
              _input_infer, None, min_inputs=0, max_inputs=0),
    LayerKind("Linear", "Dense", "Fully connected layer: every output is a weighted sum of all "
              "inputs plus a bias.",
              (_int("out_features", 100, "number of output units", hi=1_000_000), _BIAS, _INIT),
              _linear_infer, _linear_build, _linear_count, _linear_flops),
    LayerKind("Conv2d", "Convolution", "2-D convolution: small local filters shared across the "
              "image, one feature map per output channel.",
              (_int("out_channels", 6, "number of feature maps (filters)", hi=100_000),
               _size("kernel_size", 5, "filter height and width"),
               _size("stride", 1, "step between filter positions"),
               _size("padding", 0, "zeros added on each side", lo=0),
               _size("dilation", 1, "spacing between filter taps"),
               _int("groups", 1, "split channels into independent groups"),
               _BIAS, _INIT),
              _conv_infer, _conv_build, _conv_count, _conv_flops),
    LayerKind("MaxPool2d", "Pooling", "Keeps the largest value in each window (subsampling).",
              (_KERNEL, _POOL_STRIDE, _POOL_PAD, _size("dilation", 1, "spacing inside the window"),
               _CEIL),
              _maxpool_infer, _maxpool_build, transparent=True),
    LayerKind("AvgPool2d", "Pooling", "Averages each window (subsampling, as in LeNet).",
              (_KERNEL, _POOL_STRIDE, _POOL_PAD, _CEIL,
               _bool("count_include_pad", True, "count padded zeros in the average")),
              _avgpool_infer, _avgpool_build, transparent=True),
    LayerKind("AdaptiveAvgPool2d", "Pooling", "Averages each feature map down to a fixed size, "
              "whatever the input size.",
              (_size("output_size", 1, "output height and width"),),
              _adaptive_infer, _adaptive_build, transparent=True),
    LayerKind("Flatten", "Reshape", "Turns an image (channels, height, width) into one vector "
              "for Linear layers.",
              (_int("start_dim", 1, "first dimension to flatten (0 is the batch)", lo=-5, hi=4),
               _int("end_dim", -1, "last dimension to flatten (-1 is the last)", lo=-5, hi=4)),
              _flatten_infer, _flatten_build, transparent=True),
    _activation("ReLU", "Rectifier max(0, x): units are exactly off for negative input; "
                "gradient 1 on active paths.", family="rectifier"),
    _activation("LeakyReLU", "Rectifier with a small slope for negative input, so units are "
                "never fully off.",
                (_float("negative_slope", 0.01, "slope for negative input", lo=0.0, hi=1.0),),
                family="rectifier"),
    _activation("PReLU", "Rectifier whose negative slope is learned.",
                (_int("num_parameters", 1, "1 (one shared slope) or the number of channels"),
                 _float("init", 0.25, "initial negative slope", lo=0.0, hi=1.0)),
                family="rectifier", infer=_prelu_infer, count=lambda p, s: p["num_parameters"]),
    _activation("ELU", "Exponential linear unit: identity for x > 0, alpha·(eˣ − 1) below.",
                (_float("alpha", 1.0, "value approached for very negative input", lo=0.0),),
                family="rectifier"),
    _activation("Softplus", "Smooth rectifier log(1 + eˣ): never exactly zero, so no sparsity.",
                (_float("beta", 1.0, "sharpness", lo=1e-6),
                 _float("threshold", 20.0, "above beta·x > threshold it is linear", lo=0.0)),
                family="rectifier"),
    _activation("Sigmoid", "Logistic 1/(1 + e⁻ˣ) in (0, 1): saturates, so gradients shrink in "
                "deep stacks.", family="saturating", bounds=(0.0, 1.0)),
    _activation("Tanh", "Hyperbolic tangent in (−1, 1): zero-centred, but saturates.",
                family="saturating", bounds=(-1.0, 1.0)),
    _activation("Softsign", "x/(1 + |x|) in (−1, 1): saturates polynomially, more gently "
                "than tanh.", family="saturating", bounds=(-1.0, 1.0)),
    _activation("GELU", "Gaussian error linear unit: a smooth rectifier used in transformers.",
                (Param("approximate", "choice", "none", "exact or tanh approximation",
                       choices=("none", "tanh")),),
                family="rectifier"),
    LayerKind("Dropout", "Regularisation", "Randomly zeroes a fraction p of the units while "
              "training; does nothing at evaluation.",
              (_float("p", 0.5, "probability of zeroing a unit", lo=0.0, hi=1.0),),
              _same, _simple("Dropout", "p"), transparent=True),
    LayerKind("Dropout2d", "Regularisation", "Randomly zeroes whole feature maps while training.",
              (_float("p", 0.5, "probability of zeroing a feature map", lo=0.0, hi=1.0),),
              _dropout2d_infer, _simple("Dropout2d", "p"), transparent=True),
    LayerKind("BatchNorm1d", "Normalisation", "Normalises each feature over the batch, then "
              "scales and shifts it.", _BN_PARAMS, _bn1d_infer, _bn_build("BatchNorm1d"),
              _bn_count, transparent=True),
    LayerKind("BatchNorm2d", "Normalisation", "Normalises each feature map over the batch and "
              "the image, then scales and shifts it.", _BN_PARAMS, _bn2d_infer,
              _bn_build("BatchNorm2d"), _bn_count, transparent=True),
    LayerKind("Add", "Merge", "Adds its inputs element-wise (a residual connection); all must "
              "have the same shape.", (), _add_infer, _add_build, min_inputs=2, max_inputs=None),
    LayerKind("Concat", "Merge", "Joins its inputs along one dimension, in the order they are "
              "connected.",
              (_int("dim", 1, "dimension to join along (1 is channels or features; 0 is the "
                    "batch)", lo=-4, hi=4),),
              _concat_infer, _concat_build, min_inputs=2, max_inputs=None),
]

LAYERS: dict[str, LayerKind] = {k.name: k for k in _KINDS}
_ALIASES: dict[str, str] = {old: k.name for k in _KINDS for old in k.replaces}


def resolve_kind(name: str) -> LayerKind | None:
    """The kind called `name`, following renames; None if unknown."""
    return LAYERS.get(name) or LAYERS.get(_ALIASES.get(name, ""))


def by_category() -> dict[str, list[LayerKind]]:
    """Kinds grouped by category, in palette order."""
    groups: dict[str, list[LayerKind]] = {c: [] for c in CATEGORIES}
    for kind in _KINDS:
        groups[kind.category].append(kind)
    return groups
