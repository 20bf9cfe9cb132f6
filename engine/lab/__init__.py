"""The Lab: the classic claims of deep learning as experiments that produce runs and numbers.

`experiments()` lists them; `run_experiment(name, ...)` runs one under controlled conditions
(one seed, one data order per comparison) and returns a `LabResult` (setup, table, findings
computed from the numbers, figures as data); `write_report` turns it into report.md,
results.json and PNG figures (drawn by the GUI package's renderer).
"""
from __future__ import annotations

import difflib
import time

from engine.errors import LayerwiseError
from engine.run.events import Control
from engine.lab.architectures import EXPERIMENTS as _ARCH
from engine.lab.common import Context, Experiment, Figure, LabResult
from engine.lab.gradients import EXPERIMENTS as _GRAD
from engine.lab.report import markdown, set_figure_renderer, write_report

ORDER = ("vanishing-gradients", "relu-sparsity", "saturation", "cnn-vs-mlp", "depth-vs-width",
         "universal-approximation", "pretraining", "depth-sweep")
_BY_NAME = {e.name: e for e in _GRAD + _ARCH}
EXPERIMENTS = [_BY_NAME[n] for n in ORDER]


def experiments() -> list[Experiment]:
    return list(EXPERIMENTS)


def get(name: str) -> Experiment:
    if name not in _BY_NAME:
        close = difflib.get_close_matches(name, ORDER, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise LayerwiseError(f"there is no Lab experiment called {name!r}{hint}; run "
                             f"'lab --list' to see them")
    return _BY_NAME[name]


def run_experiment(name: str, quick: bool = False, seed: int = 0, callbacks=(),
                   control: Control | None = None, progress=None, out_dir=None) -> LabResult:
    """Run one experiment; write its report into `out_dir` if given."""
    experiment = get(name)
    ctx = Context(quick=quick, seed=seed, callbacks=tuple(callbacks),
                  control=control or Control(), progress=progress)
    start = time.perf_counter()
    result = experiment.run(ctx)
    result.quick, result.seed = quick, seed
    result.seconds = time.perf_counter() - start
    result.stopped = result.stopped or ctx.stopping
    if out_dir is not None:
        write_report(result, out_dir)
    return result


__all__ = ["EXPERIMENTS", "Experiment", "Figure", "LabResult", "experiments", "get",
           "markdown", "run_experiment", "set_figure_renderer", "write_report"]
