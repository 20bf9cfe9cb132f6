"""The "Through time" plot: how much gradient reaches each part of a recurrent layer's sequence.

Drawn from the run's probes (engine.run.probes_steps: step_grad_1 .. step_grad_K), so a saved
run shows it again when reopened: for each recurrent layer, its latest probe as a solid line
and its first as a dashed one — at initialisation the gradient fades towards the first steps,
and the plot shows whether training carries it further back.
"""
from __future__ import annotations

import re

from PySide6.QtCore import Qt

from .plots import PALETTE, RUN_STYLES, LivePlot

TITLE = "Through time"
EMPTY = ("No recurrent layer probed yet: a network with an LSTM or GRU shows here how much "
         "gradient reaches each part of its sequence")
PART = re.compile(r"step_grad_(\d+)$")


def make_plot() -> LivePlot:
    return LivePlot(TITLE, "part of the sequence (1: its first steps)", "RMS of ∂L/∂x, its inputs",
                    log_y=True, time_axis=False, empty_text=EMPTY)


def profiles(run) -> dict[str, tuple[list, list, int, int]]:
    """{node: (first probe's values, latest probe's values, its step, first probe's step)}
    of the recurrent layers the run's probes measured along their sequence."""
    out, parts_of = {}, {}
    for node, stat in run.probes:
        if m := PART.match(stat):
            parts_of.setdefault(node, []).append(int(m[1]))
    for node in run.layers:
        parts = sorted(parts_of.get(node, ()))
        buffers = [run.series(node, f"step_grad_{k}") for k in parts]
        if not parts or any(b is None or not len(b) for b in buffers):
            continue
        first = [float(b.data()[1][0]) for b in buffers]
        latest = [float(b.last()[1]) for b in buffers]
        out[node] = (first, latest, int(buffers[0].last()[0]), int(buffers[0].data()[0][0]))
    return out


def draw(plot: LivePlot, runs: list, labels: dict, colours: dict, name) -> None:
    """Each run's profiles: the latest probe solid (in a compared run, its line style), the
    first dashed (a single run only: with several the lines would not tell apart)."""
    single = len(runs) == 1
    for run in runs:
        for i, (node, (first, latest, step, first_step)) in enumerate(profiles(run).items()):
            label = labels.get(node, node)
            colour = colours.get(node, PALETTE[i % len(PALETTE)])
            x = list(range(1, len(latest) + 1))
            plot.set_curve(name(run, f"{label}, latest probe"), x, latest, colour, width=2,
                           style=RUN_STYLES.get(run.name, Qt.SolidLine), symbol="o")
            if single and step != first_step:
                plot.set_curve(f"{label}, first probe", x, first, colour, style=Qt.DashLine)
