"""Experiments on what reaches each layer: vanishing gradients, rectifier sparsity, saturation."""
from __future__ import annotations

import math
import statistics

from engine.run.probes import probe
from engine.run.config import TrainConfig
from engine.lab.common import Context, Experiment, Figure, LabResult, last, mlp, mnist, ratio_text, \
    series, train_run

ACTS = ("Sigmoid", "Tanh", "ReLU")
INITS = {"uniform": "uniform ±1/√n", "xavier_uniform": "Xavier", "kaiming_normal": "He"}


def _sgd(ctx: Context, epochs: tuple[int, int], probe_every: tuple[int, int], lr=0.1,
         batch_size=32, **kw):
    return TrainConfig(epochs=ctx.pick(*epochs), optimizer="sgd", lr=lr, batch_size=batch_size,
                       probe_every=ctx.pick(*probe_every), seed=ctx.seed, device="cpu", **kw)


# ----------------------------------------------------------------------------- vanishing

def vanishing_gradients(ctx: Context) -> LabResult:
    data = mnist(ctx)
    cfg = _sgd(ctx, (2, 1), (20, 8))
    linears = [f"linear_{i}" for i in range(1, 7)]
    fig_delta = Figure("delta_at_init", "Back-propagated gradient ‖∂L/∂a‖ per layer at "
                       "initialisation", "layer (Linear 1 = nearest the input)", "‖∂L/∂a‖",
                       log_y=True, markers=True)
    fig_grad = Figure("weight_grad_at_init", "Weight gradient ‖∂L/∂W‖ per layer at "
                      "initialisation", "layer", "‖∂L/∂W‖", log_y=True, markers=True)
    fig_ratio = Figure("ratio_during_training", "‖∂L/∂a‖ at Linear 1 relative to Linear 5, "
                       "during training", "step", "ratio", log_y=True)
    rows, runs = [], {}
    for act in ACTS:
        for init, init_name in INITS.items():
            if ctx.stopping:
                break
            label = f"{act} + {init_name}"
            ctx.say(f"vanishing-gradients: {label}")
            spec = mlp(data.input_shape, [100] * 5, act, init, 10, label)
            stats = probe(spec, data, samples=500, seed=ctx.seed)
            delta = [stats[n]["delta_norm"] for n in linears]
            grad = [stats[n]["grad_norm"] for n in linears]
            fig_delta.add(label, range(1, 7), delta)
            fig_grad.add(label, range(1, 7), grad)
            run, order = train_run(spec, data, cfg, ctx)
            steps, d1 = series(run.history, "linear_1", "delta_norm")
            _, d5 = series(run.history, "linear_5", "delta_norm")
            fig_ratio.add(label, steps, [a / b if b else None for a, b in zip(d1, d5)])
            end_ratio = d1[-1] / d5[-1] if d1 and d5[-1] else None
            rows.append([act, init_name, delta[0] / delta[4], grad[0] / grad[4], end_ratio,
                         last(run.history, "val_acc")])
            runs[label] = {"delta_at_init": dict(zip(linears, delta)),
                           "grad_at_init": dict(zip(linears, grad)), "data_order": order,
                           "val_acc": last(run.history, "val_acc")}
    return LabResult(
        "vanishing-gradients", "Vanishing gradients in deep sigmoid and tanh networks",
        "In deep sigmoid/tanh stacks the gradient shrinks layer by layer on its way down; "
        "rectifiers with He initialisation keep it (Glorot & Bengio 2010; Glorot et al. 2011).",
        [f"Data: {data.name}, {len(data)} samples, 10% for validation.",
         "Networks: 5 hidden layers of 100 units (Linear 1-5) and a Linear output (Linear 6), "
         "for each activation x initialisation.",
         f"Training: plain SGD, learning rate {cfg.lr}, batch 32, {cfg.epochs} epoch(s), "
         f"seed {ctx.seed}, the same data order for every network; probes every "
         f"{cfg.probe_every} steps.",
         "‖∂L/∂a‖ is the gradient back-propagated to a layer's output; ‖∂L/∂W‖ its weight "
         "gradient; both at initialisation from one batch of 500 samples."],
        ["activation", "init", "‖∂L/∂a‖ L1/L5 at init", "‖∂L/∂W‖ L1/L5 at init",
         "‖∂L/∂a‖ L1/L5 at end", "val acc"],
        rows,
        ["delta_at_init: the sigmoid curves fall steeply towards Linear 1; ReLU + He stays flat.",
         "The L1/L5 columns: far below 1 means the lower layers get a much smaller gradient.",
         "ratio_during_training: whether training closes the gap."],
        _vanishing_findings(rows), [fig_delta, fig_grad, fig_ratio],
        {"runs": runs, "config": cfg.to_dict()})


def _vanishing_findings(rows: list[list]) -> list[str]:
    out = []
    by = {(r[0], r[1]): r for r in rows}
    for act, init in (("Sigmoid", "uniform ±1/√n"), ("Tanh", "uniform ±1/√n"), ("ReLU", "He")):
        r = by.get((act, init))
        if r is None:
            continue
        per_layer = r[2] ** 0.25
        trend = (f"shrinks by a factor of about {per_layer:.2f} per layer" if per_layer < 0.8
                 else f"grows by a factor of about {per_layer:.2f} per layer" if per_layer > 1.25
                 else f"stays about the same from layer to layer (x{per_layer:.2f})")
        out.append(f"{act} with {init} init: the gradient reaching Linear 1 is "
                   f"{ratio_text(r[2], 1.0)} of that reaching Linear 5 at initialisation; it "
                   f"{trend}.")
    best = max(rows, key=lambda r: r[5] or 0, default=None)
    worst = min(rows, key=lambda r: r[5] or 0, default=None)
    if best and worst:
        out.append(f"After the same training budget the best network ({best[0]} + {best[1]}) "
                   f"reached {best[5]:.1%} validation accuracy and the worst ({worst[0]} + "
                   f"{worst[1]}) {worst[5]:.1%}.")
    return out


# ----------------------------------------------------------------------------- sparsity

SPARSITY_VARIANTS = (("ReLU", "ReLU", 0.0), ("ReLU + L1 penalty", "ReLU", 0.2),
                     ("Softplus", "Softplus", 0.0))


def relu_sparsity(ctx: Context) -> LabResult:
    data = mnist(ctx, quick=2000)
    fig = Figure("sparsity_during_training", "Fraction of units exactly zero, per hidden layer",
                 "step", "sparsity")
    rows, runs = [], {}
    for label, act, l1 in SPARSITY_VARIANTS:
        if ctx.stopping:
            break
        ctx.say(f"relu-sparsity: {label}")
        spec = mlp(data.input_shape, [200] * 3, act, "kaiming_normal", 10, label)
        cfg = _sgd(ctx, (4, 2), (20, 10), lr=0.05, l1_activation=l1)
        at_init = probe(spec, data, samples=500, seed=ctx.seed)
        run, order = train_run(spec, data, cfg, ctx)
        acts = [n for n in run.model.order if run.model.spec.nodes[n].kind == act]
        for i, node in enumerate(acts, start=1):
            steps, values = series(run.history, node, "sparsity")
            _, dead = series(run.history, node, "dead")
            fig.add(f"{label}, layer {i}", steps, values)
            rows.append([label, f"hidden {i}", at_init[node]["sparsity"],
                         values[-1] if values else None, dead[-1] if dead else None,
                         last(run.history, "val_acc")])
        runs[label] = {"l1_activation": l1, "data_order": order,
                       "val_acc": last(run.history, "val_acc")}
    return LabResult(
        "relu-sparsity", "Rectifier sparsity",
        "With rectifiers about half of the hidden units are exactly zero at initialisation; an "
        "L1 penalty on activations makes the representation sparser (Glorot et al. 2011).",
        [f"Data: {data.name}, {len(data)} samples.",
         "Networks: 3 hidden layers of 200 units, He initialisation; ReLU, ReLU with an L1 "
         "activation penalty of 0.05, and Softplus (a smooth rectifier).",
         f"Training: SGD, learning rate 0.05, batch 32, seed {ctx.seed}, the same data order "
         f"for every network."],
        ["network", "layer", "sparsity at init", "sparsity at end", "dead at end", "val acc"],
        rows,
        ["'sparsity at init' near 0.5 for ReLU; exactly 0 for Softplus.",
         "The L1 penalty raises sparsity during training; watch what it costs in accuracy."],
        _sparsity_findings(rows), [fig], {"runs": runs})


def _sparsity_findings(rows: list[list]) -> list[str]:
    def mean(label, col):
        values = [r[col] for r in rows if r[0] == label and r[col] is not None]
        return statistics.fmean(values) if values else None
    out = []
    relu0, relu1 = mean("ReLU", 2), mean("ReLU", 3)
    if relu0 is not None:
        out.append(f"At initialisation {relu0:.0%} of the ReLU units are exactly zero on "
                   f"average over the hidden layers; after training {relu1:.0%}.")
    l1 = mean("ReLU + L1 penalty", 3)
    if l1 is not None and relu1 is not None:
        acc_plain = next((r[5] for r in rows if r[0] == "ReLU"), None)
        acc_l1 = next((r[5] for r in rows if r[0] == "ReLU + L1 penalty"), None)
        out.append(f"With the L1 activation penalty {l1:.0%} are zero after training (vs "
                   f"{relu1:.0%} without), at {acc_l1:.1%} validation accuracy (vs "
                   f"{acc_plain:.1%}).")
    soft = mean("Softplus", 3)
    if soft is not None:
        out.append(f"Softplus units are exactly zero {soft:.1%} of the time: a smooth rectifier "
                   f"gives no true sparsity.")
    return out


# ----------------------------------------------------------------------------- saturation

def saturation(ctx: Context) -> LabResult:
    data = mnist(ctx, quick=5000)
    cfg = _sgd(ctx, (4, 1), (25, 10), batch_size=10)
    ctx.say("saturation: 4 hidden sigmoid layers")
    spec = mlp(data.input_shape, [100] * 4, "Sigmoid", "uniform", 10, "sigmoid 4x100")
    run, order = train_run(spec, data, cfg, ctx)
    acts = [n for n in run.model.order if run.model.spec.nodes[n].kind == "Sigmoid"]
    fig_mean = Figure("mean_activation", "Mean activation per hidden layer during training",
                      "step", "mean activation")
    fig_sat = Figure("saturation", "Fraction of units saturated (within 5% of 0 or 1)",
                     "step", "saturation")
    rows = []
    for i, node in enumerate(acts, start=1):
        steps, mean = series(run.history, node, "mean_activation")
        _, sat = series(run.history, node, "saturation")
        fig_mean.add(f"hidden {i}", steps, mean)
        fig_sat.add(f"hidden {i}", steps, sat)
        if not mean:
            continue
        low = min(range(len(mean)), key=mean.__getitem__)
        rows.append([f"hidden {i}", mean[0], mean[low], steps[low], mean[-1], sat[0],
                     max(sat), sat[-1]])
    return LabResult(
        "saturation", "Saturation of sigmoid layers during training",
        "With sigmoid units and the standard initialisation, the top hidden layer is driven "
        "towards 0 (saturation) early in training and recovers only slowly "
        "(Glorot & Bengio 2010).",
        [f"Data: {data.name}, {len(data)} samples.",
         "Network: 4 hidden layers of 100 sigmoid units, uniform ±1/√fan_in initialisation.",
         f"Training: SGD, learning rate {cfg.lr}, batch 10, {cfg.epochs} epoch(s), seed "
         f"{ctx.seed}; probes every {cfg.probe_every} steps."],
        ["layer", "mean at init", "lowest mean", "at step", "mean at end", "saturated at init",
         "most saturated", "saturated at end"],
        rows,
        ["mean_activation: does the top hidden layer (hidden 4) fall towards 0 while the lower "
         "ones stay near 0.5?", "saturation: the fraction of units pinned near 0 or 1."],
        _saturation_findings(rows, last(run.history, "val_acc")), [fig_mean, fig_sat],
        {"data_order": order, "config": cfg.to_dict(), "val_acc": last(run.history, "val_acc")})


def _saturation_findings(rows: list[list], acc) -> list[str]:
    if not rows:
        return []
    top = rows[-1]
    out = [f"The top hidden layer's mean activation went from {top[1]:.2f} at initialisation "
           f"to its lowest, {top[2]:.2f}, at step {top[3]}, and ended at {top[4]:.2f}."]
    lowest = min(rows, key=lambda r: r[2])
    out.append(f"The layer that fell furthest is {lowest[0]} (down to {lowest[2]:.2f}); at "
               f"most {max(r[6] for r in rows):.0%} of a layer's units were saturated.")
    if acc is not None and math.isfinite(acc):
        out.append(f"Validation accuracy at the end: {acc:.1%}.")
    return out


EXPERIMENTS = [
    Experiment("vanishing-gradients", "Vanishing gradients", "5-hidden-layer MLPs, sigmoid / "
               "tanh / ReLU x uniform / Xavier / He: per-layer gradients", vanishing_gradients),
    Experiment("relu-sparsity", "Rectifier sparsity", "exact zeros per layer at initialisation "
               "and in training, with and without an L1 penalty; ReLU vs Softplus", relu_sparsity),
    Experiment("saturation", "Sigmoid saturation", "mean activation and saturation per layer of "
               "a 4-hidden-layer sigmoid net over training", saturation),
]
