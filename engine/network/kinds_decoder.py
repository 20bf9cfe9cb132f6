"""Layer kinds that grow or reshape an image (a decoder's, as in a convolutional autoencoder):
transposed convolution, up-sampling, and reshaping a vector back into an image."""
from __future__ import annotations

from engine.network import shapes as S
from engine.network.kind import BIAS, INIT, LayerKind, from_args, int_param, size_param, \
    source_of, torch_nn
from engine.network.schema import Param, size2
from engine.network.shapes import ShapeError


# ----------------------------------------------------------------------------- ConvTranspose2d

def _deconv_infer(p, shapes):
    (shape,) = shapes
    S.need_image(shape)
    S.need_groups(shape[0], p["out_channels"], p["groups"])
    k, s, pad, extra, d = (size2(p[n]) for n in ("kernel_size", "stride", "padding",
                                                   "output_padding", "dilation"))
    if any(extra[i] >= max(s[i], d[i]) for i in range(2)):
        raise ShapeError(f"has output_padding {extra[0]}x{extra[1]}, which must be smaller "
                         f"than its stride {s[0]}x{s[1]} (or dilation): lower it")
    out = tuple((n - 1) * s[i] - 2 * pad[i] + d[i] * (k[i] - 1) + extra[i] + 1
                for i, n in enumerate(shape[1:]))
    if min(out) < 1:
        raise ShapeError(f"would give a {out[0]}x{out[1]} image from {shape[1]}x{shape[2]}: "
                         f"lower the padding or raise the kernel size or stride")
    return (p["out_channels"], *out)


def _deconv_weights(p, shapes):
    kh, kw = size2(p["kernel_size"])
    return shapes[0][0] * (p["out_channels"] // p["groups"]) * kh * kw


def _deconv_args(p, shapes) -> tuple[tuple, dict]:
    return ((shapes[0][0], p["out_channels"], size2(p["kernel_size"])),
            dict(stride=size2(p["stride"]), padding=size2(p["padding"]),
                 output_padding=size2(p["output_padding"]), groups=p["groups"],
                 bias=p["bias"], dilation=size2(p["dilation"])))


_DECONV = from_args("ConvTranspose2d", _deconv_args)      # (build, source)


# ----------------------------------------------------------------------------- Upsample

def _upsample_infer(p, shapes):
    (shape,) = shapes
    S.need_image(shape)
    sh, sw = size2(p["scale_factor"])
    return (shape[0], shape[1] * sh, shape[2] * sw)


def _upsample_kwargs(p) -> dict:
    return dict(scale_factor=tuple(float(v) for v in size2(p["scale_factor"])), mode=p["mode"])


# ----------------------------------------------------------------------------- Reshape

def _reshape_infer(p, shapes):
    (shape,) = shapes
    target = tuple(p["shape"])
    if S.numel(target) != S.numel(shape):
        raise ShapeError(f"received {S.fmt(shape)}, {S.numel(shape):,} values, but its shape "
                         f"{S.fmt(target)} holds {S.numel(target):,}: give a shape with as many "
                         f"values")
    return target


def _reshape_build(p, shapes):
    from engine.network.modules import ReshapeTo
    return ReshapeTo(tuple(p["shape"]))


def _reshape_call(p, var, inputs):
    x = inputs[0]
    return f"{x}.reshape({x}.shape[0], {', '.join(str(d) for d in p['shape'])})"


KINDS = [
    LayerKind("ConvTranspose2d", "Convolution", "Transposed 2-D convolution: spreads each "
              "input pixel over a window, growing the image (stride 2 doubles it) — a "
              "decoder's up-sampling with learned filters.",
              (int_param("out_channels", 6, "number of feature maps (filters)", hi=100_000),
               size_param("kernel_size", 2, "filter height and width"),
               size_param("stride", 2, "step between filter positions (the growth factor)"),
               size_param("padding", 0, "rows and columns removed from each side", lo=0),
               size_param("output_padding", 0, "extra rows and columns added on one side "
                                               "(to reach an odd size)", lo=0),
               size_param("dilation", 1, "spacing between filter taps"),
               int_param("groups", 1, "split channels into independent groups"),
               BIAS, INIT),
              _deconv_infer, _DECONV[0],
              lambda p, s: _deconv_weights(p, s) + (p["out_channels"] if p["bias"] else 0),
              lambda p, s, o: 2 * _deconv_weights(p, s) * s[0][1] * s[0][2],
              source=_DECONV[1]),
    LayerKind("Upsample", "Pooling", "Grows an image by repeating (nearest) or interpolating "
              "(bilinear) its pixels: the reverse of pooling, with nothing to learn.",
              (size_param("scale_factor", 2, "growth in height and width"),
               Param("mode", "choice", "nearest", "nearest: repeat each pixel; bilinear: "
                     "interpolate between them", choices=("nearest", "bilinear"))),
              _upsample_infer,
              lambda p, s: torch_nn().Upsample(**_upsample_kwargs(p)), transparent=True,
              source=lambda p, s: source_of("Upsample", **_upsample_kwargs(p))),
    LayerKind("Reshape", "Reshape", "Gives each sample another shape with the same values, "
              "e.g. a (784,) vector back into a (1, 28, 28) image (the reverse of Flatten).",
              (Param("shape", "shape", (1, 28, 28), "the new shape of one sample (the batch "
                     "dimension is kept)", min=1),),
              _reshape_infer, _reshape_build, transparent=True,
              source=lambda p, s: None, call=_reshape_call),
]
