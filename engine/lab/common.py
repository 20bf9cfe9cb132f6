"""What every Lab experiment shares: its result record, budgets, data subsets, seeded runs."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch

from engine.data import load_dataset
from engine.data.dataset import Dataset
from engine.run.events import Control, Dispatcher, StageEvent
from engine.network.spec import NetworkSpec
from engine.run.config import TrainConfig
from engine.lab.verdict import Verdict


@dataclass
class Figure:
    """A figure as data: the GUI draws it (pyqtgraph) and writes `<name>.png`."""
    name: str
    title: str
    x_label: str
    y_label: str
    curves: list[dict] = field(default_factory=list)   # {"label", "x": [...], "y": [...]}
    log_y: bool = False
    log_x: bool = False
    markers: bool = False

    def add(self, label: str, x, y, reference: bool = False) -> None:
        """A curve; `reference` draws it as the thing to compare with (a target, a baseline)."""
        curve = {"label": label, "x": [float(v) for v in x],
                 "y": [None if v is None else float(v) for v in y]}
        if reference:
            curve["reference"] = True
        self.curves.append(curve)


@dataclass
class LabResult:
    """One experiment's outcome. `setup` is the experiment's own lines (its networks, what it
    measures) followed by lines generated from the recipes its runs ran; `verdict` is computed
    from the table by the experiment's rule; `mirrors` names the paper figure or table."""
    name: str
    title: str
    claim: str
    mirrors: str
    setup: list[str]
    columns: list[str]
    rows: list[list]
    look_for: list[str]
    findings: list[str]
    figures: list[Figure]
    verdict: Verdict
    data: dict = field(default_factory=dict)
    quick: bool = False
    seed: int = 0
    seconds: float = 0.0
    stopped: bool = False

    @property
    def budget(self) -> str:
        return "quick (indicative)" if self.quick else "full"

    def to_dict(self) -> dict:
        out = asdict(self)
        out["verdict"] = self.verdict.to_dict()
        out["budget"] = self.budget
        out["indicative"] = self.quick
        return out


SEEDS = 3           # the most seeds an arm is trained with: the base seed and the next ones
MAX_BASE_SEED = 2 ** 31 - SEEDS     # so that every seed of an arm is one a run takes


def check_seed(seed) -> int:
    """The base seed of an experiment, checked before any work: a whole number from 0 such
    that every seed its arms use (SEEDS from it) is one a run takes."""
    from engine.errors import LayerwiseError
    top = MAX_BASE_SEED
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= top:
        raise LayerwiseError(f"the Lab's seed must be a whole number from 0 to {top:,} (its arms "
                             f"train with it and the next {SEEDS - 1}); got {seed!r}")
    return seed


@dataclass
class Context:
    """How an experiment runs: its budget (quick or not), base seed, and the caller's hooks;
    it records the recipe of every run (the report's Setup is made from them)."""
    quick: bool = False
    seed: int = 0
    callbacks: tuple = ()
    control: Control = field(default_factory=Control)
    progress: Callable[[str], None] | None = None
    stage: int = 0
    recorded: list = field(default_factory=list)

    def say(self, text: str) -> None:
        self.stage += 1
        if self.progress:
            self.progress(text)
        Dispatcher(list(self.callbacks), self).emit(StageEvent(self.stage, text, {}))

    @property
    def stopping(self) -> bool:
        return self.control.stopping

    def pick(self, full, quick):
        return quick if self.quick else full

    def seeds(self, quick: int = 3, full: int = SEEDS) -> tuple[int, ...]:
        """The training seeds of every arm: the base seed and the next ones (at most SEEDS)."""
        return tuple(range(self.seed, self.seed + self.pick(full, quick)))

    def record(self, arm: str, recipe) -> None:
        self.recorded.append((arm, recipe.to_dict()))


@dataclass
class Experiment:
    name: str
    title: str
    summary: str
    run: Callable[[Context], LabResult]


def mnist(ctx: Context, full: int = 5000, quick: int = 1000) -> Dataset:
    """mnist-5k, or a seeded subset of it (a data set option, so a recipe can name it)."""
    return load_dataset("mnist-5k", samples=ctx.pick(full, quick), seed=ctx.seed)


def mlp(input_shape, hidden: list[int], act: str, init: str, outputs: int,
        name: str = "") -> NetworkSpec:
    layers = [("Flatten", {})] if len(input_shape) > 1 else []
    for width in hidden:
        layers += [("Linear", {"out_features": width, "init": init}), (act, {})]
    layers.append(("Linear", {"out_features": outputs, "init": init}))
    return NetworkSpec.sequential(input_shape, layers, name=name)


def recipe_of(cfg: TrainConfig, data: Dataset, pretrain=None):
    """The recipe an experiment runs: its training settings, its data, and pre-training."""
    from engine.run.recipe import DataRef, PretrainConfig, Recipe
    ref = data.reference()
    return Recipe(train=cfg, pretrain=pretrain or PretrainConfig(),
                  data=DataRef(ref["name"], ref["options"]))


def train_run(spec_or_model, data: Dataset, cfg: TrainConfig, ctx: Context, arm: str = ""):
    """engine.run_recipe with the context's hooks, its recipe recorded under `arm` (the
    report's Setup is made from the records); returns the Run."""
    from engine.run.recipe import run_recipe
    recipe = recipe_of(cfg, data)
    ctx.record(arm or getattr(spec_or_model, "name", "") or "run", recipe)
    return run_recipe(spec_or_model, recipe, dataset=data, callbacks=ctx.callbacks,
                      control=ctx.control)


@torch.no_grad()
def accuracy(model, data: Dataset, indices=None) -> float:
    """The accuracy of `model`'s current weights on `data` (or its `indices`), in eval mode."""
    from engine.run.objective import make_objective
    objective = make_objective(model, data)
    x, y = (data.x, data.y) if indices is None else (data.x[indices], data.y[indices])
    was = model.training
    model.eval()
    try:
        right = sum(int(objective.correct(model(x[i:i + 2048]), y[i:i + 2048]))
                    for i in range(0, len(x), 2048))
    finally:
        model.train(was)
    return right / max(1, len(x))


def last(history: dict, key: str):
    epochs = history.get("epochs") or []
    return epochs[-1].get(key) if epochs else None


def series(history: dict, node: str, stat: str) -> tuple[list, list]:
    """(probe steps, values) of one statistic of one node, skipping missing values (NaN in
    a history's columns, None in plain lists)."""
    probes = history.get("probes") or {}
    values = (probes.get("layers", {}).get(node) or {}).get(stat, [])
    pairs = [(s, v) for s, v in zip(probes.get("step", []), values) if v is not None and v == v]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def ratio_text(small: float, large: float) -> str:
    """'1/3,000' for a ratio well below one, '2.5x' above."""
    if not small or not large or not math.isfinite(small) or not math.isfinite(large):
        return "n/a"
    r = small / large
    if r < 0.5:
        return f"1/{1 / r:,.0f}" if 1 / r >= 10 else f"1/{1 / r:.1f}"
    return f"{r:.2f}x"
