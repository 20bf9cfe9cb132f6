"""Experiments on what hidden units do: rectifier sparsity (exact zeros, with and without an L1
penalty) and the saturation of the top sigmoid layer early in training."""
from __future__ import annotations

import statistics

import torch

from engine.lab.common import Context, Experiment, Figure, LabResult, accuracy, last, mlp, mnist, \
    series, train_run
from engine.lab.setup import network_line
from engine.lab.verdict import Check, judge, pct, pm, spread, unmeasured
from engine.run.config import TrainConfig


def _sgd(ctx: Context, epochs: tuple[int, int], lr: float, batch_size: int, probe_every=0,
         **kw) -> TrainConfig:
    return TrainConfig(epochs=ctx.pick(*epochs), optimizer="sgd", lr=lr, batch_size=batch_size,
                       probe_every=probe_every, seed=ctx.seed, device="cpu", **kw)


# ----------------------------------------------------------------------------- sparsity

SPARSITY_ARMS = (("ReLU", "ReLU", 0.0), ("ReLU + L1 penalty", "ReLU", 0.3),
                 ("Softplus", "Softplus", 0.0))


@torch.no_grad()
def exact_zeros(model, x: torch.Tensor, kind: str) -> list[float]:
    """The fraction of exactly-zero outputs of each `kind` layer on `x`, in eval mode."""
    nodes = [n for n in model.order if model.spec.nodes[n].kind == kind]
    got: dict = {}
    untap = model.add_tap(lambda outs: got.update({n: outs[n] for n in nodes}))
    was = model.training
    model.eval()
    try:
        model(x)
    finally:
        untap()
        model.train(was)
    return [float((got[n] == 0).float().mean()) for n in nodes]


def relu_sparsity(ctx: Context) -> LabResult:
    from engine.run.setup import resolve_network
    data = mnist(ctx, quick=2000)
    cfg = _sgd(ctx, (20, 10), lr=0.05, batch_size=32)
    fig = Figure("sparsity_by_layer", "Exact zeros per hidden layer on the validation samples, "
                 "at the end (mean over seeds)", "hidden layer", "fraction exactly zero",
                 markers=True)
    rows = []
    for label, act, l1 in SPARSITY_ARMS:
        init, end, layers, val, train = [], [], [], [], []
        for seed in ctx.seeds(quick=1):
            if ctx.stopping:
                break
            ctx.say(f"relu-sparsity: {label}, seed {seed}")
            spec = mlp(data.input_shape, [200] * 3, act, "kaiming_normal", 10, label)
            x_val = data.x[data.split(cfg.val_fraction, seed)[1]]
            init.append(statistics.fmean(exact_zeros(resolve_network(spec, seed).model, x_val,
                                                     act)))
            run = train_run(spec, data, cfg.replace(seed=seed, l1_activation=l1), ctx,
                               arm=label)
            if ctx.stopping:                # a run stopped part-way counts for nothing
                init.pop()
                break
            layers.append(exact_zeros(run.model, x_val, act))
            end.append(statistics.fmean(layers[-1]))
            val.append(last(run.history, "val_acc"))
            train.append(accuracy(run.model, data, data.split(cfg.val_fraction, seed)[0]))
        if layers:
            fig.add(label, range(1, 4), [statistics.fmean(v) for v in zip(*layers)])
            rows.append([label, l1, spread(init), spread(end), spread(val), spread(train)])
    return LabResult(
        "relu-sparsity", "Rectifier sparsity",
        "With rectifiers about half of the hidden units are exactly zero at initialisation; an "
        "L1 penalty on the activations makes the representation much sparser at little cost in "
        "accuracy; a smooth rectifier (softplus) has no exact zeros (Glorot, Bordes & Bengio "
        "2011).",
        "Glorot, Bordes & Bengio 2011, Section 3.1 (about 50% true zeros at initialisation) and "
        "Fig. 3 (final sparsity against accuracy, L1 penalties on MNIST)",
        ["Networks: 3 hidden layers of 200 units, He initialisation: ReLU, ReLU with an L1 "
         "penalty on the hidden activations (the L1 activation setting below: that weight x "
         "mean |a| added to the loss), and Softplus.",
         "Sparsity: the fraction of hidden outputs exactly zero on each run's validation "
         "samples, averaged over the layers, at initialisation and with the final weights."],
        ["network", "L1 penalty", "sparsity at init", "sparsity at end", "val acc",
         "train acc (final weights)"],
        rows,
        ["The ReLU rows' 'sparsity at init' against one half.",
         "The L1 row: how much sparser, and what it costs in validation accuracy.",
         "The Softplus row: a smooth rectifier is never exactly zero.",
         "sparsity_by_layer: where the penalty makes the most zeros."],
        _sparsity_findings(rows), [fig], relu_sparsity_verdict(rows))


def relu_sparsity_verdict(rows: list[list]):
    """rows: [arm, l1, init (Spread), end (Spread), val acc (Spread), train acc (Spread)]."""
    by = {r[0]: r for r in rows}
    relu, l1 = by.get("ReLU"), by.get("ReLU + L1 penalty")
    if not (relu and l1 and relu[2] and relu[3] and l1[3]):
        return judge([unmeasured("About half the rectifier units are zero at initialisation",
                                 "the ReLU and L1 arms did not both run")])
    cost = relu[4].mean - l1[4].mean
    direction = "lower" if cost >= 0 else "higher"
    return judge([
        Check("About half the rectifier units are exactly zero at initialisation",
              0.45 <= relu[2].mean <= 0.55, f"{pct(relu[2].mean)} of them",
              "between 45% and 55%", {"init": relu[2].mean}),
        Check("The L1 penalty makes the representation much sparser",
              l1[3].mean >= 0.70 and l1[3].mean >= relu[3].mean + 0.20,
              f"{pct(l1[3].mean)} exact zeros with it against {pct(relu[3].mean)} without",
              "at least 70%, and 20 points above plain ReLU",
              {"l1_end": l1[3].mean, "relu_end": relu[3].mean}),
        Check("At little cost in accuracy", cost <= 0.02,
              f"validation accuracy {abs(cost) * 100:.1f} points {direction} with it "
              f"({pm(l1[4])} against {pm(relu[4])})", "at most 2 points lower (mean over "
              "seeds)", {"cost": cost, "cost_points": abs(cost)}),
        Check("Both arms were trained to convergence, so the comparison is fair",
              min(relu[5].low, l1[5].low) >= 0.99,
              f"lowest training accuracy {pct(min(relu[5].low, l1[5].low))}",
              "at least 99% in every seed", {"train_low": min(relu[5].low, l1[5].low)}),
    ])


def _sparsity_findings(rows: list[list]) -> list[str]:
    out = []
    for r in rows:
        if r[2] is None:
            continue
        out.append(f"{r[0]}: {pct(r[2].mean)} of the hidden outputs are exactly zero at "
                   f"initialisation and {pct(r[3].mean)} at the end, at {pm(r[4])} validation "
                   f"accuracy.")
    return out


# ----------------------------------------------------------------------------- saturation

FALL, FALL_BY, DEEP, BAND, RECOVER = 0.10, 500, 0.05, (0.40, 0.60), 0.05


def smooth(values: list[float], k: int = 5) -> list[float]:
    """A centred moving mean over k probes (each probe sees one small batch)."""
    return [statistics.fmean(values[max(0, i - k // 2):i + k // 2 + 1])
            for i in range(len(values))]


def saturation_row(seed: int, history: dict, acts: list[str]) -> list | None:
    """[seed, step the top layer fell below FALL, its lowest (smoothed) mean, at step, its
    mean at the end (last tenth of the probes), the lowest layer's range until the top's
    minimum (low, high), last step]."""
    steps, top = series(history, acts[-1], "mean_activation")
    _, low = series(history, acts[0], "mean_activation")
    if not top or not low:
        return None
    st = smooth(top)
    i_min = min(range(len(st)), key=st.__getitem__)
    fell = next((steps[i] for i, v in enumerate(st) if v < FALL), None)
    tail = statistics.fmean(top[-max(1, len(top) // 10):])
    before = low[:i_min + 1]
    return [seed, fell, st[i_min], steps[i_min], tail, min(before), max(before), steps[-1]]


def saturation(ctx: Context) -> LabResult:
    data = mnist(ctx, quick=5000)
    cfg = _sgd(ctx, (20, 10), lr=0.5, batch_size=10, probe_every=25)
    fig_mean = Figure("mean_activation", "Mean activation per hidden layer during training "
                      "(first seed)", "step", "mean activation")
    fig_sat = Figure("saturation", "Fraction of units saturated (within 5% of 0 or 1), first "
                     "seed", "step", "saturation")
    rows = []
    spec = mlp(data.input_shape, [100] * 4, "Sigmoid", "uniform", 10, "sigmoid 4 x 100")
    for seed in ctx.seeds(quick=1):
        if ctx.stopping:
            break
        ctx.say(f"saturation: 4 hidden sigmoid layers, seed {seed}")
        run = train_run(spec, data, cfg.replace(seed=seed), ctx, arm="sigmoid 4 x 100")
        if ctx.stopping:                    # a run stopped part-way counts for nothing
            break
        acts = [n for n in run.model.order if run.model.spec.nodes[n].kind == "Sigmoid"]
        if seed == ctx.seed:
            for i, node in enumerate(acts, start=1):
                fig_mean.add(f"hidden {i}", *series(run.history, node, "mean_activation"))
                fig_sat.add(f"hidden {i}", *series(run.history, node, "saturation"))
        row = saturation_row(seed, run.history, acts)
        if row is not None:
            rows.append(row + [last(run.history, "val_acc")])
    return LabResult(
        "saturation", "Saturation of sigmoid layers during training",
        "With sigmoid units and the standard initialisation, the top hidden layer is driven "
        "towards 0 (saturation) early in training while the lower layers stay near 0.5, and "
        "it recovers only slowly (Glorot & Bengio 2010).",
        "Glorot & Bengio 2010, Fig. 2 (mean activation of each hidden layer during supervised "
        "learning, sigmoid, standard initialisation, minibatches of 10)",
        [network_line(spec),
         f"The top layer's mean is smoothed over 5 probes; it has fallen when below {FALL}, "
         f"its end is the mean of the last tenth of the probes; the lowest layer's range is "
         f"taken from the start to the top layer's minimum."],
        ["seed", "top layer below 0.1 at step", "top layer's lowest mean", "at step",
         "top layer at end", "lowest layer min", "lowest layer max", "steps", "val acc"],
        rows,
        ["mean_activation: whether hidden 4 falls towards 0 within the first few hundred "
         "steps while hidden 1 stays near 0.5, and whether it climbs back.",
         "saturation: the fraction of units pinned near 0 or 1."],
        _saturation_findings(rows), [fig_mean, fig_sat], saturation_verdict(rows),
        {"thresholds": {"fall": FALL, "fall_by": FALL_BY, "deep": DEEP, "band": list(BAND),
                        "recover": RECOVER}})


def _most(rows: list[list], test) -> tuple[bool, int]:
    """Whether `test` holds for at least two thirds of the seeds, and for how many."""
    n = sum(1 for r in rows if test(r))
    return bool(rows) and 3 * n >= 2 * len(rows), n


def saturation_verdict(rows: list[list]):
    """rows: saturation_row(...) + [val acc], one per seed."""
    if not rows:
        return judge([unmeasured("The top layer is driven towards 0 early", "no run ended")])
    fell, n_fell = _most(rows, lambda r: r[1] is not None and r[1] <= FALL_BY and r[2] < DEEP)
    band, n_band = _most(rows, lambda r: BAND[0] <= r[5] and r[6] <= BAND[1])
    back, n_back = _most(rows, lambda r: r[4] - r[2] >= RECOVER and r[4] >= 2 * r[2]
                         and r[4] >= FALL and r[3] <= 0.8 * r[7])
    seeds = f"of {len(rows)} seed{'s' if len(rows) > 1 else ''}"
    first = rows[0]
    return judge([
        Check("The top layer is driven towards 0 early in training", fell,
              f"in {n_fell} {seeds} (first seed: " + (f"below {FALL} at step {first[1]}" if
                                                      first[1] is not None else
                                                      f"never below {FALL}") +
              f", lowest {first[2]:.3f})", f"below {FALL} by step {FALL_BY} and down to under {DEEP}, "
              f"in at least two thirds of the seeds", {"seeds_fell": n_fell}),
        Check("The lower layers stay near 0.5 meanwhile", band,
              f"in {n_band} {seeds} (first seed: {first[5]:.3f} to {first[6]:.3f})",
              f"the lowest layer between {BAND[0]} and {BAND[1]} until the top's minimum",
              {"seeds_band": n_band}),
        Check("It recovers, slowly", back,
              f"in {n_back} {seeds} (first seed: from {first[2]:.3f} at step {first[3]} to "
              f"{first[4]:.3f} at the end)", f"the end at least {RECOVER} above the minimum, "
              f"twice it and back above {FALL}, the minimum before 80% of the steps",
              {"seeds_recovered": n_back}),
    ])


def _saturation_findings(rows: list[list]) -> list[str]:
    out = []
    for r in rows:
        when = f"fell below {FALL} at step {r[1]}" if r[1] is not None else \
            f"never fell below {FALL}"
        out.append(f"Seed {r[0]}: the top layer's mean {when}, reached {r[2]:.3f} at step "
                   f"{r[3]} and ended at {r[4]:.3f}; the lowest layer stayed between "
                   f"{r[5]:.3f} and {r[6]:.3f} until then; validation accuracy {pct(r[8])}.")
    return out


EXPERIMENTS = [
    Experiment("relu-sparsity", "Rectifier sparsity", "exact zeros per layer at initialisation "
               "and after training, with and without an L1 penalty; ReLU vs Softplus",
               relu_sparsity),
    Experiment("saturation", "Sigmoid saturation", "mean activation of each layer of a "
               "4-hidden-layer sigmoid net over training: the top layer saturates, then "
               "recovers", saturation),
]
