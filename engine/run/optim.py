"""Optimizers, learning-rate schedules, and optimizer state as safetensors + JSON (no pickle).

The stored state also carries, for fp16 runs, the GradScaler's state (its current loss scale,
growth tracker and settings: plain numbers, in the JSON under 'grad_scaler'), so that a resumed
fp16 run goes on with the scale it had reached instead of the default one."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from engine.errors import TrainingError
from engine.io.checks import OPTIMIZER_FORMAT, SCALER_KEYS, scaler_problems
from engine.run.config import TrainConfig

STATE_FORMAT = OPTIMIZER_FORMAT     # optimizer.json "format", checked on load


FUSED_DEVICES = ("cpu", "cuda")     # where PyTorch has fused optimizer kernels


def make_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    """The optimizer `config` names, on `params`, with PyTorch's fused kernels where it has
    them for these parameters (floating point, on a CPU or CUDA device): one pass over all
    parameters instead of ~10 small operations per tensor. The update is the same to rounding
    (tests/engine/test_optimizers.py); on a CPU a step takes a third to a half of the time
    (bench/optimizer_step.py). RMSprop has no fused kernel: it runs its multi-tensor one."""
    params = list(params)
    lr, wd, name = config.learning_rate, config.weight_decay, config.optimizer
    fast = {"fused": True} if _fusable(params) else {}
    O = torch.optim
    if name == "sgd":
        return O.SGD(params, lr=lr, weight_decay=wd, **fast)
    if name in ("sgd+momentum", "nesterov"):
        return O.SGD(params, lr=lr, momentum=config.momentum, weight_decay=wd,
                     nesterov=name == "nesterov", **fast)
    if name == "adam":
        return O.Adam(params, lr=lr, weight_decay=wd, **fast)
    if name == "adamw":
        return O.AdamW(params, lr=lr, weight_decay=wd, **fast)
    if name == "rmsprop":
        return O.RMSprop(params, lr=lr, weight_decay=wd, foreach=bool(fast) or None)
    return O.Adagrad(params, lr=lr, weight_decay=wd, **fast)


def _fusable(params: list[torch.Tensor]) -> bool:
    """Whether PyTorch's fused optimizer kernels take these parameters."""
    return bool(params) and all(p.is_floating_point() and p.device.type in FUSED_DEVICES
                                and not p.is_sparse for p in params)


def state_fields(kind: str) -> set[str]:
    """The state a `kind` optimizer keeps for a parameter (found by one step on a dummy one)."""
    dummy = torch.nn.Parameter(torch.zeros(1))
    optimizer = make_optimizer(TrainConfig(optimizer=kind), [dummy])
    dummy.grad = torch.zeros(1)
    optimizer.step()
    return set(optimizer.state[dummy])


def _check_fields(per_param: dict[int, dict], named: list, kind: str) -> None:
    """Every parameter with a saved state has all the fields the optimizer needs, no others."""
    want = state_fields(kind)
    for i, values in per_param.items():
        have = {k for k, v in values.items() if v is not None}
        if have and have != want:
            missing, extra = sorted(want - have), sorted(have - want)
            raise TrainingError(
                f"the saved {kind} state of {named[i][0]!r} "
                + (f"lacks {', '.join(missing)}" if missing else f"has {', '.join(extra)}, "
                   f"which {kind} does not keep") + "; train with --fresh to start over")


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
    and JSON-ready `meta` ({"format", "optimizer", "params": [names], "scalars": {...}}, and
    for fp16 runs "grad_scaler": the GradScaler's state_dict())."""
    tensors: dict[str, torch.Tensor]
    meta: dict

    @property
    def grad_scaler(self) -> dict | None:
        """The GradScaler's state saved with the optimizer's, or None (not an fp16 run, or a
        file written before it was stored)."""
        return self.meta.get("grad_scaler")


def capture(optimizer: torch.optim.Optimizer, names: list[str], kind: str,
            scaler: torch.amp.GradScaler | None = None) -> OptimizerState:
    """The optimizer's state by parameter name (the optimizer was built on `names`, in order),
    with the state of `scaler` (fp16 runs) when there is one."""
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
    scaler_state = capture_scaler(scaler)
    if scaler_state is not None:
        meta["grad_scaler"] = scaler_state
    return OptimizerState(tensors, meta)


def capture_scaler(scaler: torch.amp.GradScaler | None) -> dict | None:
    """The JSON-ready state of an enabled GradScaler (plain float and int values, only the
    keys files accept), else None. Call it after the scaler's update(), as at a step's end."""
    if scaler is None or not scaler.is_enabled():
        return None
    state = scaler.state_dict()
    return {key: (int(state[key]) if key in ("growth_interval", "_growth_tracker")
                  else float(state[key])) for key in SCALER_KEYS}


def restore_scaler(scaler: torch.amp.GradScaler | None, state: dict | None) -> bool:
    """Load a saved GradScaler state into `scaler`. False when there is nothing to restore
    (no scaler in this run, or none saved: the scaler starts at its default scale);
    TrainingError if the state is not a valid one."""
    if scaler is None or state is None or not scaler.is_enabled():
        return False
    problems = scaler_problems(state)
    if problems:
        raise TrainingError(f"the saved loss-scaler state is not valid: {problems[0]}; train "
                            f"with --fresh to start over")
    scaler.load_state_dict({key: state[key] for key in SCALER_KEYS})
    return True


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
    _check_fields(per_param, named, kind)
    state = optimizer.state_dict()
    state["state"] = per_param
    optimizer.load_state_dict(state)
    return True
