"""Reading probe statistics: a level per node for colouring, and plain-language warnings.

`stats` is what `engine.probe` returns and what each ProbeEvent carries:
{node_id: {stat: value}} (see engine.run.probes). Everything here is plain numbers and words, so
the window, a script and the tests share one reading of the evidence.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

RELATIVE = ("gradient", "gradient_rms", "gradient_ratio")   # levels relative to the largest
# The gradient statistics, as the window offers them: statistic -> (name, one-line meaning).
GRADIENT_STATS = {
    "grad_norm": ("‖∂L/∂W‖", "norm of the weight gradient: grows with the layer's size"),
    "grad_rms": ("RMS of ∂L/∂W", "per weight (norm/√n): layers of different sizes compare"),
    "grad_ratio": ("‖∂L/∂W‖/‖W‖", "relative to the weights: the share of the weights an "
                   "SGD step of rate 1 would change"),
    "delta_norm": ("‖∂L/∂a‖", "norm of the gradient back-propagated to the layer's output"),
    "delta_rms": ("RMS of ∂L/∂a", "per output value: layers of different widths compare"),
    "step_grad_reach": ("reach through time", "a recurrent layer's: the gradient reaching the "
                        "first part of its sequence over that reaching the last (1: as much)"),
}

# What a node can be coloured by: (name shown, statistic).
COLOUR_BY = {
    "gradient_rms": ("gradient per weight, RMS (relative to the largest)", "grad_rms"),
    "gradient": ("gradient norm ‖∂L/∂W‖ (relative to the largest)", "grad_norm"),
    "gradient_ratio": ("gradient / weight ‖∂L/∂W‖/‖W‖ (relative to the largest)",
                       "grad_ratio"),
    "sparsity": ("sparsity (outputs exactly zero)", "sparsity"),
    "dead": ("dead units", "dead"),
    "saturation": ("saturation (near the bounds)", "saturation"),
}

VANISHING_RATIO = 1 / 100      # smallest / largest weight-gradient norm
EXPLODING_RATIO = 100          # lowest layer / top layer
DEAD_WARN = 0.25               # fraction of units dead
SATURATION_WARN = 0.5          # fraction of outputs saturated


@dataclass(frozen=True)
class Level:
    """One node's reading: the raw value, a level in [0, 1] for colour, a short label."""
    value: float
    level: float
    text: str


def node_levels(stats: dict, by: str) -> dict[str, Level]:
    """The nodes that have the statistic behind `by` (a key of COLOUR_BY), each with its level:
    for the gradients (RELATIVE), the statistic over the largest layer's, on a log scale (1 =
    the largest, 0 = a millionth of it or less); for the others, the fraction itself."""
    if by not in COLOUR_BY:
        raise ValueError(f"colour by must be one of {', '.join(COLOUR_BY)}, not {by!r}")
    stat = COLOUR_BY[by][1]
    values = {n: s[stat] for n, s in stats.items() if _finite(s.get(stat))}
    if by not in RELATIVE:
        return {n: Level(v, min(1.0, max(0.0, v)), f"{v:.0%}") for n, v in values.items()}
    top = max(values.values(), default=0.0)
    out = {}
    for n, v in values.items():
        rel = v / top if top > 0 else 0.0
        level = 1.0 + math.log10(rel) / 6 if rel > 0 else 0.0
        out[n] = Level(v, min(1.0, max(0.0, level)), relative_text(rel))
    return out


def relative_text(rel: float) -> str:
    """0.5 -> '1/2', 0.0004 -> '1/2,500', 1 -> '1', 0 -> '0'."""
    if rel <= 0:
        return "0"
    if rel >= 0.995:
        return "1"
    if rel >= 0.1:
        return f"{rel:.2f}"
    return f"1/{_round_nicely(1 / rel):,}"


def _round_nicely(x: float) -> int:
    digits = max(0, int(math.floor(math.log10(x))) - 1)
    return int(round(x / 10 ** digits) * 10 ** digits)


def warnings(stats: dict, labels: dict[str, str], order: list[str] | None = None,
             kinds: dict[str, str] | None = None) -> list[str]:
    """Plain-language warnings where the evidence is clear. `labels` names the nodes
    ({id: "Linear 1"}), `order` is the network's order (input first), `kinds` their kinds."""
    order = order or list(stats)
    kinds = kinds or {}
    out = _gradient_warnings(stats, labels, order, kinds)
    for n in order:
        s = stats.get(n, {})
        name = labels.get(n, n)
        if _finite(s.get("dead")) and s["dead"] >= DEAD_WARN:
            out.append(f"{s['dead']:.0%} of {name}'s units are dead (zero for every sample): "
                       f"they no longer learn. Try a lower learning rate, He initialisation, "
                       f"or LeakyReLU.")
        if _finite(s.get("step_grad_reach")) and s["step_grad_reach"] < VANISHING_RATIO:
            out.append(f"The gradient reaching the first steps of {name}'s sequence is "
                       f"{relative_text(s['step_grad_reach'])} of that reaching its last "
                       f"steps: vanishing gradient through time, what the early steps hold "
                       f"barely changes the weights. Try shorter sequences, or self-attention "
                       f"(MultiheadAttention), which reaches every step in one hop.")
        if _finite(s.get("saturation")) and s["saturation"] >= SATURATION_WARN:
            out.append(f"{s['saturation']:.0%} of {name}'s outputs are saturated (near their "
                       f"bounds), where the gradient through them is almost zero. Try smaller "
                       f"initial weights (Xavier init), batch norm, or a rectifier.")
    return out


def _gradient_warnings(stats, labels, order, kinds) -> list[str]:
    """Vanishing or exploding gradients, read from the per-weight RMS where the probes give
    it (the raw norm carries a factor of each layer's size: a 784x100 layer's is √7.84 times
    a 100x100 layer's for the same gradient per weight), else from the norm."""
    stat = "grad_rms" if all(_finite(s.get("grad_rms")) for s in stats.values()
                             if "grad_norm" in s) else "grad_norm"
    grads = [(n, stats[n][stat]) for n in order
             if n in stats and _finite(stats[n].get(stat))]
    if len(grads) < 2:
        return []
    low_node, low = min(grads, key=lambda g: g[1])
    high_node, high = max(grads, key=lambda g: g[1])
    if high <= 0:
        return ["No gradient reaches any layer (all weight gradients are zero): the network "
                "cannot learn. Check for dead units or a constant output."]
    rel = low / high
    if rel >= VANISHING_RATIO:
        return []
    low_name, high_name = labels.get(low_node, low_node), labels.get(high_node, high_node)
    if order.index(low_node) < order.index(high_node):
        act = _activation_names(stats, kinds)
        hint = ("try a rectifier (ReLU) with He init, batch norm, or layer-wise pre-training"
                if act & {"Sigmoid", "Tanh", "Softsign"} or not act else
                "try He init, batch norm, residual connections, or layer-wise pre-training")
        return [f"The gradient reaching {low_name} is {relative_text(rel)} of that reaching "
                f"{high_name}: vanishing gradient; {hint}."]
    first, last = grads[0], grads[-1]
    if last[1] > 0 and first[1] / last[1] >= EXPLODING_RATIO:
        return [f"The gradient reaching {labels.get(first[0], first[0])} is "
                f"{first[1] / last[1]:,.0f} times that reaching "
                f"{labels.get(last[0], last[0])}: exploding gradient; try a lower learning "
                f"rate, gradient clipping, or smaller initial weights."]
    return []


def _activation_names(stats, kinds) -> set[str]:
    return {kinds[n] for n in stats if n in kinds and "sparsity" in stats[n]}


def latest_stats(history: dict | None) -> dict[str, dict[str, float]]:
    """The last probe snapshot stored in a history ({node: {stat: value}}), or {}."""
    probes = (history or {}).get("probes") or {}
    if not probes.get("step"):
        return {}
    out: dict[str, dict[str, float]] = {}
    for node, table in (probes.get("layers") or {}).items():
        values = {stat: v[-1] for stat, v in table.items() if v and _finite(v[-1])}
        if values:
            out[node] = values
    return out


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
