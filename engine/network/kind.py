"""What one layer kind is (`LayerKind`), and the small builders the catalogue's modules share.

No torch import here (analysis runs on every edit and the GUI must start fast): builders import
it when called, through `torch_nn()`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from engine.network.schema import Param
from engine.network.shapes import Shape

INIT_CHOICES = ("auto", "pytorch", "uniform", "xavier_uniform", "xavier_normal",
                "kaiming_uniform", "kaiming_normal")
INIT_HELP = ("weight initialisation: auto = He after a rectifier, Xavier after sigmoid/tanh/"
             "softsign, PyTorch's default otherwise; uniform = ±1/√fan_in (the early papers)")


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
    nonnegative: bool = False   # activations whose outputs are never below 0 (ReLU, Sigmoid...)
    transparent: bool = False   # seen through when 'auto' init looks for the next activation
    replaces: tuple[str, ...] = ()      # older names still read from files
    # the exported Python source (engine.io.export_python): `source(params, in_shapes)` gives
    # the torch.nn constructor (None: no module) and `call(params, var, inputs)` the forward
    # expression; None for both: nn.<name>(<params>) called on its one input
    source: Callable[[dict, list[Shape]], str | None] | None = None
    call: Callable[[dict, str, list[str]], str] | None = None

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


def torch_nn():
    import torch.nn
    return torch.nn


# ----------------------------------------------------------------------------- parameters

def int_param(name, default, help, lo=1, hi=None):
    return Param(name, "int", default, help, min=lo, max=hi)


def float_param(name, default, help, lo=None, hi=None):
    return Param(name, "float", default, help, min=lo, max=hi)


def bool_param(name, default, help):
    return Param(name, "bool", default, help)


def size_param(name, default, help, lo=1, nullable=False, null_help=""):
    return Param(name, "size2", default, help, min=lo, nullable=nullable, null_help=null_help)


BIAS = bool_param("bias", True, "learn an additive bias")
INIT = Param("init", "choice", "auto", INIT_HELP, choices=INIT_CHOICES)
KERNEL = size_param("kernel_size", 2, "window height and width")
POOL_STRIDE = size_param("stride", None, "step between windows", nullable=True,
                         null_help="same as kernel_size")
POOL_PAD = size_param("padding", 0, "implicit padding on each side", lo=0)
CEIL = bool_param("ceil_mode", False, "round the output size up instead of down")


# ----------------------------------------------------------------------------- element-wise

def same_shape(p, shapes):
    return shapes[0]


def simple_build(cls_name: str, *arg_names: str):
    """A builder for a torch.nn class that takes exactly the named schema parameters."""
    def build(p, shapes):
        return getattr(torch_nn(), cls_name)(**{n: p[n] for n in arg_names})
    return build


def activation_kind(name, doc, params=(), family="", bounds=None, build=None,
                    infer=same_shape, count=lambda p, s: 0, **more):
    return LayerKind(name, "Activation", doc, tuple(params), infer,
                     build or simple_build(name, *(q.name for q in params)),
                     count=count, family=family, bounds=bounds, **more)




def source_of(cls_name: str, *args, **kwargs) -> str:
    """The source of a torch.nn constructor call with these arguments (as their repr)."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"nn.{cls_name}({', '.join(parts)})"


def from_args(name: str, args):
    """(build, source) of torch.nn.<name> called with `args(p, shapes)` -> (args, kwargs)."""
    def build(p, shapes):
        positional, named = args(p, shapes)
        return getattr(torch_nn(), name)(*positional, **named)

    def source(p, shapes):
        positional, named = args(p, shapes)
        return source_of(name, *positional, **named)
    return build, source
