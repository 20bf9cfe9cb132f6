"""What a run starts from: the device, the network (fresh, given, or resumed), the data."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from engine.errors import TrainingError
from engine.network.model import Model, build
from engine.run.optim import OptimizerState, capture_scaler, restore_scaler
from engine.network.spec import NetworkSpec


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


def to_device(tensor: torch.Tensor, device) -> torch.Tensor:
    """`tensor` on `device`; to a CUDA device through pinned memory, without blocking the host
    (later work on the device's stream waits for the copy)."""
    device = torch.device(device)
    if device.type != "cuda" or tensor.device.type != "cpu":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


def check_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of `precision` on `device` (None for fp32). Mixed precision needs a
    CUDA GPU, and bf16 one that supports it (Ampere or newer)."""
    if precision == "fp32":
        return None
    if device.type != "cuda":
        raise TrainingError(f"precision {precision} (mixed precision) needs a CUDA GPU, but "
                            f"training runs on {device}; use --precision fp32 or --device cuda")
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        name = torch.cuda.get_device_name(device)
        raise TrainingError(f"precision bf16 is not supported by {name}; use --precision fp16 "
                            f"(or fp32)")
    return torch.bfloat16 if precision == "bf16" else torch.float16


def new_scaler(device: torch.device) -> torch.amp.GradScaler:
    """The loss scaler of an fp16 run on `device`, with torch's default settings."""
    return torch.amp.GradScaler(device.type)


def device_info(device) -> dict:
    """The device in use, for display: {"device", "name", "allocated", "reserved", "total"};
    the byte counts are this process's CUDA memory (None on other devices)."""
    device = torch.device(device) if not isinstance(device, torch.device) else device
    info = {"device": str(device), "name": _device_name(device), "allocated": None,
            "reserved": None, "total": None}
    if device.type == "cuda" and torch.cuda.is_available():
        index = device.index if device.index is not None else torch.cuda.current_device()
        info.update(allocated=torch.cuda.memory_allocated(index),
                    reserved=torch.cuda.memory_reserved(index),
                    total=torch.cuda.get_device_properties(index).total_memory)
    return info


def _device_name(device: torch.device) -> str:
    if device.type == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    import platform
    return platform.processor() or platform.machine() or "CPU"


class Mixed:
    """Mixed precision for one run: the autocast context for forward passes, and for fp16 a
    GradScaler (backward scales the loss, then unscales the gradients so that probes and
    clipping see true values; a step with non-finite gradients is skipped by the scaler).
    The scaler's state (its scale reached so far) is saved with the optimizer's: `state()`,
    and `load_state(saved)` when a run continues."""

    def __init__(self, precision: str, device: torch.device):
        self.dtype = check_precision(precision, device)
        self.device_type = device.type
        self.scaler = new_scaler(device) if self.dtype is torch.float16 else None
        self._scale: float | None = None     # fp16: the scale after the last step

    def state(self) -> dict | None:
        """The scaler's JSON-ready state (fp16), else None."""
        return capture_scaler(self.scaler)

    def load_state(self, saved: OptimizerState | None) -> bool:
        """Continue with the scaler state stored in `saved`: True if restored, False when this
        run has no scaler or `saved` holds none (older files, bf16 and fp32 runs)."""
        self._scale = None
        return restore_scaler(self.scaler, saved.grad_scaler if saved is not None else None)

    @property
    def skips_bad_steps(self) -> bool:
        return self.scaler is not None

    @property
    def loss_scale(self):
        """A function giving the factor the loss is multiplied by before backward (fp16), for
        the probes; None when the loss is not scaled."""
        return self.scaler.get_scale if self.scaler is not None else None

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor, optimizer, backward=None) -> None:
        """Back-propagate `loss` (scaled, fp16) into the gradients, with `backward(loss)` when
        given (a probed step), else loss.backward(); unscale them again (fp16)."""
        scaled = loss if self.scaler is None else self.scaler.scale(loss)
        if backward is None:
            scaled.backward()
        else:
            backward(scaled)
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer) -> bool:
        """The optimizer's step; False when the fp16 loss scaler skipped it (the gradients
        overflowed, and the scale came down). The scale is read once a step (a device sync on
        a GPU), after the update; the one before is the last step's."""
        if self.scaler is None:
            optimizer.step()
            return True
        before = self.scaler.get_scale() if self._scale is None else self._scale
        self.scaler.step(optimizer)
        self.scaler.update()
        self._scale = self.scaler.get_scale()
        return self._scale >= before
