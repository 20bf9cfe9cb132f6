"""The layer catalogue: one `LayerKind` per kind, the single description of that kind.

Its parameter schema drives the GUI palette and inspector, file validation and the builder.
Kinds and arguments carry torch.nn names. Input sizes (in_features, in_channels, num_features)
are never parameters: they are inferred from the shape flowing in. This module does not import
torch (analysis runs on every edit and the GUI must start fast); builders import it when called.
"""
from __future__ import annotations

from engine.network import shapes as S
from engine.network import kinds_decoder, kinds_sequence
from engine.network.kind import (BIAS, CEIL, INIT, KERNEL, POOL_PAD, POOL_STRIDE, LayerKind,
                                 activation_kind, bool_param, float_param, int_param, same_shape,
                                 from_args, simple_build, size_param, torch_nn)
from engine.network.schema import Param, size2
from engine.network.shapes import ShapeError

CATEGORIES = ("Input", "Dense", "Convolution", "Pooling", "Sequence", "Reshape", "Activation",
              "Regularisation", "Normalisation", "Merge")


# ----------------------------------------------------------------------------- Input

def _input_infer(p, shapes):
    return tuple(p["shape"])


# ----------------------------------------------------------------------------- Linear

def _linear_in(shapes) -> int:
    (shape,) = shapes
    return shape[-1]


def _linear_infer(p, shapes):
    """Linear takes a vector, or a (steps, features) sequence, which it maps step by step (a
    transformer's position-wise layer). PyTorch would apply it to the last dimension of an
    image too (valid maths, but it mixes only the pixels of each row and leaves a
    multi-dimensional output that no class count matches); a Flatten first is what is meant,
    as MATLAB's designer does by itself."""
    (shape,) = shapes
    if len(shape) == 2:
        return (shape[0], p["out_features"])
    if len(shape) > 2:
        raise ShapeError(f"received {S.fmt(shape)} but takes a vector of features: insert a "
                         f"Flatten before it (it makes the {S.numel(shape):,} values one "
                         f"vector)", insert="Flatten")
    return (p["out_features"],)


def _linear_count(p, shapes):
    return _linear_in(shapes) * p["out_features"] + (p["out_features"] if p["bias"] else 0)


def _linear_flops(p, shapes, out):
    return 2 * _linear_in(shapes) * S.numel(out)


def _linear_build(p, shapes):
    return torch_nn().Linear(_linear_in(shapes), p["out_features"], bias=p["bias"])


# ----------------------------------------------------------------------------- Conv2d

def _conv_infer(p, shapes):
    (shape,) = shapes
    S.need_image(shape)
    S.need_groups(shape[0], p["out_channels"], p["groups"])
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
    return torch_nn().Conv2d(shapes[0][0], p["out_channels"], size2(p["kernel_size"]),
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
    return torch_nn().MaxPool2d(size2(p["kernel_size"]), stride=size2(_stride(p)),
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
    return torch_nn().AvgPool2d(size2(p["kernel_size"]), stride=size2(_stride(p)),
                           padding=size2(p["padding"]), ceil_mode=p["ceil_mode"],
                           count_include_pad=p["count_include_pad"])


def _adaptive_infer(p, shapes):
    (shape,) = shapes
    S.need_image(shape)
    return (shape[0],) + size2(p["output_size"])


def _adaptive_build(p, shapes):
    return torch_nn().AdaptiveAvgPool2d(size2(p["output_size"]))


# ----------------------------------------------------------------------------- reshape

def _flatten_infer(p, shapes):
    return S.flatten(shapes[0], p["start_dim"], p["end_dim"])


def _flatten_build(p, shapes):
    return torch_nn().Flatten(p["start_dim"], p["end_dim"])


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
        return getattr(torch_nn(), cls_name)(shapes[0][0], eps=p["eps"], momentum=p["momentum"],
                                        affine=p["affine"])
    return build


_BN_PARAMS = (
    float_param("eps", 1e-5, "added to the variance for numerical stability", lo=1e-12, hi=1.0),
    float_param("momentum", 0.1, "weight of the current batch in the running statistics",
           lo=0.0, hi=1.0),
    bool_param("affine", True, "learn a per-channel scale and shift"),
)


def _layernorm_infer(p, shapes):
    (shape,) = shapes
    if p["dims"] > len(shape):
        raise ShapeError(f"normalises over its last {p['dims']} dimensions but receives "
                         f"{S.fmt(shape)}: lower dims to at most {len(shape)}")
    return shape


def _layernorm_args(p, shapes) -> tuple[tuple, dict]:
    return ((tuple(shapes[0][-p["dims"]:]),),
            dict(eps=p["eps"], elementwise_affine=p["elementwise_affine"]))


def _groupnorm_infer(p, shapes):
    (shape,) = shapes
    S.need_rank(shape, (1, 2, 3), "(channels,), (channels, length) or (channels, height, "
                                  "width)")
    if shape[0] % p["num_groups"]:
        raise ShapeError(f"splits {shape[0]} channels into {p['num_groups']} groups, which must "
                         f"divide them: change num_groups")
    return shape


def _groupnorm_args(p, shapes) -> tuple[tuple, dict]:
    return (p["num_groups"], shapes[0][0]), dict(eps=p["eps"], affine=p["affine"])


def _softmax_infer(p, shapes):
    (shape,) = shapes
    dim = p["dim"]
    if not (1 <= dim <= len(shape) or -len(shape) <= dim <= -1):
        raise ShapeError(f"normalises along dim {dim} but receives {S.fmt(shape)}, whose "
                         f"dims are 1..{len(shape)} (0 is the batch)")
    return shape


_LAYERNORM = from_args("LayerNorm", _layernorm_args)
_GROUPNORM = from_args("GroupNorm", _groupnorm_args)
_EPS = float_param("eps", 1e-5, "added to the variance for numerical stability", lo=1e-12, hi=1.0)


# ----------------------------------------------------------------------------- merges

def _add_infer(p, shapes):
    return S.same_shapes(shapes)


def _concat_infer(p, shapes):
    return S.concat(shapes, p["dim"])


def _add_build(p, shapes):
    from engine.network.modules import AddInputs
    return AddInputs()


def _multiply_build(p, shapes):
    from engine.network.modules import MultiplyInputs
    return MultiplyInputs()


def _concat_build(p, shapes):
    from engine.network.modules import ConcatInputs
    return ConcatInputs(p["dim"])


# ----------------------------------------------------------------------------- the catalogue

_KINDS = [
    LayerKind("Input", "Input", "The data entering the network: one sample's shape, without the "
              "batch dimension.",
              (Param("shape", "shape", (1, 28, 28), "one sample's shape, e.g. [1, 28, 28] for an "
                     "MNIST image or [2] for a 2-D point", min=1),),
              _input_infer, None, min_inputs=0, max_inputs=0),
    LayerKind("Linear", "Dense", "Fully connected layer: every output is a weighted sum of all "
              "inputs plus a bias (on a (steps, features) sequence, of each step's features).",
              (int_param("out_features", 100, "number of output units", hi=1_000_000), BIAS, INIT),
              _linear_infer, _linear_build, _linear_count, _linear_flops),
    LayerKind("Conv2d", "Convolution", "2-D convolution: small local filters shared across the "
              "image, one feature map per output channel.",
              (int_param("out_channels", 6, "number of feature maps (filters)", hi=100_000),
               size_param("kernel_size", 5, "filter height and width"),
               size_param("stride", 1, "step between filter positions"),
               size_param("padding", 0, "zeros added on each side", lo=0),
               size_param("dilation", 1, "spacing between filter taps"),
               int_param("groups", 1, "split channels into independent groups"),
               BIAS, INIT),
              _conv_infer, _conv_build, _conv_count, _conv_flops),
    LayerKind("MaxPool2d", "Pooling", "Keeps the largest value in each window (subsampling).",
              (KERNEL, POOL_STRIDE, POOL_PAD,
               size_param("dilation", 1, "spacing inside the window"),
               CEIL),
              _maxpool_infer, _maxpool_build, transparent=True),
    LayerKind("AvgPool2d", "Pooling", "Averages each window (subsampling, as in LeNet).",
              (KERNEL, POOL_STRIDE, POOL_PAD, CEIL,
               bool_param("count_include_pad", True, "count padded zeros in the average")),
              _avgpool_infer, _avgpool_build, transparent=True),
    LayerKind("AdaptiveAvgPool2d", "Pooling", "Averages each feature map down to a fixed size, "
              "whatever the input size.",
              (size_param("output_size", 1, "output height and width"),),
              _adaptive_infer, _adaptive_build, transparent=True),
    LayerKind("Flatten", "Reshape", "Turns an image (channels, height, width) into one vector "
              "for Linear layers.",
              (int_param("start_dim", 1, "first dimension to flatten (0 is the batch)", lo=-5,
                         hi=4),
               int_param("end_dim", -1, "last dimension to flatten (-1 is the last)", lo=-5, hi=4)),
              _flatten_infer, _flatten_build, transparent=True),
    LayerKind("Identity", "Reshape", "Passes its input on unchanged: a named point in the "
              "network (e.g. where a skip connection starts).", (), same_shape,
              simple_build("Identity"), transparent=True),
    activation_kind("ReLU", "Rectifier max(0, x): units are exactly off for negative input; "
                "gradient 1 on active paths.", family="rectifier", nonnegative=True),
    activation_kind("LeakyReLU", "Rectifier with a small slope for negative input, so units are "
                "never fully off.",
                (float_param("negative_slope", 0.01, "slope for negative input", lo=0.0, hi=1.0),),
                family="rectifier"),
    activation_kind("PReLU", "Rectifier whose negative slope is learned.",
                (int_param("num_parameters", 1, "1 (one shared slope) or the number of channels"),
                 float_param("init", 0.25, "initial negative slope", lo=0.0, hi=1.0)),
                family="rectifier", infer=_prelu_infer, count=lambda p, s: p["num_parameters"]),
    activation_kind("ELU", "Exponential linear unit: identity for x > 0, alpha·(eˣ − 1) below.",
                (float_param("alpha", 1.0, "value approached for very negative input", lo=0.0),),
                family="rectifier"),
    activation_kind("Softplus", "Smooth rectifier log(1 + eˣ): never exactly zero, so no sparsity.",
                (float_param("beta", 1.0, "sharpness", lo=1e-6),
                 float_param("threshold", 20.0, "above beta·x > threshold it is linear", lo=0.0)),
                family="rectifier", nonnegative=True),
    activation_kind("Sigmoid", "Logistic 1/(1 + e⁻ˣ) in (0, 1): saturates, so gradients shrink in "
                "deep stacks.", family="saturating", bounds=(0.0, 1.0), nonnegative=True),
    activation_kind("Tanh", "Hyperbolic tangent in (−1, 1): zero-centred, but saturates.",
                family="saturating", bounds=(-1.0, 1.0)),
    activation_kind("Softsign", "x/(1 + |x|) in (−1, 1): saturates polynomially, more gently "
                "than tanh.", family="saturating", bounds=(-1.0, 1.0)),
    activation_kind("GELU", "Gaussian error linear unit: a smooth rectifier used in transformers.",
                (Param("approximate", "choice", "none", "exact or tanh approximation",
                       choices=("none", "tanh")),),
                family="rectifier"),
    activation_kind("SiLU", "Sigmoid-weighted linear unit x·σ(x) (swish): a smooth rectifier "
                    "that dips slightly below zero.", family="rectifier"),
    activation_kind("Mish", "x·tanh(softplus(x)): a smooth rectifier like SiLU.",
                    family="rectifier"),
    activation_kind("Softmax", "Turns scores into probabilities that sum to 1 along one "
                    "dimension. Not before a cross-entropy loss, which applies its own.",
                    (int_param("dim", 1, "dimension to normalise along (1: the features or "
                               "channels; 0 is the batch)", lo=-4, hi=4),),
                    infer=_softmax_infer, nonnegative=True),
    LayerKind("Dropout", "Regularisation", "Randomly zeroes a fraction p of the units while "
              "training; does nothing at evaluation.",
              (float_param("p", 0.5, "probability of zeroing a unit", lo=0.0, hi=1.0),),
              same_shape, simple_build("Dropout", "p"), transparent=True),
    LayerKind("Dropout2d", "Regularisation", "Randomly zeroes whole feature maps while training.",
              (float_param("p", 0.5, "probability of zeroing a feature map", lo=0.0, hi=1.0),),
              _dropout2d_infer, simple_build("Dropout2d", "p"), transparent=True),
    LayerKind("BatchNorm1d", "Normalisation", "Normalises each feature over the batch, then "
              "scales and shifts it.", _BN_PARAMS, _bn1d_infer, _bn_build("BatchNorm1d"),
              _bn_count, transparent=True),
    LayerKind("BatchNorm2d", "Normalisation", "Normalises each feature map over the batch and "
              "the image, then scales and shifts it.", _BN_PARAMS, _bn2d_infer,
              _bn_build("BatchNorm2d"), _bn_count, transparent=True),
    LayerKind("LayerNorm", "Normalisation", "Normalises each sample over its last dims "
              "dimensions (not over the batch), then scales and shifts: the transformer's "
              "normalisation.",
              (int_param("dims", 1, "trailing dimensions normalised together: 1 = each step's "
                         "or sample's features; 3 = a whole (C, H, W) image", hi=4),
               _EPS, bool_param("elementwise_affine", True, "learn a scale and shift per value")),
              _layernorm_infer, _LAYERNORM[0],
              lambda p, s: 2 * S.numel(s[0][-p["dims"]:]) if p["elementwise_affine"] else 0,
              transparent=True, source=_LAYERNORM[1]),
    LayerKind("GroupNorm", "Normalisation", "Normalises each sample over groups of channels "
              "(not over the batch, so small batches work), then scales and shifts.",
              (int_param("num_groups", 2, "groups of channels (must divide the channels)",
                         hi=100_000),
               _EPS, bool_param("affine", True, "learn a per-channel scale and shift")),
              _groupnorm_infer, _GROUPNORM[0],
              lambda p, s: 2 * s[0][0] if p["affine"] else 0, transparent=True,
              source=_GROUPNORM[1]),
    LayerKind("Add", "Merge", "Adds its inputs element-wise (a residual connection); all must "
              "have the same shape.", (), _add_infer, _add_build, min_inputs=2, max_inputs=None),
    LayerKind("Multiply", "Merge", "Multiplies its inputs element-wise (a gate); all must "
              "have the same shape.", (), lambda p, s: S.same_shapes(s, "multiplies"),
              _multiply_build, min_inputs=2, max_inputs=None, source=lambda p, s: None,
              call=lambda p, var, inputs: " * ".join(inputs)),
    LayerKind("Concat", "Merge", "Joins its inputs along one dimension, in the order they are "
              "connected.",
              (int_param("dim", 1, "dimension to join along (1 is channels or features; 0 is the "
                    "batch)", lo=-4, hi=4),),
              _concat_infer, _concat_build, min_inputs=2, max_inputs=None),
]

_KINDS += kinds_sequence.KINDS + kinds_decoder.KINDS
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
