"""The recipe of a run: its one owner.

A `Recipe` is everything that decides a run besides the network: the training settings
(`TrainConfig`), the pre-training settings (`PretrainConfig`), the data (`DataRef`) and the CPU
thread count. Every field is described by a schema `Param` (type, default, range or choices,
help), from which the command line's flags and the window's Training panel are made.
`run_recipe` runs one: greedy layer-wise pre-training stages, then training, on the one training
loop. The command line, the window, comparisons and the Lab all run their runs through it, so the
same recipe gives the same run everywhere. `.lwnet` files store the recipe (`to_dict`); older
files, which stored a flat training config, are migrated by `from_dict`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from engine.errors import TrainingError
from engine.network.schema import Param, shown
from engine.run.config import DEFAULT_LR, OPTIMIZERS, TrainConfig, check, known_keys

PRETRAIN_MODES = ("none", "supervised", "unsupervised")

PRETRAIN_PARAMS = (
    Param("mode", "choice", "none", "greedy layer-wise pre-training of the hidden layers before "
          "training: supervised (a temporary output layer) or unsupervised (autoencoders)",
          choices=PRETRAIN_MODES),
    Param("epochs", "int", 3, "epochs per pre-trained layer", min=1, max=100_000),
    Param("optimizer", "choice", "adam", "the optimizer of pre-training", choices=OPTIMIZERS),
    Param("lr", "float", None, "learning rate of pre-training (unset: its optimizer's usual "
          "rate)", min=0.0, max=10.0, above=True, nullable=True, null_help="usual rate",
          label="learning rate"),
    Param("batch_size", "int", None, "samples per pre-training step (unset: the training "
          "batch size)", min=1, max=1 << 20, nullable=True, null_help="as training"),
    Param("noise", "float", 0.25, "unsupervised: fraction of inputs masked (denoising "
          "autoencoders; 0 for plain ones)", min=0.0, max=0.95),
    Param("tied", "bool", False, "unsupervised: decoders use the encoders' weights, transposed",
          label="tied weights"),
)

DATA_PARAMS = (
    Param("name", "text", "", "a data set name (see `datasets`) or a path to a .csv, .npz, IDX "
          "file or image folder", label="data set"),
)

RECIPE_PARAMS = (
    Param("threads", "int", None, "CPU threads for PyTorch (1 is often faster for small "
          "networks on a busy machine)", min=1, max=1024, nullable=True,
          null_help="PyTorch's choice"),
)


@dataclass
class PretrainConfig:
    """Greedy layer-wise pre-training: every block but the output block, in turn, with the ones
    before it frozen (engine.run.pretrain). Each field is described in PRETRAIN_PARAMS."""
    mode: str = "none"
    epochs: int = 3
    optimizer: str = "adam"
    lr: float | None = None
    batch_size: int | None = None
    noise: float = 0.25
    tied: bool = False

    def __post_init__(self):
        check(self, PRETRAIN_PARAMS, "invalid pre-training settings")

    @property
    def active(self) -> bool:
        return self.mode != "none"

    @property
    def learning_rate(self) -> float:
        """The rate pre-training uses: `lr`, or its optimizer's usual one."""
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Any) -> "PretrainConfig":
        return cls(**_known(data, cls, "pre-training settings"))

    def replace(self, **changes) -> "PretrainConfig":
        return replace(self, **changes)


@dataclass
class DataRef:
    """The data a run trains on: a data set name or a path, and its options."""
    name: str = ""
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        check(self, DATA_PARAMS, "invalid data reference")
        if not isinstance(self.options, dict) or not all(isinstance(k, str)
                                                         for k in self.options):
            raise TrainingError(f"data options must be an object of named values, not "
                                f"{shown(self.options)}")
        self.options = dict(self.options)

    def to_dict(self) -> dict:
        return {"name": self.name, "options": dict(self.options)}

    @classmethod
    def from_dict(cls, data: Any) -> "DataRef":
        if data is None:
            return cls()
        return cls(**_known(data, cls, "data reference"))


@dataclass
class Recipe:
    """Everything that decides a run besides the network. See the module docstring."""
    train: TrainConfig = field(default_factory=TrainConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    data: DataRef = field(default_factory=DataRef)
    threads: int | None = None

    def __post_init__(self):
        for name, kind in (("train", TrainConfig), ("pretrain", PretrainConfig),
                           ("data", DataRef)):
            if not isinstance(getattr(self, name), kind):
                raise TrainingError(f"Recipe.{name} must be an engine.{kind.__name__}, not "
                                    f"{type(getattr(self, name)).__name__}")
        check(self, RECIPE_PARAMS, "invalid run settings")

    @staticmethod
    def params() -> dict[str, tuple[Param, ...]]:
        """Every field's Param, by part: "train", "pretrain", "data" and "recipe" (threads)."""
        from engine.run.config import PARAMS
        return {"train": PARAMS, "pretrain": PRETRAIN_PARAMS, "data": DATA_PARAMS,
                "recipe": RECIPE_PARAMS}

    def to_dict(self) -> dict:
        return {"train": self.train.to_dict(), "pretrain": self.pretrain.to_dict(),
                "data": self.data.to_dict(), "threads": self.threads}

    @classmethod
    def suggested(cls, input_shape=None, output_shape=None) -> "Recipe":
        """The settings of a network that comes without any, from its input and output shapes:
        the defaults, data that fits its input (engine.suggest_dataset), and, when the network
        gives back its input's shape (an image or a sequence: an autoencoder), its inputs as
        the target."""
        from engine.run.live import suggest_dataset
        name, options = suggest_dataset(input_shape or ())
        shape_in = tuple(input_shape or ())
        echo = len(shape_in) > 1 and tuple(output_shape or ()) == shape_in
        return cls(TrainConfig(target="inputs" if echo else "labels"), data=DataRef(name, options))

    @classmethod
    def from_dict(cls, data: Any) -> "Recipe":
        """A recipe from its dict, or from the flat training config that files before the
        recipe stored (TrainConfig fields beside "dataset" and the window's "pretrain")."""
        if not isinstance(data, dict):
            raise TrainingError(f"a recipe must be an object, not {type(data).__name__}")
        if "train" not in data and "data" not in data:
            return cls._from_flat(data)
        parts = {"train", "pretrain", "data", "threads"}
        known_keys(data, parts, "a recipe", "recipe part", parts)
        return cls(TrainConfig.from_dict(_part(data, "train")),
                   PretrainConfig.from_dict(_part(data, "pretrain")),
                   DataRef.from_dict(data.get("data")), data.get("threads"))

    def flat(self) -> dict:
        """The recipe as one flat dict (training fields beside "dataset", "pretrain" and
        "threads"), as kept runs show and compare settings; from_dict reads it back."""
        return {**self.train.to_dict(), "dataset": self.data.to_dict(),
                "pretrain": self.pretrain.to_dict(), "threads": self.threads}

    @classmethod
    def _from_flat(cls, data: dict) -> "Recipe":
        pre = _part(data, "pretrain")
        if isinstance(pre, dict) and pre.get("lr") == 0:   # the window stored 0 for "usual"
            pre = {**pre, "lr": None}
        return cls(TrainConfig.from_dict(data), PretrainConfig.from_dict(pre),
                   DataRef.from_dict(data.get("dataset")), data.get("threads"))

    def replace(self, **changes) -> "Recipe":
        """A copy with whole parts replaced (train=..., pretrain=..., data=..., threads=...)."""
        return replace(self, **changes)

    def with_settings(self, train: dict | None = None, pretrain: dict | None = None) -> "Recipe":
        """A copy with some fields of the training or pre-training settings changed."""
        return replace(self, train=self.train.replace(**(train or {})),
                       pretrain=self.pretrain.replace(**(pretrain or {})))


def _part(data: dict, name: str) -> Any:
    """A part of a recipe's dict: {} when absent or null (from_dict refuses any other
    non-object)."""
    value = data.get(name)
    return {} if value is None else value


def _known(data: Any, kind, what: str) -> dict:
    names = {f.name for f in fields(kind)}
    known_keys(data, names, what, f"{what[:-1] if what.endswith('s') else what} field", names)
    return dict(data)


def run_recipe(network, recipe: Recipe, dataset=None, callbacks=(), control=None,
               distributed=None):
    """Run `recipe` on `network` (a NetworkSpec, an engine.Model, a loaded .lwnet or an earlier
    Run, as for engine.train): pre-training stages when recipe.pretrain.mode is not "none" (a
    network that continues a run is refused: pre-training starts from new weights), then
    recipe.train.epochs of training, all on the one training loop, with the same callbacks and
    Control. `dataset` is the data already loaded (a Dataset); by default recipe.data is loaded.
    Returns the Run (run.recipe is the recipe, its data reference as loaded, every option
    given); a failure raises TrainingError with `.run`."""
    from engine.data import load_dataset
    from engine.run.loop import fit
    if not isinstance(recipe, Recipe):
        raise TrainingError(f"run_recipe needs an engine.Recipe, not {type(recipe).__name__}")
    if dataset is None:
        if not recipe.data.name:
            raise TrainingError("the recipe names no data set: set recipe.data (a name from "
                                "engine.datasets() or a path)")
        dataset = load_dataset(recipe.data.name, **recipe.data.options)
    set_threads(recipe.threads)
    run = fit(network, dataset, recipe.train, recipe.pretrain, callbacks=callbacks,
              control=control, distributed=distributed)
    run.recipe = recipe
    run.recipe = run.recipe_record()       # with the data as loaded (its options in full)
    return run


def set_threads(threads: int | None) -> None:
    """PyTorch's CPU thread count for this process (None leaves it as it is)."""
    if threads is not None:
        import torch
        torch.set_num_threads(int(threads))
