"""Pre-training against random initialisation: the same network, seed and data order, run
from the same recipe with and without greedy layer-wise pre-training (engine.run_recipe), so
only the starting point of the same fine-tuning differs."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch

from engine.errors import TrainingError
from engine.network.model import Model, build
from engine.network.spec import NetworkSpec
from engine.run.events import CompareEvent, Control, Dispatcher
from engine.run.loop import Run
from engine.run.recipe import Recipe, run_recipe

RANDOM = "random"
MODES = ("supervised", "unsupervised")


@dataclass
class Comparison:
    """`runs[name]` for name in "random" and each pre-training mode; each a Run."""
    runs: dict[str, Run] = field(default_factory=dict)
    stopped: bool = False

    def table(self) -> list[dict]:
        """One row per run: its final epoch's numbers and the time spent."""
        rows = []
        for name, run in self.runs.items():
            last = run.history["epochs"][-1] if run.history["epochs"] else {}
            pre = sum(s.get("seconds", 0.0) for s in run.history.get("stages", []))
            rows.append({"run": name, "val_acc": last.get("val_acc"),
                         "val_loss": last.get("val_loss"), "train_loss": last.get("train_loss"),
                         "train_acc": last.get("train_acc"), "epochs": len(run.history["epochs"]),
                         "pretrain_seconds": pre,
                         "finetune_seconds": sum(e["seconds"] for e in run.history["epochs"])})
        return rows


def compare_pretraining(network, recipe: Recipe, modes: tuple[str, ...] = MODES, dataset=None,
                        callbacks=(), control: Control | None = None) -> Comparison:
    """Run `recipe` on `network` from random initialisation (pre-training mode "none") and
    with each pre-training mode in `modes` (recipe.pretrain's other settings apply).

    Every run starts from the same initial weights (drawn with recipe.train.seed) and
    fine-tunes with the same settings, hence the same data order. `dataset` is the data already
    loaded (by default recipe.data is loaded once)."""
    if not isinstance(recipe, Recipe):
        raise TrainingError(f"compare_pretraining needs an engine.Recipe, not "
                            f"{type(recipe).__name__}")
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise TrainingError(f"the pre-training modes to compare are supervised and/or "
                            f"unsupervised, not {list(modes)}")
    control = control or Control()
    if dataset is None:
        from engine.data import load_dataset
        dataset = load_dataset(recipe.data.name, **recipe.data.options)
    initial = _initial_model(network, recipe.train.seed)
    result = Comparison()
    dispatch = Dispatcher(list(callbacks), result)
    plan = [RANDOM, *modes]
    for i, name in enumerate(plan, start=1):
        if control.stopping:
            result.stopped = True
            break
        title = "random initialisation" if name == RANDOM else f"{name} pre-training"
        dispatch.emit(CompareEvent(i, len(plan), name, f"run {i} of {len(plan)}: {title}"))
        mode = "none" if name == RANDOM else name
        run = run_recipe(copy.deepcopy(initial), recipe.with_settings(pretrain={"mode": mode}),
                         dataset=dataset, callbacks=callbacks, control=control)
        result.runs[name] = run
        if run.status != "finished":
            result.stopped = True
            break
    return result


def _initial_model(network, seed: int) -> Model:
    if isinstance(network, NetworkSpec):
        torch.manual_seed(seed)
        return build(network)
    if isinstance(network, Model):
        return network
    model, spec = getattr(network, "model", None), getattr(network, "spec", None)
    if isinstance(model, Model):
        return model
    torch.manual_seed(seed)
    return build(spec)
