"""The Lab: the classic claims of deep learning as experiments that produce runs and numbers.

`experiments()` lists them; `run_experiment(name, ...)` runs one under controlled conditions
(the same seeds and data order for every arm of a comparison) and returns a `LabResult`: the
claim and the paper figure it mirrors, a Setup generated from the recipes that ran, the table,
a verdict computed from the table by the experiment's rule (engine.lab.verdict), findings
generated from the numbers, and figures as data. `write_report` turns it into report.md,
results.json and PNG figures (drawn by the GUI package's renderer); `run_all` runs every
experiment and writes summary.md beside their reports; `read_folder` / `read_result` read saved
results back, validated, for the window to show.
"""
from __future__ import annotations

import difflib
import time

from engine.errors import LayerwiseError
from engine.run.events import Control
from engine.lab.activations import EXPERIMENTS as _ACT
from engine.io.atomic import write_atomically
from engine.lab.architectures import EXPERIMENTS as _ARCH
from engine.lab.capacity import EXPERIMENTS as _CAP
from engine.lab.common import MAX_BASE_SEED, Context, Experiment, Figure, LabResult, check_seed
from engine.lab.gradients import EXPERIMENTS as _GRAD
from engine.lab.initialisation import EXPERIMENTS as _INIT
from engine.lab.report import markdown, set_figure_renderer, summary_markdown, \
    write_report
from engine.lab.saved import read_folder, read_result
from engine.lab.setup import setup_lines
from engine.lab.verdict import NOT_REPRODUCED, PARTLY, REPRODUCED, VERDICTS, Verdict

ORDER = ("vanishing-gradients", "init-schemes", "weight-vs-backprop", "relu-sparsity",
         "saturation", "cnn-vs-mlp", "depth-vs-width", "universal-approximation", "pretraining",
         "depth-sweep")
_BY_NAME = {e.name: e for e in _GRAD + _INIT + _ACT + _ARCH + _CAP}
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
    ctx = Context(quick=quick, seed=check_seed(seed), callbacks=tuple(callbacks),
                  control=control or Control(), progress=progress)
    start = time.perf_counter()
    result = experiment.run(ctx)
    own = result.setup
    result.setup = own + [line for line in setup_lines(ctx.recorded)
                          if not any(o.startswith(line.rstrip(".")) for o in own)]
    result.data["recipes"] = [{"arm": arm, "recipe": r} for arm, r in ctx.recorded]
    result.quick, result.seed = quick, seed
    result.seconds = time.perf_counter() - start
    result.stopped = result.stopped or ctx.stopping
    if out_dir is not None:
        write_report(result, out_dir)
    return result


def run_all(out_dir=None, quick: bool = False, seed: int = 0, names=ORDER, callbacks=(),
            control: Control | None = None, progress=None, on_result=None) -> list[LabResult]:
    """Run the experiments `names` in turn and, given `out_dir`, write each report into
    out_dir/NAME and out_dir/summary.md (every verdict with its deciding figure). Stops with
    the Control; the results so far are returned (and summarised). `on_result(result)` is
    called as each experiment ends."""
    from pathlib import Path
    check_seed(seed)
    control = control or Control()
    results = []
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    for name in names:
        if control.stopping:
            break
        results.append(run_experiment(name, quick=quick, seed=seed, callbacks=callbacks,
                                      control=control, progress=progress,
                                      out_dir=None if out_dir is None else Path(out_dir) / name))
        if on_result is not None:
            on_result(results[-1])
    if out_dir is not None:
        write_atomically(Path(out_dir) / "summary.md",
                         summary_markdown([r.to_dict() for r in results]).encode("utf-8"))
    return results


__all__ = ["EXPERIMENTS", "Experiment", "Figure", "LabResult", "MAX_BASE_SEED", "NOT_REPRODUCED",
           "PARTLY", "REPRODUCED", "VERDICTS", "Verdict", "check_seed", "experiments", "get",
           "markdown", "read_folder", "read_result", "run_all",
           "run_experiment", "set_figure_renderer", "summary_markdown", "write_report"]
