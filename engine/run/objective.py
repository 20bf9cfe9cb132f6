"""The loss a network is trained on, checked against its output shape and the data's task."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from engine.data.dataset import CLASSIFICATION, Dataset
from engine.errors import TrainingError
from engine.network.catalogue import LAYERS
from engine.network.fit import output_fit

REGRESSION_LOSSES = {"mse": F.mse_loss, "l1": F.l1_loss, "huber": F.huber_loss}


@dataclass
class Objective:
    """`loss(out, y)` is the batch-mean loss; `correct(out, y)` counts right answers on the
    device, and `predict(out, into)` writes the predicted classes into `into` (an int64
    tensor of one value per sample) in one operation, so that a training epoch can count its
    right answers once at its end; both are None for regression."""
    name: str
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    correct: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None
    predict: Callable[[torch.Tensor, torch.Tensor], None] | None = None


def make_objective(model, data: Dataset, loss: str = "auto") -> Objective:
    """The loss for `model`'s output on `data`; a TrainingError (naming the fix) when they do
    not fit, by the rules the window checks before training (engine.network.fit)."""
    fit = output_fit(model.spec, model.analysis, data.describe(), loss)
    if fit.problems:
        message = fit.problems[0][1]
        raise TrainingError(message[:1].lower() + message[1:].rstrip("."))
    out, n = tuple(model.output_shape), data.n_classes
    if data.task != CLASSIFICATION:
        name = "mse" if loss == "auto" else loss
        return Objective(name, REGRESSION_LOSSES[name], None)
    if loss == "bce" or (loss == "auto" and out == (1,) and n == 2):
        return Objective("bce", _bce, _binary_correct, _binary_predict)
    if loss in ("auto", "cross_entropy"):
        return Objective("cross_entropy", F.cross_entropy, _argmax_correct, _argmax_predict)
    fn = REGRESSION_LOSSES[loss]
    return Objective(loss, lambda o, y: fn(o, F.one_hot(y, n).to(o.dtype)), _argmax_correct,
                     _argmax_predict)


def _bce(out, y):
    return F.binary_cross_entropy_with_logits(out.squeeze(1), y.to(out.dtype))


def _binary_correct(out, y):
    return ((out.squeeze(1) > 0).long() == y).sum()


def _argmax_correct(out, y):
    return (out.argmax(1) == y).sum()


def _binary_predict(out, into):
    torch.gt(out.squeeze(1), 0, out=into)


def _argmax_predict(out, into):
    torch.argmax(out, 1, out=into)


def activation_layers(model) -> list[str]:
    """Node ids of the activation layers, in order."""
    return [n for n in model.order if LAYERS[model.spec.nodes[n].kind].category == "Activation"]


class ActivationL1:
    """L1 penalty on hidden activations: weight x sum over activation layers (not the output)
    of mean |a|. A tap on the model (engine.Model.add_tap) collects the outputs; `remove()`
    takes it off."""

    def __init__(self, model, weight: float):
        self.weight = weight
        self.outputs: list[torch.Tensor] = []
        self.nodes = [n for n in activation_layers(model) if n != model.output_id]
        self._untap = model.add_tap(self._keep) if self.nodes else None

    def _keep(self, outputs: dict[str, torch.Tensor]) -> None:
        if torch.is_grad_enabled():     # not during validation
            self.outputs += [outputs[n] for n in self.nodes]

    def penalty(self) -> torch.Tensor | float:
        total = sum(a.abs().mean() for a in self.outputs) if self.outputs else 0.0
        self.outputs.clear()
        return self.weight * total

    def remove(self) -> None:
        if self._untap is not None:
            self._untap()
            self._untap = None
        self.outputs.clear()
