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
    for unit, scale in (("E", 1e18), ("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6),
                        ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.{1 if unit in 'KM' else 2}f} {unit}"
    return str(n)


def memory(n: int) -> str:
    """Bytes in binary units: 3136 -> '3.1 KiB', 2**40 -> '1.0 TiB'."""
    for unit, power in (("EiB", 60), ("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20),
                        ("KiB", 10)):
        if n >= 2**power:
            return f"{n / 2**power:.1f} {unit}"
    return f"{n} B"


def shape(s) -> str:
    if s is None:
        return "?"
    return "(" + ", ".join(str(d) for d in s) + ("," if len(s) == 1 else "") + ")"


# ----------------------------------------------------------------------------- the layer table

TABLE_COLUMNS = ("Layer", "Type", "Settings", "Output shape", "Parameters", "FLOPs",
                 "Activation bytes", "Problems")


def table(spec, analysis, extra=()) -> list[dict]:
    """One row per layer (in the network's order, then any not reached), and a last "Total"
    row: the numbers of `analysis` as they are (for a table, a copy or a CSV file), with each
    node's problems (errors, then warnings marked so, then the (node id, sentence) pairs in
    `extra`, e.g. engine.data_fit's). Keys: id, layer, type, settings, shape (a tuple or None),
    params, flops, memory (output bytes per sample; None where unknown) and problems (a list).
    The Total row has id "" (engine.NETWORK), the network's output shape, the totals and the
    problems of the network as a whole."""
    said: dict[str, list[str]] = {}
    for node_id, message in [*analysis.problems,
                             *((n, "Warning: " + m) for n, m in analysis.warnings), *extra]:
        said.setdefault(node_id if node_id in spec.nodes else "", []).append(message)
    order = [n for n in analysis.order if n in spec.nodes]
    order += [n for n in spec.nodes if n not in order]
    rows = [{"id": n, "layer": spec.label(n), "type": spec.nodes[n].kind,
             "settings": summary(spec.nodes[n].kind, spec.nodes[n].params),
             "shape": analysis.shapes.get(n), "params": analysis.params.get(n),
             "flops": analysis.node_flops.get(n), "memory": analysis.memory.get(n),
             "problems": said.get(n, [])} for n in order]
    rows.append({"id": "", "layer": "Total", "type": "", "settings": "",
                 "shape": analysis.output_shape, "params": analysis.total_params,
                 "flops": analysis.flops, "memory": analysis.activation_bytes,
                 "problems": said.get("", [])})
    return rows


def table_cells(row: dict) -> list[str]:
    """A table row as plain text cells under TABLE_COLUMNS (numbers unformatted, for a
    spreadsheet): shapes as 1x28x28, problems joined by spaces."""
    shape = "x".join(map(str, row["shape"])) if row["shape"] is not None else ""
    return [row["layer"], row["type"], row["settings"], shape,
            *("" if row[k] is None else str(row[k]) for k in ("params", "flops", "memory")),
            " ".join(row["problems"])]
