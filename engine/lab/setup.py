"""The Setup of a Lab report, generated from the recipes its runs actually ran.

Every run an experiment trains goes through `Context.record` (engine.lab.common.train_run and
the pre-training comparison do this), so the report's Training and Data lines are made from
those recipes, never typed by hand: the settings every run shared, then what differed by arm,
then the seeds.
"""
from __future__ import annotations

from engine.run.config import PARAMS
from engine.run.recipe import PRETRAIN_PARAMS

_TRAIN = {p.name: p for p in PARAMS}
_PRE = {p.name: p for p in PRETRAIN_PARAMS}
# always stated, even at their defaults: what decides a run
_CORE = ("optimizer", "lr", "batch_size", "epochs", "val_fraction", "probe_every")
_SKIP = ("seed", "device", "precision")


def _value(param, value, optimizer: str | None = None) -> str:
    if param.name == "lr" and value is None and optimizer:
        from engine.run.config import DEFAULT_LR
        return f"{DEFAULT_LR[optimizer]:g} ({optimizer}'s usual rate)"
    if param.name == "probe_every" and value == 0:
        return "off"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return "unset" if value is None else str(value)


def _label(param) -> str:
    return param.label or param.name.replace("_", " ")


def _train_items(train: dict, keys) -> list[str]:
    return [f"{'probes' if k == 'probe_every' and not train[k] else _label(_TRAIN[k])} "
            f"{_value(_TRAIN[k], train[k], train.get('optimizer'))}" for k in keys]


def _pre_items(pre: dict) -> list[str]:
    if pre.get("mode", "none") == "none":
        return ["none"]
    keys = [k for k in _PRE if k != "mode" and (pre["mode"] == "unsupervised"
                                                 or k not in ("noise", "tied"))]
    return [pre["mode"]] + [f"{_label(_PRE[k])} {_value(_PRE[k], pre[k], pre.get('optimizer'))}"
                            for k in keys]


def _shown_keys(recipes: list[dict]) -> list[str]:
    """Training fields worth stating: the core ones and any not at its default in some run."""
    return [p.name for p in PARAMS if p.name not in _SKIP and (
        p.name in _CORE or any(r["train"][p.name] != p.default for r in recipes))]


def _data_text(data: dict) -> str:
    options = ", ".join(f"{k} {v}" for k, v in sorted(data.get("options", {}).items()))
    return data.get("name", "") + (f" ({options})" if options else "")


def setup_lines(recorded: list[tuple[str, dict]]) -> list[str]:
    """Setup lines from (arm label, recipe dict) of every run, in the order they ran."""
    if not recorded:
        return []
    recipes = [r for _, r in recorded]
    keys = _shown_keys(recipes)
    common = [k for k in keys if len({repr(r["train"][k]) for r in recipes}) == 1]
    lines = []
    datas = sorted({_data_text(r["data"]) for r in recipes})
    if len(datas) == 1:
        lines.append(f"Data: {datas[0]}.")
    lines.append("Training (every run): " + ", ".join(_train_items(recipes[0]["train"],
                                                                   common)) + ".")
    pres = {repr(r["pretrain"]) for r in recipes}
    if len(pres) == 1 and recipes[0]["pretrain"].get("mode", "none") != "none":
        lines.append("Pre-training (every run): " + ", ".join(_pre_items(recipes[0]["pretrain"]))
                     + ".")
    lines += _by_arm(recorded, keys, common, len(datas) > 1, len(pres) > 1)
    seeds = sorted({r["train"]["seed"] for r in recipes})
    threads = {r.get("threads") for r in recipes}
    split = ", data order and validation split" if any(r["train"]["val_fraction"]
                                                       for r in recipes) else " and data order"
    lines.append(f"Seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))} (initial "
                 f"weights{split}); every arm sees the same seeds"
                 + (f"; {threads.pop()} CPU thread(s)." if len(threads) == 1 and None not in
                    threads else "."))
    return lines


def _by_arm(recorded, keys, common, data_differs: bool, pre_differs: bool) -> list[str]:
    out, seen = [], set()
    for arm, recipe in recorded:
        items = _train_items(recipe["train"], [k for k in keys if k not in common])
        if data_differs:
            items.insert(0, f"data {_data_text(recipe['data'])}")
        if pre_differs:
            items.append("pre-training " + ", ".join(_pre_items(recipe["pretrain"])))
        line = f"{arm}: " + ", ".join(items) + "."
        if items and line not in seen:
            seen.add(line)
            out.append(line)
    return out


def data_line(data) -> str:
    """The Data line of an experiment that probes without training."""
    return f"Data: {_data_text(data.reference())}, {len(data)} samples."


def network_line(spec, what: str = "Network") -> str:
    """'Network deep sigmoid: Input 784 → 5 × (Linear 100, uniform ±1/√n → Sigmoid) → Linear
    10', generated from the spec that ran (runs of a repeated pair of layers are folded)."""
    from engine.network.analysis import analyze
    from engine.network.describe import summary
    nodes = [spec.nodes[n] for n in analyze(spec).order]
    items = [f"{n.kind} {summary(n.kind, n.params)}".strip() for n in nodes]
    out, i = [], 0
    while i < len(items):
        k = 1
        while items[i:i + 2] == items[i + 2 * k:i + 2 * k + 2] and i + 1 < len(items):
            k += 1
        if k > 1:
            out.append(f"{k} × ({items[i]} → {items[i + 1]})")
            i += 2 * k
        else:
            out.append(items[i])
            i += 1
    return f"{what} {spec.name}: " + " → ".join(out) + "."
