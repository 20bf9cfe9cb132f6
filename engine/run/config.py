"""TrainConfig: every setting of a training run, validated, with a dict round trip for files."""
from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, fields, replace

from engine.errors import TrainingError

OPTIMIZERS = ("sgd", "sgd+momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad")
DEFAULT_LR = {"sgd": 0.01, "sgd+momentum": 0.01, "nesterov": 0.01, "adam": 0.001,
              "adamw": 0.001, "rmsprop": 0.001, "adagrad": 0.01}
SCHEDULES = ("none", "step", "cosine")
LOSSES = ("auto", "cross_entropy", "bce", "mse", "l1", "huber")
PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass
class TrainConfig:
    """Settings of `engine.train`.

    epochs counts the epochs this call trains, after any already in the history of the network
    it continues (a loaded .lwnet or an earlier Run).

    lr None means the optimizer's usual default (DEFAULT_LR). weight_decay is an L2 penalty
    (decoupled for adamw); l1_activation adds l1_activation x mean |a| of every hidden activation
    layer's output to the loss (it pushes rectifier units to exact zero). lr_schedule: "step"
    multiplies the rate by gamma every step_size epochs (default: a third of the epochs),
    "cosine" anneals it to zero over the run; both count epochs from the very first one, so a
    resumed run follows the same curve. loss "auto" is cross-entropy for classes and MSE for
    regression. grad_clip > 0 rescales the gradient to at most that norm. probe_every = 0 turns
    probes off. device: auto (a GPU when there is one), cpu, cuda, cuda:N or mps. precision:
    fp32, or mixed precision on a CUDA GPU: bf16 or fp16 autocast (fp16 with gradient scaling).
    """
    epochs: int = 5
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float | None = None
    momentum: float = 0.9
    weight_decay: float = 0.0
    l1_activation: float = 0.0
    lr_schedule: str = "none"
    step_size: int | None = None
    gamma: float = 0.1
    loss: str = "auto"
    grad_clip: float = 0.0
    device: str = "auto"
    seed: int = 0
    probe_every: int = 20
    val_fraction: float = 0.1
    precision: str = "fp32"

    def __post_init__(self):
        problems = _problems(self)
        if problems:
            raise TrainingError("invalid training settings: " + "; ".join(problems))

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, **overrides) -> "TrainConfig":
        """A config from a file's dict (unknown keys are refused; "dataset" and "pretrain" are
        stored alongside and ignored here), with `overrides` applied."""
        if not isinstance(data, dict):
            raise TrainingError(f"a training config must be an object, not "
                                f"{type(data).__name__}")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names - {"dataset", "pretrain"})   # stored alongside
        if unknown:
            raise TrainingError(f"unknown training setting {unknown[0]!r}; the settings are "
                                f"{', '.join(sorted(names))}")
        values = {k: v for k, v in data.items() if k in names}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes) -> "TrainConfig":
        return replace(self, **changes)


def _problems(c: TrainConfig) -> list[str]:
    p = []
    _int(p, "epochs", c.epochs, 1)
    _int(p, "batch_size", c.batch_size, 1)
    _int(p, "seed", c.seed, 0)
    _int(p, "probe_every", c.probe_every, 0)
    if c.step_size is not None:
        _int(p, "step_size", c.step_size, 1)
    _choice(p, "optimizer", c.optimizer, OPTIMIZERS)
    _choice(p, "lr_schedule", c.lr_schedule, SCHEDULES)
    _choice(p, "loss", c.loss, LOSSES)
    _choice(p, "precision", c.precision, PRECISIONS)
    if c.lr is not None:
        _num(p, "lr", c.lr, 0.0, 10.0, low_open=True)
    _num(p, "momentum", c.momentum, 0.0, 0.9999)
    _num(p, "weight_decay", c.weight_decay, 0.0, 10.0)
    _num(p, "l1_activation", c.l1_activation, 0.0, 100.0)
    _num(p, "gamma", c.gamma, 0.0, 1.0, low_open=True)
    _num(p, "grad_clip", c.grad_clip, 0.0, 1e6)
    _num(p, "val_fraction", c.val_fraction, 0.0, 0.9)
    if not isinstance(c.device, str) or not _device_ok(c.device):
        p.append(f"device must be auto, cpu, cuda, cuda:N or mps, not {c.device!r}")
    return p


def _int(p, name, value, low) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        p.append(f"{name} must be a whole number of at least {low}, not {value!r}")


def _num(p, name, value, low, high, low_open=False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
        (value > low if low_open else value >= low) and value <= high
    if not ok:
        bound = f"above {low}" if low_open else f"at least {low}"
        p.append(f"{name} must be a number {bound} and at most {high}, not {value!r}")


def _choice(p, name, value, choices) -> None:
    if value not in choices:
        close = difflib.get_close_matches(str(value), choices, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        p.append(f"{name} must be one of {', '.join(choices)}, not {value!r}{hint}")


def _device_ok(device: str) -> bool:
    if device in ("auto", "cpu", "cuda", "mps"):
        return True
    return device.startswith("cuda:") and device[5:].isdigit()
