"""Optimizers, learning-rate schedules, and optimizer state as safetensors + JSON (no pickle)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .errors import TrainingError
from .train_config import TrainConfig

STATE_FORMAT = 1


def make_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    lr, wd, name = config.learning_rate, config.weight_decay, config.optimizer
    O = torch.optim
    if name == "sgd":
        return O.SGD(params, lr=lr, weight_decay=wd)
    if name in ("sgd+momentum", "nesterov"):
        return O.SGD(params, lr=lr, momentum=config.momentum, weight_decay=wd,
                     nesterov=name == "nesterov")
    if name == "adam":
        return O.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return O.AdamW(params, lr=lr, weight_decay=wd)
    if name == "rmsprop":
        return O.RMSprop(params, lr=lr, weight_decay=wd)
    return O.Adagrad(params, lr=lr, weight_decay=wd)


def lr_at(config: TrainConfig, epoch: int, total_epochs: int) -> float:
    """The learning rate for `epoch` (0-based, counted over the whole history) of a run that
    will have `total_epochs` epochs in all."""
    base = config.learning_rate
    if config.lr_schedule == "step":
        size = config.step_size or max(1, total_epochs // 3)
        return base * config.gamma ** (epoch // size)
    if config.lr_schedule == "cosine":
        return base * 0.5 * (1.0 + math.cos(math.pi * min(epoch, total_epochs) / total_epochs))
    return base


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


# ----------------------------------------------------------------------------- state

@dataclass
class OptimizerState:
    """An optimizer's per-parameter state: tensors (for safetensors, keyed 'param_name/key')
    and JSON-ready `meta` ({"format", "optimizer", "params": [names], "scalars": {...}})."""
    tensors: dict[str, torch.Tensor]
    meta: dict


def capture(optimizer: torch.optim.Optimizer, names: list[str], kind: str) -> OptimizerState:
    """The optimizer's state by parameter name (the optimizer was built on `names`, in order)."""
    state = optimizer.state_dict()["state"]
    tensors, scalars = {}, {}
    for index, values in state.items():
        name = names[index]
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{name}/{key}"] = value.detach().to("cpu").contiguous()
            elif isinstance(value, (int, float, bool)) or value is None:
                scalars.setdefault(name, {})[key] = value
    meta = {"format": STATE_FORMAT, "optimizer": kind, "params": list(names),
            "scalars": scalars}
    return OptimizerState(tensors, meta)


def restore(optimizer: torch.optim.Optimizer, named: list[tuple[str, torch.Tensor]],
            saved: OptimizerState, kind: str) -> bool:
    """Load `saved` into `optimizer` (built on `named` params). False if it was saved by another
    optimizer kind (the new one then starts afresh); TrainingError if it does not fit."""
    if saved.meta.get("optimizer") != kind:
        return False
    params = dict(named)
    index = {name: i for i, (name, _) in enumerate(named)}
    per_param: dict[int, dict] = {}
    for key, tensor in saved.tensors.items():
        name, _, field = key.rpartition("/")
        if name not in params:
            raise TrainingError(f"the saved optimizer state has values for {name!r}, which this "
                                f"network does not have; train with --fresh to start over")
        if tensor.dim() and tuple(tensor.shape) != tuple(params[name].shape):
            raise TrainingError(f"the saved optimizer state for {name!r} has shape "
                                f"{tuple(tensor.shape)} but the weight is "
                                f"{tuple(params[name].shape)}; train with --fresh")
        per_param.setdefault(index[name], {})[field] = tensor
    for name, values in saved.meta.get("scalars", {}).items():
        if name in index:
            per_param.setdefault(index[name], {}).update(values)
    state = optimizer.state_dict()
    state["state"] = per_param
    optimizer.load_state_dict(state)
    return True
