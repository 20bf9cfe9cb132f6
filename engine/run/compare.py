"""Pre-training against random initialisation: the same network, seed and data order, trained
with and without greedy layer-wise pre-training, with the same fine-tuning budget."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch

from engine.data import load_dataset
from engine.run.events import Control, Dispatcher, StageEvent
from engine.network.model import Model, build
from engine.run.pretrain import Pretrained, pretrain
from engine.network.spec import NetworkSpec
from engine.run.config import TrainConfig
from engine.run.loop import Run, train

RANDOM = "random"


@dataclass
class Comparison:
    """`runs[name]` for name in "random" and each pre-training mode; each a finished Run."""
    runs: dict[str, Run] = field(default_factory=dict)
    pretrained: dict[str, Pretrained] = field(default_factory=dict)
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


def compare_pretraining(network, dataset, config: TrainConfig,
                        modes: tuple[str, ...] = ("supervised", "unsupervised"),
                        pretrain_epochs: int = 3, pretrain_lr: float | None = None,
                        noise: float = 0.25, tied: bool = False, callbacks=(),
                        control: Control | None = None) -> Comparison:
    """Train `network` from random initialisation and after each pre-training mode.

    Every run starts from the same initial weights (drawn with config.seed) and fine-tunes with
    the same config, hence the same data order; only the starting point differs.
    """
    control = control or Control()
    data = load_dataset(dataset)
    initial = _initial_model(network, config.seed)
    result = Comparison()
    dispatch = Dispatcher(list(callbacks), result)
    plan = [RANDOM, *modes]
    for i, name in enumerate(plan, start=1):
        if control.stopping:
            result.stopped = True
            break
        title = "random initialisation" if name == RANDOM else f"{name} pre-training"
        dispatch.emit(StageEvent(i, f"run {i} of {len(plan)}: {title}", {"run": name}))
        model = copy.deepcopy(initial)
        start = model
        if name != RANDOM:
            start = pretrain(model, data, mode=name, epochs=pretrain_epochs, lr=pretrain_lr,
                             noise=noise, tied=tied, seed=config.seed, device=config.device,
                             batch_size=config.batch_size, val_fraction=config.val_fraction,
                             callbacks=callbacks, control=control)
            result.pretrained[name] = start
            if start.status != "finished":
                result.stopped = True
                break
        run = train(start, data, config, callbacks=callbacks, control=control)
        result.runs[name] = run
        result.stopped = result.stopped or run.stopped
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
