"""Layer kinds for sequences: 1-D convolution and pooling over a (channels, length) signal, and
token embedding, recurrent layers (LSTM, GRU) and self-attention over (steps, features).

Recurrent layers and attention run batch-first, as every layer here does; a recurrent layer
gives its whole output sequence or, with output "last", the output after the whole sequence.
"""
from __future__ import annotations

from engine.network import shapes as S
from engine.network.kind import (BIAS, CEIL, INIT, LayerKind, bool_param, float_param,
                                 from_args, int_param, source_of, torch_nn)
from engine.network.schema import Param
from engine.network.shapes import ShapeError

_GATES = {"LSTM": 4, "GRU": 3}


# ----------------------------------------------------------------------------- Conv1d

def _conv1d_infer(p, shapes):
    (shape,) = shapes
    S.need_signal(shape)
    S.need_groups(shape[0], p["out_channels"], p["groups"])
    return (p["out_channels"], S.window_1d(shape, p["kernel_size"], p["stride"], p["padding"],
                                           p["dilation"]))


def _conv1d_weights(p, shapes):
    return p["out_channels"] * (shapes[0][0] // p["groups"]) * p["kernel_size"]


def _conv1d_args(p, shapes) -> tuple[tuple, dict]:
    return ((shapes[0][0], p["out_channels"], p["kernel_size"]),
            dict(stride=p["stride"], padding=p["padding"], dilation=p["dilation"],
                 groups=p["groups"], bias=p["bias"]))


_CONV1D = from_args("Conv1d", _conv1d_args)      # (build, source)


# ----------------------------------------------------------------------------- 1-D pooling

def _pool_stride(p) -> int:
    return p["kernel_size"] if p["stride"] is None else p["stride"]


def _pool1d_infer(p, shapes):
    (shape,) = shapes
    S.need_signal(shape)
    if p["padding"] > p["kernel_size"] // 2:
        raise ShapeError(f"has padding {p['padding']} but padding can be at most half the "
                         f"kernel of {p['kernel_size']}: lower the padding")
    length = S.window_1d(shape, p["kernel_size"], _pool_stride(p), p["padding"],
                         p.get("dilation", 1), p["ceil_mode"], what="pooling window")
    return (shape[0], length)


def _maxpool1d_kwargs(p) -> dict:
    return dict(stride=_pool_stride(p), padding=p["padding"], dilation=p["dilation"],
                ceil_mode=p["ceil_mode"])


def _avgpool1d_kwargs(p) -> dict:
    return dict(stride=_pool_stride(p), padding=p["padding"], ceil_mode=p["ceil_mode"],
                count_include_pad=p["count_include_pad"])


def _pool1d(name: str, kwargs):
    def build(p, shapes):
        return getattr(torch_nn(), name)(p["kernel_size"], **kwargs(p))

    def source(p, shapes):
        return source_of(name, p["kernel_size"], **kwargs(p))
    return build, source


# ----------------------------------------------------------------------------- Embedding

def _embedding_infer(p, shapes):
    (shape,) = shapes
    S.need_rank(shape, (1,), f"a (steps,) sequence of token ids (whole numbers from 0 to "
                             f"{p['num_embeddings'] - 1}): add an Input of that shape")
    return (shape[0], p["embedding_dim"])


def _embedding_build(p, shapes):
    from engine.network.modules import TokenEmbedding
    return TokenEmbedding(p["num_embeddings"], p["embedding_dim"])


# ----------------------------------------------------------------------------- LSTM, GRU

def _recurrent_infer(p, shapes):
    (shape,) = shapes
    S.need_sequence(shape)
    width = p["hidden_size"] * (2 if p["bidirectional"] else 1)
    return (width,) if p["output"] == "last" else (shape[0], width)


def _layer_inputs(p, shapes) -> list[int]:
    """The input width of each stacked layer."""
    width = p["hidden_size"] * (2 if p["bidirectional"] else 1)
    return [shapes[0][1]] + [width] * (p["num_layers"] - 1)


def _recurrent(name: str):
    gates = _GATES[name]

    def count(p, shapes):
        h, dirs = p["hidden_size"], 2 if p["bidirectional"] else 1
        biases = 2 * h if p["bias"] else 0
        return dirs * sum(gates * (h * n + h * h + biases) for n in _layer_inputs(p, shapes))

    def flops(p, shapes, out):
        h, dirs, steps = p["hidden_size"], 2 if p["bidirectional"] else 1, shapes[0][0]
        return steps * dirs * sum(2 * gates * h * (n + h) for n in _layer_inputs(p, shapes))

    def build(p, shapes):
        from engine.network import modules
        return getattr(modules, f"Sequence{name}")(
            shapes[0][1], p["hidden_size"], num_layers=p["num_layers"], bias=p["bias"],
            bidirectional=p["bidirectional"], last=p["output"] == "last")

    def source(p, shapes):
        return source_of(name, shapes[0][1], p["hidden_size"], num_layers=p["num_layers"],
                         bias=p["bias"], batch_first=True, bidirectional=p["bidirectional"])

    def call(p, var, inputs):
        run = f"self.{var}({inputs[0]})[0]"
        if p["output"] != "last":
            return run
        if not p["bidirectional"]:
            return f"{run}[:, -1]"
        h = p["hidden_size"]
        return f"torch.cat([(seq_out := {run})[:, -1, :{h}], seq_out[:, 0, {h}:]], dim=1)"
    return dict(count=count, flops=flops, build=build, source=source, call=call)


_RECURRENT_PARAMS = (
    int_param("hidden_size", 64, "units in each direction of each layer", hi=100_000),
    int_param("num_layers", 1, "recurrent layers stacked, each reading the one below", hi=16),
    bool_param("bidirectional", False, "also read the sequence backwards (twice the width)"),
    Param("output", "choice", "sequence", "sequence: the output at every step (for another "
          "sequence layer); last: the output after the whole sequence (for a classifier)",
          choices=("sequence", "last")),
    BIAS,
)


# ----------------------------------------------------------------------------- attention

def _attention_infer(p, shapes):
    (shape,) = shapes
    S.need_sequence(shape)
    width, heads = shape[1], p["num_heads"]
    if width % heads:
        raise ShapeError(f"has {heads} heads, which must divide the {width} features of each "
                         f"step it receives: change num_heads, or the width before it")
    return shape


def _attention_count(p, shapes):
    e = shapes[0][1]
    return 4 * e * e + (4 * e if p["bias"] else 0)


def _attention_flops(p, shapes, out):
    steps, e = shapes[0]
    return 2 * steps * e * 4 * e + 2 * 2 * steps * steps * e   # projections; QKᵀ and ·V


def _attention_build(p, shapes):
    from engine.network.modules import SelfAttention
    return SelfAttention(shapes[0][1], p["num_heads"], dropout=p["dropout"], bias=p["bias"])


def _attention_source(p, shapes):
    return source_of("MultiheadAttention", shapes[0][1], p["num_heads"], dropout=p["dropout"],
                     bias=p["bias"], batch_first=True)


def _attention_call(p, var, inputs):
    x = inputs[0]
    return f"self.{var}({x}, {x}, {x}, need_weights=False)[0]"


_MAXPOOL1D = _pool1d("MaxPool1d", _maxpool1d_kwargs)
_AVGPOOL1D = _pool1d("AvgPool1d", _avgpool1d_kwargs)
_POOL1D_PARAMS = (int_param("kernel_size", 2, "window length"),
                  Param("stride", "int", None, "step between windows", min=1, nullable=True,
                        null_help="same as kernel_size"),
                  int_param("padding", 0, "implicit padding at each end", lo=0))

KINDS = [
    LayerKind("Conv1d", "Convolution", "1-D convolution: small filters slid along a signal "
              "(channels, length), one output channel per filter.",
              (int_param("out_channels", 16, "number of filters (output channels)",
                         hi=100_000),
               int_param("kernel_size", 3, "filter length"),
               int_param("stride", 1, "step between filter positions"),
               int_param("padding", 0, "zeros added at each end", lo=0),
               int_param("dilation", 1, "spacing between filter taps"),
               int_param("groups", 1, "split channels into independent groups"),
               BIAS, INIT),
              _conv1d_infer, _CONV1D[0],
              lambda p, s: _conv1d_weights(p, s) + (p["out_channels"] if p["bias"] else 0),
              lambda p, s, o: 2 * _conv1d_weights(p, s) * o[1], source=_CONV1D[1]),
    LayerKind("MaxPool1d", "Pooling", "Keeps the largest value in each window along a signal.",
              (*_POOL1D_PARAMS, int_param("dilation", 1, "spacing inside the window"), CEIL),
              _pool1d_infer, _MAXPOOL1D[0], transparent=True, source=_MAXPOOL1D[1]),
    LayerKind("AvgPool1d", "Pooling", "Averages each window along a signal.",
              (*_POOL1D_PARAMS, CEIL,
               bool_param("count_include_pad", True, "count padded zeros in the average")),
              _pool1d_infer, _AVGPOOL1D[0], transparent=True, source=_AVGPOOL1D[1]),
    LayerKind("Embedding", "Sequence", "Turns each token id of a sequence into a learned "
              "vector: (steps,) ids -> (steps, embedding_dim).",
              (int_param("num_embeddings", 100, "number of distinct tokens (ids 0 to this - 1)",
                         hi=10_000_000),
               int_param("embedding_dim", 32, "length of each token's vector", hi=100_000)),
              _embedding_infer, _embedding_build,
              lambda p, s: p["num_embeddings"] * p["embedding_dim"],
              source=lambda p, s: source_of("Embedding", p["num_embeddings"],
                                            p["embedding_dim"]),
              call=lambda p, var, inputs: f"self.{var}({inputs[0]}.long())"),
    *(LayerKind(name, "Sequence", doc, _RECURRENT_PARAMS, _recurrent_infer, **_recurrent(name))
      for name, doc in (
          ("LSTM", "Long short-term memory: reads a (steps, features) sequence step by step, "
                   "its gated cell carrying information across many steps."),
          ("GRU", "Gated recurrent unit: a lighter LSTM (two gates, no separate cell)."))),
    LayerKind("MultiheadAttention", "Sequence", "Self-attention: every step of a (steps, "
              "features) sequence looks at every other, in num_heads heads (the transformer's "
              "block).",
              (int_param("num_heads", 4, "attention heads (must divide the feature width)",
                         hi=1024),
               float_param("dropout", 0.0, "dropout on the attention weights", lo=0.0, hi=1.0),
               BIAS),
              _attention_infer, _attention_build, _attention_count, _attention_flops,
              source=_attention_source, call=_attention_call),
]
