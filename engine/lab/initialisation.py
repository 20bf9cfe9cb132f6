"""Experiments on the gradients of a deep MLP at initialisation: which schemes keep the
back-propagated gradient (init-schemes), and weight gradients against back-propagated ones
across layers (weight-vs-backprop). Both probe one forward/backward pass per seed, without
training: they take seconds."""
from __future__ import annotations

import math

from engine.lab.common import Context, Experiment, Figure, LabResult, mlp, mnist, ratio_text
from engine.lab.setup import data_line, network_line
from engine.lab.verdict import Check, judge, spread
from engine.run.probe_once import probe

ACTS = ("Sigmoid", "Tanh", "ReLU")
INITS = {"uniform": "uniform ±1/√n", "xavier_uniform": "Xavier", "kaiming_normal": "He"}
# n·Var(W) of a square layer under each scheme, and E[f'(z)²] near z = 0 for each activation:
# their product is the factor by which the back-propagated variance changes per layer in the
# linear regime (Glorot & Bengio 2010, eq. 13; He et al. 2015, eq. 14)
GAIN = {"uniform": 1 / 3, "xavier_uniform": 1.0, "kaiming_normal": 2.0}
SLOPE2 = {"Sigmoid": 1 / 16, "Tanh": 1.0, "ReLU": 0.5}
HIDDEN, WIDTH, SAMPLES = 5, 100, 500
LINEARS = [f"linear_{i}" for i in range(1, HIDDEN + 2)]
# Linear 1 (784 x 100) against Linear 5 (100 x 100): the raw weight-gradient norm of a layer is
# its RMS times √weights, so the norm ratio carries √(78,400 / 10,000)
SIZES = {"weights_linear_1": 784 * WIDTH, "weights_linear_5": WIDTH * WIDTH,
         "size_factor": 784 / WIDTH, "sqrt_size_factor": math.sqrt(784 / WIDTH)}


def probe_setup(ctx: Context, data) -> list[str]:
    seeds = ctx.seeds()
    return [data_line(data),
            f"Probes: one forward and backward pass at initialisation on a batch of {SAMPLES} "
            f"samples, no weight changed; seeds {', '.join(map(str, seeds))} (initial weights "
            f"and the batch)."]


def at_init(ctx: Context, data, act: str, init: str) -> list[dict]:
    """Probe statistics of the 5 x 100 MLP at initialisation, one dict per seed."""
    return [probe(mlp(data.input_shape, [WIDTH] * HIDDEN, act, init, 10), data,
                  samples=SAMPLES, seed=s) for s in ctx.seeds()]


def ratio(stats: list[dict], stat: str, low: str = "linear_1", high: str = f"linear_{HIDDEN}"):
    """The spread over seeds of stat(low) / stat(high)."""
    return spread(s[low][stat] / s[high][stat] for s in stats if s[high][stat])


def per_layer(stats: list[dict], stat: str) -> list:
    return [spread(s[n][stat] for s in stats) for n in LINEARS]


def predicted_ratio(act: str, init: str) -> float:
    """L1/L5 of the back-propagated norm predicted by the linear regime: (gain per layer)^(4/2)."""
    return (GAIN[init] * SLOPE2[act]) ** ((HIDDEN - 1) / 2)


# ----------------------------------------------------------------------------- init-schemes

def init_schemes(ctx: Context) -> LabResult:
    data = mnist(ctx)
    fig = Figure("measured_vs_predicted", "Back-propagated ‖∂L/∂a‖ at Linear 1 relative to "
                 "Linear 5: measured against predicted", "predicted L1/L5",
                 "measured L1/L5 (mean over seeds)", log_x=True, log_y=True, markers=True)
    rows, by_act = [], {}
    for act in ACTS:
        for init, name in INITS.items():
            ctx.say(f"init-schemes: {act} + {name}")
            stats = at_init(ctx, data, act, init)
            rows.append([act, name, GAIN[init] * SLOPE2[act], predicted_ratio(act, init),
                         ratio(stats, "delta_rms"), ratio(stats, "delta_norm"),
                         ratio(stats, "grad_rms"), ratio(stats, "grad_norm")])
            by_act.setdefault(act, []).append(rows[-1])
    rows.sort(key=lambda r: r[3])
    for i, row in enumerate(sorted(rows, key=lambda r: r[4].mean), start=1):
        row.append(i)
    for act, mine in by_act.items():
        fig.add(act, [r[3] for r in mine], [r[4].mean for r in mine])
    ends = [min(r[3] for r in rows), max(r[3] for r in rows)]
    fig.add("measured = predicted", ends, ends, reference=True)
    return LabResult(
        "init-schemes", "Initialisation schemes and the back-propagated gradient",
        "How much of the gradient reaches the lowest layer of a deep MLP at initialisation is "
        "set by each layer's gain n·Var(W)·E[f'(z)²]: below one it shrinks geometrically. So "
        "sigmoid units lose it under every scheme, tanh keeps several times more of it with "
        "the normalised (Xavier) initialisation than with the standard one (Glorot & Bengio "
        "2010), and rectifiers keep it with He initialisation but not with Xavier (He et al. "
        "2015).",
        "Glorot & Bengio 2010, Section 4.2.2 and Fig. 7 (back-propagated gradients, standard "
        "vs normalised initialisation); He et al. 2015, Section 2.2 (eq. 14)",
        [f"Networks: {HIDDEN} hidden layers of {WIDTH} units (Linear 1-{HIDDEN}) and a Linear "
         f"output, for each activation x initialisation.",
         "Predicted gain per layer: n·Var(W) (uniform ±1/√n: 1/3, Xavier: 1, He: 2) times "
         "f'(0)² (sigmoid 1/16, tanh 1, ReLU 1/2, its mean over a symmetric input); predicted "
         "L1/L5 = gain^2 (4 layers, each multiplying the norm by √gain).",
         *probe_setup(ctx, data)],
        ["activation", "init", "predicted gain per layer", "predicted L1/L5",
         "‖∂L/∂a‖ L1/L5 (RMS)", "‖∂L/∂a‖ L1/L5 (norm)", "‖∂L/∂W‖ L1/L5 (RMS)",
         "‖∂L/∂W‖ L1/L5 (norm)", "measured rank"],
        rows,
        ["The table is in the predicted order: the measured rank column counts up where the "
         "measurement agrees with it.",
         "measured_vs_predicted: how close the points lie to the reference line; a point below "
         "it means E[f'²] is smaller than f'(0)² (units leave the linear regime).",
         "The back-propagated ratio is the same in norm and RMS (Linear 1 and 5 have the "
         "same width); the weight-gradient norm carries a √(784/100) layer-size factor."],
        _schemes_findings(rows), [fig], init_schemes_verdict(rows),
        {"predicted_gain": {f"{a} + {INITS[i]}": GAIN[i] * SLOPE2[a] for a in ACTS
                            for i in INITS}, **SIZES})


def spearman(xs: list[float], ys: list[float]) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    def ranks(v):
        order = sorted(range(len(v)), key=v.__getitem__)
        r = [0.0] * len(v)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for k in range(i, j + 1):
                r[order[k]] = (i + j) / 2 + 1
            i = j + 1
        return r
    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    var = math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    return cov / var if var else 0.0


def init_schemes_verdict(rows: list[list]):
    """Checks on the table: rows are [act, init, gain, predicted, δ RMS spread, ...]."""
    by = {(r[0], r[1]): r[4] for r in rows}
    rho = spearman([r[3] for r in rows], [r[4].mean for r in rows])
    tu, tx = by.get(("Tanh", "uniform ±1/√n")), by.get(("Tanh", "Xavier"))
    rh, rx = by.get(("ReLU", "He")), by.get(("ReLU", "Xavier"))
    sig = [by[k] for k in by if k[0] == "Sigmoid"]
    checks = [
        Check("The measured order follows the predicted gain", rho >= 0.9,
              f"Spearman's rank correlation {rho:.2f} over the {len(rows)} schemes",
              "at least 0.90", {"spearman": rho}),
        Check("Xavier keeps several times more of the tanh gradient than the standard "
              "initialisation",
              bool(tu and tx and tx.mean >= 2 * tu.mean and tx.low > tu.high),
              f"L1/L5 {tx.mean:.3g} with Xavier against {tu.mean:.3g} with uniform ±1/√n"
              if tu and tx else "not measured",
              "at least twice as much, every seed above", {"tanh_xavier": tx and tx.mean,
                                                           "tanh_uniform": tu and tu.mean}),
        Check("He initialisation keeps the rectifier's gradient; Xavier loses some",
              bool(rh and rx and 0.5 <= rh.mean <= 2 and rx.mean < 0.5 * rh.mean),
              f"L1/L5 {rh.mean:.3g} with He, {rx.mean:.3g} with Xavier" if rh and rx
              else "not measured", "He between 0.5 and 2, Xavier below half of He's",
              {"relu_he": rh and rh.mean, "relu_xavier": rx and rx.mean}),
        Check("Sigmoid units lose the gradient under every scheme",
              bool(sig) and all(s.high < 0.1 for s in sig),
              f"the largest sigmoid L1/L5 is {max(s.high for s in sig):.3g}" if sig
              else "not measured", "every seed below 0.1",
              {"sigmoid_highest": max((s.high for s in sig), default=None)}),
    ]
    return judge(checks)


def _schemes_findings(rows: list[list]) -> list[str]:
    if not rows:
        return []
    lo, hi = min(rows, key=lambda r: r[4].mean), max(rows, key=lambda r: r[4].mean)
    worst_fit = max(rows, key=lambda r: abs(math.log10(r[4].mean / r[3])))
    return [f"At initialisation Linear 1 gets {ratio_text(lo[4].mean, 1.0)} of the "
            f"back-propagated gradient that reaches Linear 5 with {lo[0]} + {lo[1]}, and "
            f"{hi[4].mean:.2f}x with {hi[0]} + {hi[1]}.",
            f"The prediction is furthest off for {worst_fit[0]} + {worst_fit[1]}: predicted "
            f"{worst_fit[3]:.3g}, measured {worst_fit[4].mean:.3g}.",
            f"The weight-gradient ratio in norm is the RMS ratio times the layer-size factor "
            f"√{SIZES['size_factor']:.2f} = {SIZES['sqrt_size_factor']:.2f} (Linear 1 has "
            f"{SIZES['weights_linear_1']:,} weights, Linear 5 {SIZES['weights_linear_5']:,}): "
            f"for {lo[0]} + {lo[1]} {lo[7].mean:.3g} against {lo[6].mean:.3g}."]


# ----------------------------------------------------------------------------- weight vs backprop

def weight_vs_backprop(ctx: Context) -> LabResult:
    data = mnist(ctx)
    ctx.say("weight-vs-backprop: tanh, standard initialisation")
    stats = at_init(ctx, data, "Tanh", "uniform")
    delta, grad, norm = (per_layer(stats, k) for k in ("delta_rms", "grad_rms", "grad_norm"))
    fig = Figure("gradients_per_layer", "Back-propagated and weight gradients per layer at "
                 "initialisation (tanh, uniform ±1/√n; mean over seeds)",
                 "layer (Linear 1 = nearest the input)", "RMS", log_y=True, markers=True)
    fig.add("back-propagated ‖∂L/∂a‖ (RMS per unit)", range(1, HIDDEN + 1),
            [d.mean for d in delta[:HIDDEN]])
    fig.add("weight gradient ‖∂L/∂W‖ (RMS per weight)", range(1, HIDDEN + 1),
            [g.mean for g in grad[:HIDDEN]])
    rows = [[f"Linear {i}", delta[i - 1], grad[i - 1], norm[i - 1],
             delta[i - 1].mean / delta[HIDDEN - 1].mean, grad[i - 1].mean / grad[HIDDEN - 1].mean,
             norm[i - 1].mean / norm[HIDDEN - 1].mean]
            for i in range(1, HIDDEN + 1)]
    return LabResult(
        "weight-vs-backprop", "Weight gradients against back-propagated gradients",
        "With tanh units and the standard initialisation, the back-propagated gradient shrinks "
        "on its way down to the input, yet the weight gradients stay roughly the same in every "
        "layer: each layer's activations shrink upwards by the factor its back-propagated "
        "gradient grows (Glorot & Bengio 2010).",
        "Glorot & Bengio 2010, Section 4.2.2, eq. 14 and Fig. 8 (weight gradients just after "
        "initialisation, standard initialisation)",
        [network_line(mlp(data.input_shape, [WIDTH] * HIDDEN, "Tanh", "uniform", 10,
                          "tanh 5 x 100")), *probe_setup(ctx, data),
         "RMS: ‖∂L/∂a‖/√units for the back-propagated gradient, ‖∂L/∂W‖/√weights for the "
         "weight gradient (so Linear 1's 784 x 100 weights compare with the 100 x 100 of the "
         "others)."],
        ["layer", "‖∂L/∂a‖ RMS", "‖∂L/∂W‖ RMS", "‖∂L/∂W‖ norm", "‖∂L/∂a‖ relative to Linear 5",
         "‖∂L/∂W‖ RMS relative to Linear 5", "‖∂L/∂W‖ norm relative to Linear 5"],
        rows,
        ["gradients_per_layer: whether the back-propagated line falls towards Linear 1 while "
         "the weight-gradient line stays level.",
         "‖∂L/∂W‖ norm of Linear 1 carries a √7.84 layer-size factor that the RMS removes."],
        _wvb_findings(rows), [fig], weight_vs_backprop_verdict(rows),
        {"per_layer_factor": _factor(rows), **SIZES})


def _factor(rows: list[list]) -> float | None:
    """The back-propagated RMS multiplier per layer going down, from the top hidden layer to
    Linear 1."""
    if len(rows) < 2:
        return None
    return (rows[0][1].mean / rows[-1][1].mean) ** (1 / (len(rows) - 1))


def weight_vs_backprop_verdict(rows: list[list]):
    """rows: [layer, δ RMS spread, ∂W RMS spread, ∂W norm spread, δ rel, ∂W rel], Linear 1
    first and the top hidden layer last."""
    if len(rows) < 2:
        return judge([])
    shrink = rows[0][1].mean / rows[-1][1].mean
    grads = [r[2].mean for r in rows]
    spread_w = max(grads) / min(grads)
    return judge([
        Check("The back-propagated gradient shrinks towards the input", shrink < 0.5,
              f"Linear 1 gets {shrink:.3g} of Linear {len(rows)}'s RMS", "below 0.5",
              {"delta_ratio": shrink}),
        Check("The weight gradients stay roughly flat across layers", spread_w <= 2.0,
              f"the largest layer's weight-gradient RMS is {spread_w:.2f}x the smallest's",
              "at most 2x", {"weight_spread": spread_w}),
    ])


def _wvb_findings(rows: list[list]) -> list[str]:
    if len(rows) < 2:
        return []
    norm_ratio = rows[0][6]
    return [f"Going down one layer multiplies the back-propagated RMS by about "
            f"{_factor(rows):.2f}; the weight-gradient RMS of Linear 1 is {rows[0][5]:.2f}x that "
            f"of Linear {len(rows)}.",
            f"In raw norm Linear 1's weight gradient is {norm_ratio:.2f}x Linear {len(rows)}'s: "
            f"the RMS ratio times √{SIZES['size_factor']:.2f} = {SIZES['sqrt_size_factor']:.2f}"
            f", for its {SIZES['weights_linear_1']:,} weights against "
            f"{SIZES['weights_linear_5']:,}."]


EXPERIMENTS = [
    Experiment("init-schemes", "Initialisation schemes", "the back-propagated gradient at "
               "Linear 1 relative to Linear 5, per activation x initialisation, against the "
               "order the papers predict", init_schemes),
    Experiment("weight-vs-backprop", "Weight vs back-propagated gradients", "tanh with the "
               "standard initialisation: back-propagated gradients shrink towards the input, "
               "weight gradients stay flat", weight_vs_backprop),
]
