"""TrainConfig: every setting of a training run, validated, with a dict round trip for files."""
from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, fields, replace

from engine.errors import TrainingError
from engine.network.schema import Param, shown

OPTIMIZERS = ("sgd", "sgd+momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad")
DEFAULT_LR = {"sgd": 0.01, "sgd+momentum": 0.01, "nesterov": 0.01, "adam": 0.001,
              "adamw": 0.001, "rmsprop": 0.001, "adagrad": 0.01}
SCHEDULES = ("none", "step", "cosine")
LOSSES = ("auto", "cross_entropy", "bce", "mse", "l1", "huber")
PRECISIONS = ("fp32", "bf16", "fp16")
TARGETS = ("labels", "inputs")
MAX_SEED = 2 ** 31 - 1
MAX_SHIFT = 16          # pixels an augmented training image may move each way

# Every setting of a run, described once: the command line's flags, the window's Training panel
# and the validation below are all made from these.
PARAMS = (
    Param("epochs", "int", 5, "passes over the training data (counted after any already done)",
          min=1, max=1_000_000),
    Param("batch_size", "int", 32, "samples per optimizer step", min=1, max=1 << 20),
    Param("optimizer", "choice", "adam", "how the weights follow the gradient",
          choices=OPTIMIZERS),
    Param("lr", "float", None, "learning rate: the size of each step (unset: the optimizer's "
          "usual rate, sgd 0.01, adam 0.001, ...)", min=0.0, max=10.0,
          above=True, nullable=True, null_help="usual rate", label="learning rate"),
    Param("momentum", "float", 0.9, "momentum (sgd+momentum, nesterov, rmsprop)", min=0.0,
          max=0.9999),
    Param("weight_decay", "float", 0.0, "L2 penalty on the weights (decoupled for adamw)",
          min=0.0, max=10.0, label="L2 (weight decay)"),
    Param("l1_activation", "float", 0.0, "L1 penalty on hidden activations (pushes "
          "rectifier units to exact zero)", min=0.0, max=100.0, label="L1 activation"),
    Param("lr_schedule", "choice", "none", "how the learning rate changes over the epochs: "
          "step (x gamma every step_size epochs) or cosine (to zero)", choices=SCHEDULES,
          label="schedule"),
    Param("step_size", "int", None, "epochs between steps of the step schedule", min=1,
          max=1_000_000, nullable=True, null_help="a third of epochs"),
    Param("gamma", "float", 0.1, "factor of each step of the step schedule", min=0.0, max=1.0,
          above=True),
    Param("loss", "choice", "auto", "auto: cross-entropy for classes, MSE for regression",
          choices=LOSSES),
    Param("grad_clip", "float", 0.0, "rescale the gradient to at most this norm (0: off)",
          min=0.0, max=1e6, label="gradient clipping"),
    Param("device", "device", "auto", "where training runs: auto (a GPU when there is one), "
          "cpu, cuda, cuda:N or mps"),
    Param("seed", "int", 0, "initial weights, data order, dropout", min=0, max=MAX_SEED),
    Param("probe_every", "int", 20, "per-layer statistics every N steps (0: off)", min=0,
          max=1_000_000, label="probe every"),
    Param("val_fraction", "float", 0.1, "part of the data kept for validation", min=0.0,
          max=0.9, label="validation fraction"),
    Param("precision", "choice", "fp32", "fp32, or mixed precision on a CUDA GPU: bf16, or "
          "fp16 with gradient scaling", choices=PRECISIONS),
    Param("target", "choice", "labels", "what the network learns to give: labels, the data "
          "set's classes or targets; inputs, each input itself (an autoencoder: a regression "
          "whose output has the input's shape)", choices=TARGETS),
    Param("augment_flip", "bool", False, "images: mirror each training image left to right "
          "with probability 1/2 (validation data are never changed)", label="random flips"),
    Param("augment_crop", "int", 0, "images: shift each training image by up to N pixels each "
          "way, zeros entering (pad N, crop back at random; 0: off)", min=0, max=MAX_SHIFT,
          label="random shifts (pixels)"),
)


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
    target: "labels" (the data set's) or "inputs" (reproduce each input: an autoencoder).
    augment_flip and augment_crop augment the training batches of image data (engine.run.augment):
    a random left-right mirror, a random shift by up to augment_crop pixels (0: off).
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
    target: str = "labels"
    augment_flip: bool = False
    augment_crop: int = 0

    def __post_init__(self):
        check(self, PARAMS, "invalid training settings")

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, **overrides) -> "TrainConfig":
        """A config from a file's dict (unknown keys are refused; "dataset", "pretrain" and
        "threads", stored alongside in a flat recipe, are ignored here), with `overrides`
        applied."""
        names = {f.name for f in fields(cls)}
        known_keys(data, names | {"dataset", "pretrain", "threads"}, "a training config",
                   "training setting", names)
        values = {k: v for k, v in data.items() if k in names}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes) -> "TrainConfig":
        return replace(self, **changes)


def known_keys(data, allowed: set[str], what: str, noun: str, listed: set[str]) -> None:
    """Refuse `data` (`what`: "a recipe") unless it is an object whose keys are all in
    `allowed`, naming the first other key (cut to a few dozen characters) as an unknown `noun`
    and the `listed` ones."""
    if not isinstance(data, dict):
        raise TrainingError(f"{what} must be an object, not {type(data).__name__}")
    unknown = [k for k in data if k not in allowed]
    if unknown:
        raise TrainingError(f"unknown {noun} {shown(unknown[0])}; the {noun}s are "
                            f"{', '.join(sorted(listed))}")


def check(settings, params: tuple[Param, ...], what: str) -> None:
    """Validate and normalise every field of a settings dataclass by its Param; raise
    TrainingError naming every field that is wrong and what it accepts."""
    problems = []
    for param in params:
        try:
            object.__setattr__(settings, param.name,
                               param.validate(getattr(settings, param.name)))
        except ValueError as exc:
            problems.append(_with_hint(param, getattr(settings, param.name), str(exc)))
    if problems:
        raise TrainingError(f"{what}: " + "; ".join(problems))


def _with_hint(param: Param, value, message: str) -> str:
    if param.type == "choice" and isinstance(value, str) and len(value) <= 64:
        close = difflib.get_close_matches(value, param.choices, n=1)
        if close:
            return f"{message} (did you mean {close[0]}?)"
    return message
