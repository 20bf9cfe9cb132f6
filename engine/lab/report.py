"""Writing a Lab result: results.json, report.md and one PNG per figure.

Figures are drawn by whoever registered a renderer with `set_figure_renderer` (the GUI package
does, with pyqtgraph's exporters off-screen); the engine itself never imports Qt. Without a
renderer the report says how to get the figures, and results.json still holds their data.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

from engine.errors import LayerwiseError
from engine.io.atomic import write_atomically
from engine.io.checks import dumps
from engine.lab.common import Figure, LabResult
from engine.lab.verdict import Spread

_renderer: Callable[[Figure, Path], None] | None = None


def set_figure_renderer(renderer: Callable[[Figure, Path], None] | None) -> None:
    """Register `renderer(figure, png_path)`; None removes it."""
    global _renderer
    _renderer = renderer


def cell(value) -> str:
    """How a table value is printed in report.md (the JSON keeps the raw value)."""
    if value is None:
        return "—"
    if isinstance(value, Spread):
        value = value.to_dict()
    if isinstance(value, dict) and "mean" in value and "sd" in value:
        return f"{cell(value['mean'])} ± {value['sd']:.2g}"     # a Spread over seeds
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value == 0:
            return "0"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 0.01:
            return f"{value:.3f}"
        return f"{value:.3g}"
    return str(value).replace("|", "/")


def _by_title(result: LabResult, text: str) -> str:
    """A 'figure_name: what to see' line with the figure named by its title, as the reader
    sees it under Figures."""
    name, sep, rest = text.partition(": ")
    titles = {f.name: f.title for f in result.figures}
    return f"*{titles[name]}*: {rest}" if sep and name in titles else text


def verdict_lines(result: LabResult) -> list[str]:
    """The Verdict section: the status and its deciding figure, every check, the rule."""
    v = result.verdict
    label = "Verdict" if not result.quick else "Verdict (indicative: quick budget)"
    lines = [f"## {label}: {v.status}", "", f"**{v.headline()}**", ""]
    lines += [f"- {c.sentence()}" for c in v.checks]
    lines += ["", f"*Rule: {v.rule}. Mirrors {result.mirrors}.*"]
    if result.quick:
        lines += ["", "*A quick budget is indicative only: fewer samples, steps and seeds than "
                      "the full experiment, whose verdict is the one that counts.*"]
    if result.stopped:
        lines += ["", "**The experiment was stopped before the end: the table is partial.**"]
    return lines


def markdown(result: LabResult, figures: list[str]) -> str:
    lines = [f"# {result.title}", "", f"*Layerwise Lab experiment `{result.name}` "
             f"({'quick budget, indicative only' if result.quick else 'full budget'}, base seed "
             f"{result.seed}, {result.seconds:.1f} s).*", ""]
    lines += verdict_lines(result)
    lines += ["", "## The claim", "", result.claim, "", "## Setup", ""]
    lines += [f"- {s}" for s in result.setup]
    lines += ["", "## Results", "", "| " + " | ".join(result.columns) + " |",
              "|" + "---|" * len(result.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in result.rows]
    lines += ["", "## What to look for", ""] + [f"- {_by_title(result, s)}"
                                                for s in result.look_for]
    lines += ["", "## What the numbers show", ""] + [f"- {s}" for s in result.findings]
    lines += ["", "## Figures", ""]
    for fig in result.figures:
        if fig.name in figures:
            lines += [f"![{fig.title}]({fig.name}.png)", ""]
        else:
            lines += [f"- {fig.title}: data in results.json (figures need the desktop "
                      f"packages, PySide6 and pyqtgraph)", ""]
    return "\n".join(lines)


def summary_rows(results: list[dict]) -> list[list]:
    """One row per experiment (results as in results.json): name, budget, verdict, deciding
    figure, seconds."""
    rows = []
    for r in results:
        v = r.get("verdict") or {}
        rows.append([r.get("name", ""), r.get("budget", ""), v.get("status", ""),
                     v.get("headline", ""), r.get("seconds")])
    return rows


def summary_markdown(results: list[dict]) -> str:
    lines = ["# Layerwise Lab: verdicts", "", "| experiment | budget | verdict | deciding figure "
             "| seconds |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(cell(v) if not isinstance(v, float) else f"{v:.0f}"
                                for v in row) + " |" for row in summary_rows(results)]
    return "\n".join(lines) + "\n"


def write_report(result: LabResult, out_dir) -> list[Path]:
    """Write the report into `out_dir` (created if needed); returns the files written."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LayerwiseError(f"Cannot write the report to '{out}': {exc.strerror or exc}.") \
            from None
    written = []
    drawn = []
    if _renderer is not None:
        for fig in result.figures:
            path = out / f"{fig.name}.png"
            _renderer(fig, path)
            drawn.append(fig.name)
            written.append(path)
    write_atomically(out / "results.json", dumps(result.to_dict()))
    write_atomically(out / "report.md", markdown(result, drawn).encode("utf-8"))
    return [out / "report.md", out / "results.json", *written]

