"""engine.pretrain: greedy layer-wise pre-training alone, as stages of the one training loop.

The stages themselves (what is frozen, the temporary heads and decoders, the losses) are in
engine.run.stages; engine.run_recipe runs them followed by training, and this runs them alone.
`result.model` keeps the original spec, ready for `engine.train` (fine-tuning), and
`engine.train(result, ...)` carries the stages into the run's history.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.errors import TrainingError
from engine.network.model import Model
from engine.run.config import TrainConfig
from engine.run.events import Control
from engine.run.recipe import PretrainConfig


@dataclass
class Pretrained:
    """The pre-trained model (original spec), its history (`stages`), its settings, and how it
    ended."""
    model: Model
    history: dict
    config: dict = field(default_factory=dict)
    status: str = "new"
    message: str = ""


def pretrain(network, dataset, config: PretrainConfig | None = None, *,
             train: TrainConfig | None = None, callbacks=(), control: Control | None = None,
             **settings) -> Pretrained:
    """Pre-train every hidden block of a chain network on `dataset`.

    `config` (a PretrainConfig) or its fields as keywords (mode="unsupervised", epochs=3, lr,
    optimizer, batch_size, noise, tied; the mode defaults to unsupervised here) say how;
    `train` (a TrainConfig) gives what pre-training shares with the training that follows:
    seed, device, precision, gradient clipping, probes, the validation split, and the batch
    size when none is given. A failure raises TrainingError with `.run`."""
    from engine.run.loop import fit
    pre = config if config is not None else PretrainConfig(mode="unsupervised")
    if not isinstance(pre, PretrainConfig):
        raise TrainingError(f"config must be an engine.PretrainConfig, not "
                            f"{type(pre).__name__}")
    pre = pre.replace(**settings) if settings else pre
    if not pre.active:
        raise TrainingError("pre-training mode must be supervised or unsupervised, not 'none'")
    run = fit(network, dataset, train or TrainConfig(), pre, fine_tune=False,
              callbacks=callbacks, control=control)
    return Pretrained(run.model, run.history, pre.to_dict(), run.status, run.message)
