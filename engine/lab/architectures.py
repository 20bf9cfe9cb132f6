"""Experiments on architecture and training: convolution vs MLP, accuracy against depth, and
greedy layer-wise pre-training against random initialisation."""
from __future__ import annotations

from pathlib import Path

from engine.run.compare import compare_pretraining
from engine.io.lwnet import load
from engine.network.analysis import analyze
from engine.run.config import TrainConfig
from engine.run.recipe import PretrainConfig
from engine.lab.common import Context, Experiment, Figure, LabResult, last, mlp, mnist, ratio_text, \
    recipe_of, series, train_run
from engine.lab.setup import network_line
from engine.lab.verdict import Check, ahead, clearly_above, gap, judge, pct, pm, spread, unmeasured

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def _epochs_curve(fig: Figure, label: str, history: dict, key: str) -> None:
    epochs = history.get("epochs") or []
    fig.add(label, [e["epoch"] for e in epochs], [e.get(key) for e in epochs])


# ----------------------------------------------------------------------------- cnn vs mlp

def cnn_vs_mlp(ctx: Context) -> LabResult:
    data = mnist(ctx, quick=2000)
    cfg = TrainConfig(epochs=ctx.pick(10, 4), optimizer="adam", lr=1e-3, lr_schedule="cosine",
                      batch_size=32, probe_every=0, seed=ctx.seed, device="cpu")
    fig_acc = Figure("accuracy", "Validation accuracy per epoch (first seed)", "epoch",
                     "val acc", markers=True)
    fig_loss = Figure("loss", "Training loss per step (first seed)", "step", "loss")
    rows = []
    for name in ("lenet5", "mlp"):
        spec = load(EXAMPLES / f"{name}.json").spec
        accs, seconds = [], []
        for seed in ctx.seeds():
            if ctx.stopping:
                break
            ctx.say(f"cnn-vs-mlp: {spec.name}, seed {seed}")
            run = train_run(spec, data, cfg.replace(seed=seed), ctx, arm=spec.name)
            if ctx.stopping:
                break
            accs.append(last(run.history, "val_acc"))
            seconds.append(sum(e["seconds"] for e in run.history["epochs"])
                           / max(1, len(run.history["epochs"])))
            if seed == ctx.seed:
                _epochs_curve(fig_acc, spec.name, run.history, "val_acc")
                steps = run.history["steps"]
                fig_loss.add(spec.name, [s["step"] for s in steps], [s["loss"] for s in steps])
        if accs:
            a = analyze(spec)
            rows.append([spec.name, a.total_params, a.flops, spread(accs), spread(seconds)])
    return LabResult(
        "cnn-vs-mlp", "Convolutional network vs multilayer perceptron",
        "Local 5x5 features, weight sharing and 2x2 subsampling give an image network far "
        "fewer parameters and better accuracy than a fully connected one (LeCun et al. 1998).",
        "LeCun et al. 1998, Section III.C and Fig. 9 (test error of LeNet-5 against fully "
        "connected networks such as 784-300-100-10 on MNIST)",
        [*(network_line(load(EXAMPLES / f"{name}.json").spec, "Network (example)")
           for name in ("lenet5", "mlp")),
         "Each seed is one paired comparison: both networks get the same seed, data order and "
         "validation split."],
        ["network", "parameters", "FLOPs per sample", "val acc", "seconds per epoch"], rows,
        ["The val acc column, seed by seed: the verdict asks for a gap beyond the seeds' "
         "spread.",
         "The table: parameters against FLOPs — convolution trades memory for computation."],
        _cnn_findings(rows), [fig_acc, fig_loss], cnn_verdict(rows),
        {"flops_ratio": rows[0][2] / rows[1][2], "params_ratio": rows[0][1] / rows[1][1]}
        if len(rows) == 2 else {})


def cnn_verdict(rows: list[list]):
    """rows: [network, parameters, FLOPs, val acc (Spread), seconds (Spread)], the CNN first."""
    if len(rows) < 2:
        return judge([unmeasured("The convolutional network is more accurate",
                                 "both networks did not run")])
    cnn, dense = rows
    d = gap(cnn[3], dense[3])
    return judge([
        Check("The convolutional network is more accurate", clearly_above(cnn[3], dense[3]),
              f"{pm(cnn[3])} against {pm(dense[3])}; seed by seed {ahead(d)}" if d
              else "not measured on the same seeds",
              "ahead in every seed, by more than twice the spread of the differences",
              {"gap": d.mean if d else None, "gap_sd": d.sd if d else None,
               "gap_low": d.low if d else None}),
        Check("With far fewer parameters, thanks to weight sharing", cnn[1] <= dense[1] / 2,
              f"{cnn[1]:,} against {dense[1]:,} ({ratio_text(cnn[1], dense[1])})",
              "at most half", {}),
    ])


def _cnn_findings(rows: list[list]) -> list[str]:
    if len(rows) < 2:
        return []
    cnn, dense = rows
    return [f"{cnn[0]} needs {cnn[2] / dense[2]:.2f}x the FLOPs per sample of the MLP (each "
            f"5x5 filter is applied at every position) with {ratio_text(cnn[1], dense[1])} of "
            f"its parameters.",
            f"Per epoch on this CPU: {cnn[4].mean:.2f} s against {dense[4].mean:.2f} s."]


# ----------------------------------------------------------------------------- depth alone

SWEEP = (("Sigmoid", "uniform", "Sigmoid + uniform"), ("Tanh", "xavier_uniform", "Tanh + Xavier"),
         ("ReLU", "kaiming_normal", "ReLU + He"))
DEPTHS = (1, 3, 5, 7)


def depth_sweep(ctx: Context) -> LabResult:
    data = mnist(ctx, quick=5000)
    cfg = TrainConfig(epochs=ctx.pick(20, 4), optimizer="sgd", lr=0.1, batch_size=32,
                      probe_every=0, seed=ctx.seed, device="cpu")
    fig = Figure("accuracy_vs_depth", "Validation accuracy against depth (mean over seeds)",
                 "hidden layers", "val acc", markers=True)
    rows = []
    for act, init, label in SWEEP:
        for depth in DEPTHS:
            accs = []
            for seed in ctx.seeds(quick=1):
                if ctx.stopping:
                    break
                ctx.say(f"depth-sweep: {label}, {depth} hidden layer(s), seed {seed}")
                spec = mlp(data.input_shape, [100] * depth, act, init, 10, f"{label} x{depth}")
                run = train_run(spec, data, cfg.replace(seed=seed), ctx, arm=label)
                if ctx.stopping:            # a run stopped part-way counts for nothing
                    break
                accs.append(last(run.history, "val_acc"))
            if accs:
                rows.append([label, depth, analyze(spec).total_params, spread(accs)])
        mine = [r for r in rows if r[0] == label]
        fig.add(label, [r[1] for r in mine], [r[3].mean for r in mine])
    return LabResult(
        "depth-sweep", "Accuracy against depth",
        "Without care (plain SGD from the standard initialisation, the same budget for every "
        "depth), back-propagation gets worse as sigmoid networks deepen, while rectifiers with "
        "He initialisation keep training (Glorot & Bengio 2010; Glorot, Bordes & Bengio "
        "2011).",
        "Glorot & Bengio 2010, Fig. 2 and Section 3 (the top sigmoid layer saturates and "
        "slows the training of a deep sigmoid network); Larochelle et al. 2009 (networks "
        "without pre-training get worse as they deepen); Glorot, Bordes & Bengio 2011, "
        "Table 1 (deep rectifier networks train well without pre-training)",
        ["Networks: 1, 3, 5 and 7 hidden layers of 100 units, per activation and "
         "initialisation; accuracy is the final weights' on the validation samples.",
         "Tanh + Xavier is shown for comparison; the verdict reads the sigmoid and ReLU rows."],
        ["activation + init", "hidden layers", "parameters", "val acc"], rows,
        ["accuracy_vs_depth: whether the sigmoid curve falls as depth grows while the ReLU + "
         "He curve stays level.",
         "A sigmoid row at the majority class's share (about 10%) predicts one class for every "
         "input."],
        _sweep_findings(rows), [fig], depth_sweep_verdict(rows))


def depth_sweep_verdict(rows: list[list]):
    """rows: [arm, depth, parameters, val acc (Spread)]."""
    acc = {(r[0], r[1]): r[3] for r in rows}
    lo, hi = DEPTHS[0], DEPTHS[-1]
    keys = [(a, d) for a in ("Sigmoid + uniform", "ReLU + He") for d in (lo, hi)]
    if any(acc.get(k) is None for k in keys):
        return judge([unmeasured("Sigmoid networks get worse as they deepen",
                                 f"depths {lo} and {hi} did not both run")])
    s1, s7 = acc[("Sigmoid + uniform", lo)], acc[("Sigmoid + uniform", hi)]
    r1, r7 = acc[("ReLU + He", lo)], acc[("ReLU + He", hi)]
    drop, loss = s1.low - s7.high, r1.mean - r7.mean
    return judge([
        Check("Sigmoid networks get worse as they deepen", drop >= 0.30,
              f"{pm(s1)} with {lo} hidden layer, {pm(s7)} with {hi}",
              f"every seed at depth {hi} at least 30 points below every seed at depth {lo}",
              {"sigmoid_drop": drop}),
        Check("ReLU + He keeps training", loss <= 0.03,
              f"{pm(r1)} with {lo} hidden layer, {pm(r7)} with {hi}",
              f"at most 3 points lower at depth {hi}", {"relu_loss": loss}),
    ])


def _sweep_findings(rows: list[list]) -> list[str]:
    out = []
    for _, _, label in SWEEP:
        mine = [r for r in rows if r[0] == label]
        if mine:
            out.append(f"{label}: " + ", ".join(f"{pct(r[3].mean)} at depth {r[1]}"
                                                 for r in mine)
                       + f" (mean over {mine[0][3].n} seed{'s' if mine[0][3].n > 1 else ''}).")
    return out


# ----------------------------------------------------------------------------- pre-training

ARMS = ("random", "supervised", "unsupervised")


def pretraining(ctx: Context) -> LabResult:
    data = mnist(ctx, quick=2000)
    spec = load(EXAMPLES / "deep_sigmoid.json").spec
    cfg = TrainConfig(epochs=ctx.pick(4, 3), optimizer="sgd", lr=0.1, batch_size=16,
                      probe_every=ctx.pick(40, 20), seed=ctx.seed, device="cpu")
    base = recipe_of(cfg, data, PretrainConfig(epochs=ctx.pick(3, 2), optimizer="adam"))
    fig_acc = Figure("accuracy", "Validation accuracy during fine-tuning (first seed)",
                     "epoch", "val acc", markers=True)
    fig_ratio = Figure("gradient_ratio", "‖∂L/∂a‖ at Linear 1 relative to Linear 5 (first "
                       "seed)", "step", "ratio", log_y=True)
    got = {arm: {"val": [], "loss": [], "pre": [], "fine": []} for arm in ARMS}
    stopped = False
    for seed in ctx.seeds(quick=2):
        if ctx.stopping:
            break
        ctx.say(f"pretraining: random initialisation, supervised and unsupervised "
                f"pre-training, seed {seed}")
        recipe = base.with_settings(train={"seed": seed})
        cmp = compare_pretraining(spec, recipe, modes=ARMS[1:], dataset=data,
                                  callbacks=ctx.callbacks, control=ctx.control)
        for arm in cmp.runs:                # what ran, even when stopped part-way
            ctx.record(arm, recipe.with_settings(pretrain={"mode": "none" if arm == "random"
                                                           else arm}))
        if cmp.stopped or ctx.stopping:
            stopped = True
            break
        for row in cmp.table():
            for key, col in (("val", "val_acc"), ("loss", "train_loss"),
                             ("pre", "pretrain_seconds"), ("fine", "finetune_seconds")):
                got[row["run"]][key].append(row[col])
        if seed == ctx.seed:
            for name, run in cmp.runs.items():
                _epochs_curve(fig_acc, name, run.history, "val_acc")
                st, d1 = series(run.history, "linear_1", "delta_rms")
                _, d5 = series(run.history, "linear_5", "delta_rms")
                fig_ratio.add(name, st, [a / b if b else None for a, b in zip(d1, d5)])
    rows = [[arm, spread(got[arm]["val"]), spread(got[arm]["loss"]), spread(got[arm]["pre"]),
             spread(got[arm]["fine"])] for arm in ARMS if got[arm]["val"]]
    return LabResult(
        "pretraining", "Greedy layer-wise pre-training",
        "Pre-training each hidden layer in turn (supervised, or as an autoencoder) gives "
        "back-propagation a better starting point in a deep sigmoid network than random "
        "initialisation (Hinton et al. 2006; Bengio et al. 2007; Erhan et al. 2010).",
        "Bengio et al. 2007, Table 1 (deep networks with and without greedy layer-wise "
        "pre-training, supervised and unsupervised); Erhan et al. 2010 (pre-trained against "
        "randomly initialised deep networks on MNIST)",
        [network_line(spec, "Network (the deep sigmoid example)"),
         "Every arm of a seed starts from the same initial weights and sees the same data "
         "order; only the starting point of the same fine-tuning differs. Supervised "
         "pre-training uses a temporary output layer per block, unsupervised a denoising "
         "autoencoder."],
        ["run", "val acc", "train loss", "pre-training s", "fine-tuning s"], rows,
        ["The val acc column, seed by seed, against random initialisation's.",
         "gradient_ratio: how much of the gradient reaches Linear 1 in each run."],
        _pretraining_findings(rows), [fig_acc, fig_ratio], pretraining_verdict(rows),
        {"gaps": _gaps(rows)}, stopped=stopped)


def _gaps(rows: list[list]) -> dict:
    """Per-seed differences of validation accuracy between the arms, as the findings quote
    them."""
    by = {r[0]: r[1] for r in rows}
    pairs = (("supervised", "random"), ("unsupervised", "random"),
             ("unsupervised", "supervised"))
    return {f"{a} - {b}": d.to_dict() for a, b in pairs
            if (d := gap(by.get(a), by.get(b))) is not None}


def pretraining_verdict(rows: list[list]):
    """rows: [arm, val acc (Spread), ...] for random, supervised, unsupervised."""
    by = {r[0]: r[1] for r in rows}
    base = by.get("random")
    checks = []
    for arm in ARMS[1:]:
        mine, d = by.get(arm), gap(by.get(arm), base)
        checks.append(Check(
            f"{arm.capitalize()} pre-training gives a better start than random initialisation",
            clearly_above(mine, base),
            f"{pm(mine)} against {pm(base)}; seed by seed {ahead(d)}" if d
            else "not measured on the same seeds",
            "ahead in every seed, by more than twice the spread of the differences",
            {"gap": d.mean if d else None, "gap_low": d.low if d else None}))
    return judge(checks)


def _pretraining_findings(rows: list[list]) -> list[str]:
    by = {r[0]: r for r in rows}
    out = []
    base = by.get("random")
    if base and base[1].mean < 0.15:
        out.append(f"From random initialisation the network ends at {pm(base[1])} validation "
                   f"accuracy, about one class in ten: with this budget it does not train at "
                   f"all, so pre-training here makes the difference between learning and not.")
    sup, uns = by.get("supervised"), by.get("unsupervised")
    d = gap(uns[1], sup[1]) if sup and uns else None
    if d is not None:
        which = "ahead of" if clearly_above(uns[1], sup[1]) else "behind" if \
            clearly_above(sup[1], uns[1]) else "level with, within the seeds' spread,"
        out.append(f"Unsupervised pre-training ends {which} supervised ({pm(uns[1])} against "
                   f"{pm(sup[1])}; seed by seed {ahead(d)}).")
    return out


EXPERIMENTS = [
    Experiment("cnn-vs-mlp", "CNN vs MLP", "LeNet-5 against an MLP on mnist-5k over seeds: "
               "parameters, FLOPs, accuracy, time", cnn_vs_mlp),
    Experiment("pretraining", "Layer-wise pre-training", "random initialisation vs supervised vs "
               "unsupervised pre-training on a deep sigmoid net", pretraining),
    Experiment("depth-sweep", "Depth sweep", "accuracy against depth (1, 3, 5, 7) per "
               "activation and initialisation", depth_sweep),
]
