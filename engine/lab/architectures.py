"""Experiments on architecture: convolution vs MLP, depth vs width, width alone, depth alone,
and greedy layer-wise pre-training against random initialisation."""
from __future__ import annotations

import math
from pathlib import Path

import torch

from engine.run.compare import compare_pretraining
from engine.data import load_dataset
from engine.io.lwnet import load
from engine.network.analysis import analyze
from engine.run.config import TrainConfig
from engine.run.recipe import PretrainConfig
from engine.lab.common import Context, Experiment, Figure, LabResult, last, mlp, mnist, ratio_text, \
    recipe_lines, recipe_of, series, train_run

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def _epochs_curve(fig: Figure, label: str, history: dict, key: str) -> None:
    epochs = history.get("epochs") or []
    fig.add(label, [e["epoch"] for e in epochs], [e.get(key) for e in epochs])


# ----------------------------------------------------------------------------- cnn vs mlp

def cnn_vs_mlp(ctx: Context) -> LabResult:
    data = mnist(ctx, quick=2000)
    cfg = TrainConfig(epochs=ctx.pick(4, 1), optimizer="adam", lr=1e-3, batch_size=32,
                      probe_every=0, seed=ctx.seed, device="cpu")
    fig_acc = Figure("accuracy", "Validation accuracy per epoch", "epoch", "val acc",
                     markers=True)
    fig_loss = Figure("loss", "Training loss per step", "step", "loss")
    rows, runs = [], {}
    for name in ("lenet5", "mlp"):
        if ctx.stopping:
            break
        spec = load(EXAMPLES / f"{name}.json").spec
        ctx.say(f"cnn-vs-mlp: {spec.name}")
        a = analyze(spec)
        run, order = train_run(spec, data, cfg, ctx)
        _epochs_curve(fig_acc, spec.name, run.history, "val_acc")
        steps = run.history["steps"]
        fig_loss.add(spec.name, [s["step"] for s in steps], [s["loss"] for s in steps])
        seconds = sum(e["seconds"] for e in run.history["epochs"])
        rows.append([spec.name, a.total_params, a.flops, last(run.history, "val_acc"),
                     seconds / max(1, len(run.history["epochs"]))])
        runs[spec.name] = {"data_order": order, "history_epochs": run.history["epochs"]}
    findings = []
    if len(rows) == 2:
        cnn, dense = rows
        findings = [
            f"{cnn[0]} has {cnn[1]:,} parameters, {ratio_text(cnn[1], dense[1])} of the MLP's "
            f"{dense[1]:,}, thanks to weight sharing, but needs {cnn[2] / dense[2]:.1f}x the "
            f"FLOPs per sample (each 5x5 filter is applied at every position).",
            f"After {cfg.epochs} epoch(s): {cnn[0]} {cnn[3]:.1%} vs MLP {dense[3]:.1%} "
            f"validation accuracy; {cnn[4]:.1f} s vs {dense[4]:.1f} s per epoch on this CPU."]
    return LabResult(
        "cnn-vs-mlp", "Convolutional network vs multilayer perceptron",
        "Local 5x5 features, weight sharing and 2x2 subsampling give an image network far "
        "fewer parameters and better accuracy than a fully connected one (LeCun et al. 1998).",
        [f"Data: {data.name}, {len(data)} samples, 10% for validation.",
         "Networks: the LeNet-5 and MLP 784-300-100-10 examples.",
         f"Training: Adam, learning rate 0.001, batch 32, {cfg.epochs} epoch(s), seed "
         f"{ctx.seed}, the same data order for both."],
        ["network", "parameters", "FLOPs per sample", "val acc", "seconds per epoch"], rows,
        ["accuracy: which network learns faster per epoch.",
         "The table: parameters against FLOPs — convolution trades memory for computation."],
        findings, [fig_acc, fig_loss], {"runs": runs, "config": cfg.to_dict()})


# ----------------------------------------------------------------------------- depth vs width

def _parity_widths(bits: int, budget: int) -> tuple[int, int]:
    """(width of one hidden layer, width of three hidden layers) with about `budget` params."""
    wide = max(1, round((budget - 2) / (bits + 3)))
    a, b, c = 2, bits + 5, 2 - budget           # 3 layers of w: 2w² + (bits + 5)w + 2
    deep = max(1, round((-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)))
    return wide, deep


def depth_vs_width(ctx: Context) -> LabResult:
    bits = 6
    data = load_dataset("parity", bits=bits)
    cfg = TrainConfig(epochs=ctx.pick(300, 150), optimizer="adam", lr=0.01, batch_size=8,
                      probe_every=0, seed=ctx.seed, device="cpu", val_fraction=0.0)
    fig = Figure("fit_accuracy", f"Accuracy on all {2 ** bits} patterns of {bits}-bit parity",
                 "epoch", "train acc")
    rows, runs = [], {}
    for budget in ctx.pick((100, 200, 400), (100, 300)):
        wide, deep = _parity_widths(bits, budget)
        for label, hidden in ((f"1 x {wide}", [wide]), (f"3 x {deep}", [deep] * 3)):
            if ctx.stopping:
                break
            ctx.say(f"depth-vs-width: budget {budget}, {label}")
            spec = mlp((bits,), hidden, "Tanh", "auto", 2, label)
            run, order = train_run(spec, data, cfg, ctx)
            _epochs_curve(fig, f"{label} (budget {budget})", run.history, "train_acc")
            accs = [e["train_acc"] for e in run.history["epochs"]]
            first = next((i + 1 for i, v in enumerate(accs) if v >= 1.0), None)
            rows.append([budget, label, analyze(spec).total_params, accs[-1] if accs else None,
                         first])
            runs[f"{label} @ {budget}"] = {"data_order": order}
    return LabResult(
        "depth-vs-width", "Depth versus width on parity",
        "Some functions, like n-bit parity, need exponentially many units at depth two but few "
        "when the network is deep: depth buys compactness.",
        [f"Data: all {2 ** bits} patterns of {bits} bits; the class is the parity of the ones.",
         "Networks: one hidden layer (wide) against three hidden layers (narrow) of tanh units, "
         "with about the same number of parameters at each budget.",
         f"Training: Adam, learning rate 0.01, batch {cfg.batch_size}, {cfg.epochs} epochs, "
         f"seed {ctx.seed}; accuracy is measured on all patterns (the fit, not "
         f"generalisation)."],
        ["budget", "architecture", "parameters", "final accuracy", "first epoch at 100%"],
        rows, ["At equal parameters, does the deep network fit parity sooner or better?"],
        _depth_width_findings(rows), [fig], {"runs": runs, "config": cfg.to_dict()})


def _depth_width_findings(rows: list[list]) -> list[str]:
    out = []
    for budget in sorted({r[0] for r in rows}):
        pair = [r for r in rows if r[0] == budget]
        if len(pair) != 2:
            continue
        wide, deep = pair
        when = lambda r: f"reaching 100% at epoch {r[4]}" if r[4] else "never reaching 100%"
        out.append(f"At about {budget} parameters: one wide layer ({wide[1]}) ends at "
                   f"{wide[3]:.1%} ({when(wide)}); three narrow layers ({deep[1]}) end at "
                   f"{deep[3]:.1%} ({when(deep)}).")
    return out


# ----------------------------------------------------------------------------- width alone

def universal_approximation(ctx: Context) -> LabResult:
    data = load_dataset("sine", function="sin3", samples=500, seed=ctx.seed)
    cfg = TrainConfig(epochs=ctx.pick(150, 60), optimizer="adam", lr=0.02,
                      lr_schedule="cosine", batch_size=16, probe_every=0, seed=ctx.seed,
                      device="cpu", val_fraction=0.2)
    fig_err = Figure("error_vs_width", "Validation error against hidden width", "hidden units",
                     "validation MSE", log_y=True, log_x=True, markers=True)
    fig_fit = Figure("fits", "The fitted functions", "x", "y")
    order = torch.argsort(data.x[:, 0])
    xs, ys = data.x[order, 0], data.y[order].reshape(-1)
    fig_fit.add("target sin(3x)", xs.tolist(), ys.tolist(), reference=True)
    widths = ctx.pick((1, 2, 4, 8, 16, 32, 64, 128, 256), (1, 4, 16, 64))
    rows, runs = [], {}
    for width in widths:
        if ctx.stopping:
            break
        ctx.say(f"universal-approximation: width {width}")
        spec = mlp((1,), [width], "Tanh", "pytorch", 1, f"width {width}")
        run, data_order = train_run(spec, data, cfg, ctx)
        with torch.no_grad():
            pred = run.model.eval()(data.x[order]).reshape(-1)
        if width in (1, 4, 16, widths[-1]):
            fig_fit.add(f"{width} unit{'s' if width > 1 else ''}", xs.tolist(), pred.tolist())
        val = last(run.history, "val_loss")
        rows.append([width, analyze(spec).total_params, last(run.history, "train_loss"), val])
        runs[str(width)] = {"data_order": data_order}
    fig_err.add("one hidden layer of tanh units", [r[0] for r in rows], [r[3] for r in rows])
    return LabResult(
        "universal-approximation", "Universal approximation with one hidden layer",
        "One hidden layer of enough units approximates any continuous function on a compact "
        "set (Cybenko 1989; Hornik 1991) — the question is how many units it takes.",
        [f"Data: {len(data)} points of sin(3x) on [-π, π], 20% for validation.",
         f"Networks: Linear(width), tanh, Linear(1), for width in {list(widths)}, PyTorch's "
         f"default initialisation (its random biases spread the units over the input range).",
         f"Training: Adam, learning rate 0.02 with a cosine schedule, batch 16, {cfg.epochs} "
         f"epochs, seed {ctx.seed}."],
        ["hidden units", "parameters", "train MSE", "validation MSE"], rows,
        ["error_vs_width: the error falls as the layer widens.",
         "fits: narrow layers give a coarse, smooth curve; wide ones follow every bump."],
        _width_findings(rows), [fig_err, fig_fit], {"runs": runs, "config": cfg.to_dict()})


def _width_findings(rows: list[list]) -> list[str]:
    if len(rows) < 2:
        return []
    best = min(rows, key=lambda r: r[3])
    out = [f"With 1 hidden unit the validation MSE is {rows[0][3]:.4f}; the lowest, "
           f"{best[3]:.4f} ({ratio_text(best[3], rows[0][3])} of it), comes with {best[0]} "
           f"units."]
    stall = next((r for i, r in enumerate(rows[:-1])
                  if all(s[3] > 0.8 * r[3] for s in rows[i + 1:])), None)
    if stall is not None and stall is not rows[-1] and stall[0] < rows[-1][0]:
        out.append(f"Beyond {stall[0]} units the error stops falling within this training "
                   f"budget: there the limit is the optimisation (more steps), not the width.")
    elif best[3] < 0.5 * rows[0][3]:
        out.append("The error keeps falling as the layer widens: width alone buys accuracy.")
    return out


# ----------------------------------------------------------------------------- depth alone

SWEEP = (("Sigmoid", "uniform", "Sigmoid + uniform"), ("Tanh", "xavier_uniform", "Tanh + Xavier"),
         ("ReLU", "kaiming_normal", "ReLU + He"))


def depth_sweep(ctx: Context) -> LabResult:
    data = mnist(ctx, quick=2000)
    cfg = TrainConfig(epochs=ctx.pick(3, 1), optimizer="sgd", lr=0.1, batch_size=32,
                      probe_every=0, seed=ctx.seed, device="cpu")
    depths = (1, 3, 5, 7)
    fig = Figure("accuracy_vs_depth", "Validation accuracy against depth", "hidden layers",
                 "val acc", markers=True)
    rows, runs = [], {}
    for act, init, label in SWEEP:
        accs = []
        for depth in depths:
            if ctx.stopping:
                break
            ctx.say(f"depth-sweep: {label}, {depth} hidden layer(s)")
            spec = mlp(data.input_shape, [100] * depth, act, init, 10, f"{label} x{depth}")
            run, order = train_run(spec, data, cfg, ctx)
            accs.append(last(run.history, "val_acc"))
            rows.append([label, depth, analyze(spec).total_params, accs[-1]])
            runs[f"{label} x{depth}"] = {"data_order": order}
        fig.add(label, depths[:len(accs)], accs)
    findings = []
    for _, _, label in SWEEP:
        mine = [r for r in rows if r[0] == label]
        if len(mine) == len(depths):
            findings.append(f"{label}: {mine[0][3]:.1%} with 1 hidden layer, {mine[-1][3]:.1%} "
                            f"with {depths[-1]}.")
    return LabResult(
        "depth-sweep", "Accuracy against depth",
        "Without care, plain back-propagation gets worse as sigmoid networks deepen, while "
        "rectifiers with He initialisation keep training.",
        [f"Data: {data.name}, {len(data)} samples, 10% for validation.",
         "Networks: 1, 3, 5 and 7 hidden layers of 100 units, per activation and initialisation.",
         f"Training: SGD, learning rate 0.1, batch 32, {cfg.epochs} epoch(s), seed {ctx.seed}, "
         f"the same data order for every network."],
        ["activation + init", "hidden layers", "parameters", "val acc"], rows,
        ["accuracy_vs_depth: the sigmoid curve falls with depth; ReLU + He does not."],
        findings, [fig], {"runs": runs, "config": cfg.to_dict()})


# ----------------------------------------------------------------------------- pre-training

def pretraining(ctx: Context) -> LabResult:
    data = mnist(ctx, quick=2000)
    spec = load(EXAMPLES / "deep_sigmoid.json").spec
    cfg = TrainConfig(epochs=ctx.pick(4, 3), optimizer="sgd", lr=0.1, batch_size=16,
                      probe_every=ctx.pick(40, 20), seed=ctx.seed, device="cpu")
    recipe = recipe_of(cfg, data, PretrainConfig(epochs=ctx.pick(3, 2), optimizer="adam"))
    ctx.say("pretraining: random initialisation, supervised and unsupervised pre-training")
    cmp = compare_pretraining(spec, recipe, modes=("supervised", "unsupervised"), dataset=data,
                              callbacks=ctx.callbacks, control=ctx.control)
    fig_acc = Figure("accuracy", "Validation accuracy during fine-tuning", "epoch", "val acc",
                     markers=True)
    fig_loss = Figure("loss", "Training loss per step during fine-tuning", "step", "loss")
    fig_ratio = Figure("gradient_ratio", "‖∂L/∂a‖ at Linear 1 relative to Linear 5",
                       "step", "ratio", log_y=True)
    rows = []
    for name, run in cmp.runs.items():
        _epochs_curve(fig_acc, name, run.history, "val_acc")
        steps = run.history["steps"]
        fig_loss.add(name, [s["step"] for s in steps], [s["loss"] for s in steps])
        st, d1 = series(run.history, "linear_1", "delta_norm")
        _, d5 = series(run.history, "linear_5", "delta_norm")
        fig_ratio.add(name, st, [a / b if b else None for a, b in zip(d1, d5)])
        row = next(r for r in cmp.table() if r["run"] == name)
        rows.append([name, row["val_acc"], row["train_loss"], row["pretrain_seconds"],
                     row["finetune_seconds"]])
    findings = []
    if len(rows) == 3:
        base = rows[0][1]
        for r in rows[1:]:
            findings.append(f"{r[0].capitalize()} pre-training: {r[1]:.1%} validation accuracy "
                            f"after the same fine-tuning budget, against {base:.1%} from random "
                            f"initialisation ({(r[1] - base) * 100:+.1f} points).")
    return LabResult(
        "pretraining", "Greedy layer-wise pre-training",
        "Pre-training each hidden layer in turn (supervised, or as an autoencoder) gives "
        "back-propagation a better starting point in a deep sigmoid network (Hinton et al. "
        "2006; Bengio et al. 2007).",
        [f"Data: {data.name}, {len(data)} samples, 10% for validation.",
         "Network: the deep sigmoid example (5 hidden layers of 100, uniform initialisation).",
         *recipe_lines(recipe.with_settings(pretrain={"mode": "unsupervised"})),
         "Supervised pre-training has the same settings with a temporary output layer per "
         "block instead of a decoder. Every run starts from the same initial weights and sees "
         "the same data order; only the starting point of the same fine-tuning differs."],
        ["run", "val acc", "train loss", "pre-training s", "fine-tuning s"], rows,
        ["accuracy: the pre-trained runs start higher and stay ahead.",
         "gradient_ratio: how much of the gradient reaches Linear 1 in each run."],
        findings, [fig_acc, fig_loss, fig_ratio],
        {"recipe": recipe.to_dict(), "runs": {n: {"stages": r.history.get("stages", [])}
                                           for n, r in cmp.runs.items()}},
        stopped=cmp.stopped)


EXPERIMENTS = [
    Experiment("cnn-vs-mlp", "CNN vs MLP", "LeNet-5 against an MLP on mnist-5k: parameters, "
               "FLOPs, accuracy per epoch, time", cnn_vs_mlp),
    Experiment("depth-vs-width", "Depth vs width", "n-bit parity: one wide hidden layer against "
               "three narrow ones at equal parameter budgets", depth_vs_width),
    Experiment("universal-approximation", "Universal approximation", "one hidden layer of "
               "width 1 to 256 on sin(3x): error against width, fits drawn",
               universal_approximation),
    Experiment("pretraining", "Layer-wise pre-training", "random initialisation vs supervised vs "
               "unsupervised pre-training on a deep sigmoid net", pretraining),
    Experiment("depth-sweep", "Depth sweep", "accuracy against depth (1, 3, 5, 7) per "
               "activation and initialisation", depth_sweep),
]
