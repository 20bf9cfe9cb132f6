"""What a run starts from: the device, the network (fresh, given, or resumed), the data."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import TrainingError
from .model import Model, build
from .optim import OptimizerState
from .spec import NetworkSpec


def resolve_device(name: str = "auto") -> torch.device:
    """auto: the first CUDA GPU, else Apple's MPS, else the CPU. An explicit device that is not
    there is a TrainingError saying which devices there are."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(name[5:]) if ":" in name else 0
        if index >= count:
            there = f"{count} CUDA device(s)" if count else "no CUDA GPU (or a CPU-only PyTorch)"
            raise TrainingError(f"device {name!r} is not available: this machine has {there}; "
                                f"use --device auto or cpu")
    if name == "mps" and not _mps_available():
        raise TrainingError("device 'mps' is not available (it needs Apple silicon and a PyTorch "
                            "with MPS support); use --device auto or cpu")
    return torch.device(name)


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


@dataclass
class Start:
    """A model and what it carries over from an earlier run (None for a fresh start)."""
    model: Model
    history: dict | None = None
    optimizer_state: OptimizerState | None = None


def resolve_network(network, seed: int) -> Start:
    """A spec is built (its weights drawn with `seed`); a Model is used as it is; a loaded
    .lwnet (engine.load) or an earlier Run continues from its weights, history and optimizer
    state (a file without weights starts afresh from its network)."""
    if isinstance(network, NetworkSpec):
        torch.manual_seed(seed)
        return Start(build(network))
    if isinstance(network, Model):
        return Start(network)
    model = getattr(network, "model", None)
    spec = getattr(network, "spec", None)
    if model is None and isinstance(spec, NetworkSpec):      # a file without weights
        torch.manual_seed(seed)
        return Start(build(spec))
    if isinstance(model, Model):
        return Start(model, getattr(network, "history", None),
                     _state_of(network))
    raise TrainingError(f"train() needs a NetworkSpec, an engine.Model, a loaded .lwnet file "
                        f"or an earlier run, not {type(network).__name__}")


def _state_of(network) -> OptimizerState | None:
    state = getattr(network, "optimizer_state", None)
    return state() if callable(state) else state
