"""data_fit(): whether a data set fits a network — its samples the Input, its classes or its
targets the output.

The rules are the ones training applies (`Dataset.fit_input` for the input: the same shape, or
the same number of values, which is reshaped), and training's own for the output
(`output_fit`, which engine.run.objective applies before it picks the loss), checked on shapes
alone, without torch, so that a front end can list them with the network's own problems before
anything is trained. Each problem names the node and the data set; where one
setting repairs it, it carries a `Fix` (the Input's shape, the last Linear's out_features).

`data` is a data set's description as `Dataset.describe()` gives it: "name", "input_shape",
"task" ("classification" or "regression"), "classes" (their number) and "target_shape".
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from engine.network.analysis import Analysis, Fix
from engine.network.catalogue import LAYERS
from engine.network.spec import NetworkSpec

@dataclass
class Fit:
    problems: list[tuple[str, str]] = field(default_factory=list)     # (node id, sentence)
    fixes: dict[tuple[str, str], Fix] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, node_id: str, message: str, fix: Fix | None = None) -> None:
        self.problems.append((node_id, message))
        if fix is not None:
            self.fixes[(node_id, message)] = fix


def with_target(data: dict, target: str = "labels") -> dict:
    """A data set's description (Dataset.describe()) as training sees it with `target`: as it
    is for "labels"; for "inputs" (an autoencoder) a regression whose target is the input
    (as Dataset.with_target)."""
    if target == "labels":
        return data
    return {**data, "task": "regression", "classes": None, "class_names": None,
            "target_shape": list(data["input_shape"])}


def data_fit(spec: NetworkSpec, analysis: Analysis, data: dict, loss: str = "auto",
             target: str = "labels") -> Fit:
    """The problems between the network and the data set `data` (none when it fits), learning
    `target` (see with_target); only what the network's analysis lets be known is checked (the
    output once the network is valid)."""
    data = with_target(data, target)
    fit = Fit()
    _input(spec, analysis, data, fit)
    if analysis.ok and analysis.output_shape is not None:
        _output(spec, analysis, data, loss, fit)
    return fit


def output_fit(spec: NetworkSpec, analysis: Analysis, data: dict, loss: str = "auto") -> Fit:
    """The problems between the network's output and the data's classes or targets (with
    `loss`): the rules training refuses a run by (engine.run.objective)."""
    fit = Fit()
    _output(spec, analysis, data, loss, fit)
    return fit


def _input(spec: NetworkSpec, a: Analysis, data: dict, fit: Fit) -> None:
    node = a.input_id
    if node is None or node not in a.shapes:
        return
    have, sample = tuple(a.shapes[node]), tuple(int(d) for d in data["input_shape"])
    if have == sample or math.prod(have) == math.prod(sample):
        return                      # the same values (a reshape, as 784 columns for 1x28x28)
    fit.add(node, f"{spec.label(node)} has shape {list(have)} ({math.prod(have):,} values) but "
                  f"data set '{data['name']}' gives samples of shape {list(sample)} "
                  f"({math.prod(sample):,} values): set its shape to {list(sample)} or choose "
                  f"a data set that fits.",
            Fix(f"Set {spec.label(node)} to {'x'.join(map(str, sample))}", node, "shape",
                list(sample)))


def _output(spec: NetworkSpec, a: Analysis, data: dict, loss: str, fit: Fit) -> None:
    out, node, name = tuple(a.output_shape), a.output_id, data["name"]
    where = f"the network's output ({spec.label(node)}) has shape {list(out)}"
    if data["task"] != "classification":
        target = tuple(data.get("target_shape") or ())
        if loss in ("cross_entropy", "bce"):
            fit.add(node, f"The {loss} loss needs classes, but data set '{name}' is a regression "
                          f"task: choose the mse, l1 or huber loss.")
        elif out != target:
            fit.add(node, f"{_capital(where)} but the targets of data set '{name}' have shape "
                          f"{list(target)}: make them match.", _units(spec, a, target))
        return
    n = int(data["classes"])
    if loss == "bce" or (loss == "auto" and out == (1,) and n == 2):
        if out != (1,) or n != 2:
            fit.add(node, f"Binary cross-entropy needs one output unit and 2 classes, but "
                          f"{where} and data set '{name}' has {n} classes.")
        return
    if out == (n,):
        return
    if len(out) > 1:
        fit.add(node, f"{_capital(where)} but data set '{name}' has {n} classes: end the "
                      f"network with a Flatten and a Linear with out_features={n}.")
        return
    fit.add(node, f"{_capital(where)} but data set '{name}' has {n} classes: give the last "
                  f"layer {n} outputs (a Linear with out_features={n}).", _units(spec, a, (n,)))


def _units(spec: NetworkSpec, a: Analysis, target: tuple) -> Fix | None:
    """Set the last Linear's out_features, when it alone decides a vector output's size."""
    if len(target) != 1:
        return None
    node = a.output_id
    while spec.nodes[node].kind != "Linear":
        ins = spec.inputs_of(node)
        if len(ins) != 1 or a.shapes.get(ins[0]) != a.shapes.get(node) \
                or LAYERS[spec.nodes[node].kind].max_inputs != 1:
            return None
        node = ins[0]
    n = int(target[0])
    return Fix(f"Set {spec.label(node)} to {n} output{'s' if n != 1 else ''}", node,
               "out_features", n)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
