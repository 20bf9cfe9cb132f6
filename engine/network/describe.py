"""Short human descriptions of nodes and numbers, shared by `info`, the canvas and reports."""
from __future__ import annotations

from engine.network.catalogue import LAYERS
from engine.network.schema import size2

INIT_NAMES = {"pytorch": "PyTorch init", "uniform": "uniform ±1/√n init",
              "xavier_uniform": "Xavier init", "xavier_normal": "Xavier-normal init",
              "kaiming_uniform": "He init", "kaiming_normal": "He-normal init"}


def _pair(value) -> str:
    h, w = size2(value)
    return f"{h}x{w}"


def _window(p: dict) -> str:
    text = _pair(p["kernel_size"])
    if p.get("stride") is not None and size2(p["stride"]) != size2(p["kernel_size"]):
        text += f" stride {_pair(p['stride'])}"
    if p.get("padding") and size2(p["padding"]) != (0, 0):
        text += f" pad {_pair(p['padding'])}"
    return text


def _conv(p: dict) -> str:
    text = f"{p['out_channels']}@{_pair(p['kernel_size'])}"
    if size2(p["stride"]) != (1, 1):
        text += f" stride {_pair(p['stride'])}"
    if size2(p["padding"]) != (0, 0):
        pad = size2(p["padding"])
        text += f" pad {pad[0] if pad[0] == pad[1] else _pair(pad)}"
    return text


_SUMMARIES = {
    "Input": lambda p: "x".join(str(d) for d in p["shape"]),
    "Linear": lambda p: str(p["out_features"]),
    "Conv2d": _conv,
    "MaxPool2d": _window,
    "AvgPool2d": _window,
    "AdaptiveAvgPool2d": lambda p: f"to {_pair(p['output_size'])}",
    "LeakyReLU": lambda p: f"slope {p['negative_slope']:g}",
    "ELU": lambda p: f"alpha {p['alpha']:g}" if p["alpha"] != 1.0 else "",
    "Dropout": lambda p: f"p={p['p']:g}",
    "Dropout2d": lambda p: f"p={p['p']:g}",
    "Concat": lambda p: f"dim {p['dim']}",
}


def summary(kind: str, params: dict) -> str:
    """Key settings in a few characters: '6@5x5 pad 2', '120, He init', 'p=0.5'."""
    fn = _SUMMARIES.get(kind)
    text = fn(params) if fn else ""
    extras = []
    if params.get("bias") is False:
        extras.append("no bias")
    if LAYERS[kind].weighted and params.get("init", "auto") != "auto":
        extras.append(INIT_NAMES[params["init"]])
    return ", ".join([t for t in [text, *extras] if t])


def count(n: int) -> str:
    """61706 -> '61,706'."""
    return f"{n:,}"


def flops(n: int) -> str:
    """Compact FLOPs: 833040 -> '833.0 K', 1.2e9 -> '1.20 G'."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.{2 if unit == 'G' else 1}f} {unit}"
    return str(n)


def shape(s) -> str:
    if s is None:
        return "?"
    return "(" + ", ".join(str(d) for d in s) + ("," if len(s) == 1 else "") + ")"
