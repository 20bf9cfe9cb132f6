"""The vanishing-gradients experiment: what reaches each layer of deep sigmoid, tanh and ReLU
stacks at initialisation, and during training."""
from __future__ import annotations


from engine.run.config import TrainConfig
from engine.lab.common import Context, Experiment, Figure, LabResult, last, mlp, mnist, ratio_text, \
    series, train_run
from engine.lab.initialisation import HIDDEN, INITS, LINEARS, SIZES, WIDTH, at_init, per_layer, \
    probe_setup, ratio
from engine.lab.verdict import Check, judge, pm, spread, unmeasured


def _sgd(ctx: Context, epochs: tuple[int, int], probe_every: tuple[int, int], lr=0.1,
         batch_size=32, **kw):
    return TrainConfig(epochs=ctx.pick(*epochs), optimizer="sgd", lr=lr, batch_size=batch_size,
                       probe_every=ctx.pick(*probe_every), seed=ctx.seed, device="cpu", **kw)


# ----------------------------------------------------------------------------- vanishing

CLASSIC = (("Sigmoid", "uniform"), ("Tanh", "uniform"), ("ReLU", "kaiming_normal"))


def vanishing_gradients(ctx: Context) -> LabResult:
    data = mnist(ctx)
    cfg = _sgd(ctx, (2, 1), (20, 8))
    fig_delta = Figure("delta_at_init", "Back-propagated gradient per layer at initialisation "
                       "(RMS per unit, mean over seeds)", "layer (Linear 1 = nearest the input)",
                       "‖∂L/∂a‖ RMS", log_y=True, markers=True)
    fig_grad = Figure("weight_grad_at_init", "Weight gradient per layer at initialisation (RMS "
                      "per weight, mean over seeds)", "layer", "‖∂L/∂W‖ RMS", log_y=True,
                      markers=True)
    fig_ratio = Figure("ratio_during_training", "‖∂L/∂a‖ at Linear 1 relative to Linear 5, "
                       "during training (first seed)", "step", "ratio", log_y=True)
    rows = []
    for act, init in CLASSIC:
        label = f"{act} + {INITS[init]}"
        ctx.say(f"vanishing-gradients: {label} at initialisation")
        stats = at_init(ctx, data, act, init)
        layers = range(1, len(LINEARS) + 1)
        fig_delta.add(label, layers, [s.mean for s in per_layer(stats, "delta_rms")])
        fig_grad.add(label, layers, [s.mean for s in per_layer(stats, "grad_rms")])
        ends, accs = [], []
        for seed in ctx.seeds(quick=1):
            if ctx.stopping:
                break
            ctx.say(f"vanishing-gradients: {label}, training with seed {seed}")
            spec = mlp(data.input_shape, [100] * 5, act, init, 10, label)
            run = train_run(spec, data, cfg.replace(seed=seed), ctx, arm=label)
            if ctx.stopping:                # a run stopped part-way counts for nothing
                break
            steps, d1 = series(run.history, "linear_1", "delta_rms")
            _, d5 = series(run.history, "linear_5", "delta_rms")
            if seed == ctx.seed:
                fig_ratio.add(label, steps, [a / b if b else None for a, b in zip(d1, d5)])
            ends.append(d1[-1] / d5[-1] if d1 and d5 and len(d1) == len(d5) and d5[-1]
                        else None)
            accs.append(last(run.history, "val_acc"))
        delta = ratio(stats, "delta_rms")
        rows.append([act, INITS[init], delta, delta.mean ** (1 / (HIDDEN - 1)),
                     ratio(stats, "grad_norm"), ratio(stats, "grad_rms"), spread(ends),
                     spread(accs)])
    return LabResult(
        "vanishing-gradients", "Vanishing gradients in deep sigmoid and tanh networks",
        "In deep sigmoid and tanh stacks with the standard initialisation the gradient "
        "back-propagated to each layer shrinks layer by layer on its way down; rectifiers with "
        "He initialisation keep it (Glorot & Bengio 2010; Glorot et al. 2011; He et al. 2015).",
        "Glorot & Bengio 2010, Section 4.2.2 and Fig. 7 (back-propagated gradients per "
        "layer of a tanh network, standard initialisation; the sigmoid case follows from the "
        "same analysis with f'(0) = 1/4); He et al. 2015, Section 2.2 for rectifiers",
        [f"Networks: {HIDDEN} hidden layers of {WIDTH} units (Linear 1-{HIDDEN}) and a Linear "
         f"output (Linear {HIDDEN + 1}).", *probe_setup(ctx, data),
         "RMS: ‖∂L/∂a‖/√units and ‖∂L/∂W‖/√weights; Linear 1 has 784 x 100 weights and "
         "Linear 5 100 x 100, so the raw weight-gradient norm carries a factor √7.84 that the "
         "RMS removes.", "Then each network is trained (below) and probed as it learns."],
        ["activation", "init", "‖∂L/∂a‖ L1/L5 at init", "factor per layer",
         "‖∂L/∂W‖ L1/L5 at init (norm)",
         "‖∂L/∂W‖ L1/L5 at init (RMS)", "‖∂L/∂a‖ L1/L5 at end", "val acc"],
        rows,
        ["delta_at_init: how steeply each curve falls from Linear 5 towards Linear 1.",
         "weight_grad_at_init: whether, per weight, the tanh net's weight gradients stay level "
         "while its back-propagated gradient falls (the weight-vs-backprop experiment tests "
         "it).",
         "ratio_during_training: whether training closes the gap."],
        _vanishing_findings(rows), [fig_delta, fig_grad, fig_ratio], vanishing_verdict(rows),
        {"config": cfg.to_dict(), **SIZES})


def vanishing_verdict(rows: list[list]):
    """rows: [act, init, δ L1/L5 at init (Spread), ...]."""
    by = {(r[0], r[1]): r[2] for r in rows}
    sig, tanh = by.get(("Sigmoid", INITS["uniform"])), by.get(("Tanh", INITS["uniform"]))
    relu = by.get(("ReLU", INITS["kaiming_normal"]))
    if not (sig and tanh and relu):
        return judge([unmeasured("The gradient shrinks in the sigmoid stack", "not measured")])
    return judge([
        Check("The gradient shrinks on its way down the sigmoid stack", sig.high < 0.1,
              f"Linear 1 gets {ratio_text(sig.mean, 1.0)} of Linear 5's (every seed at most "
              f"{sig.high:.3g})", "every seed below 0.1", {"sigmoid": sig.mean}),
        Check("It shrinks in the tanh stack with the standard initialisation", tanh.high < 0.5,
              f"Linear 1 gets {tanh.mean:.3g} of Linear 5's (at most {tanh.high:.3g})",
              "every seed below 0.5", {"tanh": tanh.mean}),
        Check("Rectifiers with He initialisation keep it", 0.5 <= relu.mean <= 2.0,
              f"Linear 1 gets {relu.mean:.2f}x Linear 5's", "between 0.5 and 2",
              {"relu": relu.mean}),
    ])


def _vanishing_findings(rows: list[list]) -> list[str]:
    out = [f"{r[0]} + {r[1]}: going down one layer multiplies the back-propagated gradient by "
           f"about {r[3]:.2f} at initialisation; the weight-gradient ratio L1/L5 is "
           f"{r[4].mean:.3g} in norm and {r[5].mean:.3g} per weight (the norm carries the "
           f"layer-size factor √{SIZES['size_factor']:.2f})." for r in rows]
    ended = [r for r in rows if r[6] is not None]
    if ended:
        out.append("After training the ratio L1/L5 is " + "; ".join(
            f"{r[6].mean:.3g} for {r[0]} + {r[1]} (at init {r[2].mean:.3g})" for r in ended)
            + ".")
    scored = [r for r in rows if r[7] is not None]
    if scored:
        best, worst = max(scored, key=lambda r: r[7].mean), min(scored, key=lambda r: r[7].mean)
        out.append(f"After the same training budget {best[0]} + {best[1]} reached "
                   f"{pm(best[7])} validation accuracy and {worst[0]} + {worst[1]} "
                   f"{pm(worst[7])}.")
    return out


EXPERIMENTS = [
    Experiment("vanishing-gradients", "Vanishing gradients", "5-hidden-layer MLPs, sigmoid / "
               "tanh / ReLU x uniform / Xavier / He: per-layer gradients", vanishing_gradients),
]
