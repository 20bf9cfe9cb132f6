"""The training dashboard with a 1,000,000-step history, measured: building it from the history
(the engine's compact columns, and plain lists as older histories hold), redrawing each visible
plot and the whole dashboard (loaded, and live while steps keep coming, against a history ten
times shorter), the memory the window holds for it, and exporting a plot's data as CSV.

    .venv/bin/python bench/long_history_gui.py [--steps 1000000] [--repeats 10] [--shot X.png]
    xvfb-run -a -s '-screen 0 1600x1200x24' .venv/bin/python bench/long_history_gui.py

Off-screen (QT_QPA_PLATFORM=offscreen) when DISPLAY is not set. The history: `--steps` steps
(100 epochs), 20 layers (10 with weights: grad_norm, grad_rms, grad_ratio, delta_norm,
delta_rms, weight_norm; 10 activations: sparsity, dead, mean_activation, saturation) probed every
20 steps, with one loss spike and one gradient spike, each a single point. A redraw is the plot's
setData calls and the paint that follows. The same curves drawn by a LivePlot (its per-pixel
envelopes) and by a bare pyqtgraph plot with its own downsampling (`setDownsampling(auto=True,
mode='peak')`, `setClipToView(True)`) are timed side by side, each saying whether the
single-point spike and the newest point are drawn. Prints one table; targets: a redraw <= 30 ms,
the window's memory for the history <= 300 MB.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LAYERWISE_HOME", "/tmp/layerwise-bench")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine import ProbeEvent, StepEvent  # noqa: E402
from gui.app import make_app  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.training.plots import PALETTE, LivePlot  # noqa: E402

LAYERS, PROBE_EVERY, EPOCHS = 20, 20, 100
WEIGHT = ("grad_norm", "grad_rms", "grad_ratio", "delta_norm", "delta_rms", "weight_norm")
ACTIVATION = ("sparsity", "dead", "mean_activation", "saturation")
SPIKE_LOSS, SPIKE_GRAD = 50.0, 1e3           # one point each, far above the rest
SHOWN = ("Loss", "Accuracy", "Weight gradient", "Back-propagated gradient", "Gradient map",
         "Activations")


def node(i: int) -> str:
    return f"linear_{i // 2 + 1}" if i % 2 == 0 else f"relu_{i // 2 + 1}"


def columns(steps: int) -> dict:
    """The history's data as arrays: step, epoch, loss; probe steps; {node: {stat: values}}."""
    rng = np.random.default_rng(0)
    step = np.arange(1, steps + 1)
    loss = 2.0 * np.exp(-step / (steps / 5)) + 0.1 * rng.random(steps)
    loss[int(steps * 0.7)] = SPIKE_LOSS
    probe_steps = step[PROBE_EVERY - 1::PROBE_EVERY]
    n = len(probe_steps)
    layers = {}
    for i in range(LAYERS):
        if i % 2 == 0:
            base = 10.0 ** (-i / 4)
            table = {stat: base * (1 + 0.2 * rng.random(n)) * (k + 1)
                     for k, stat in enumerate(WEIGHT)}
        else:
            table = {stat: 0.3 + 0.1 * rng.random(n) for stat in ACTIVATION}
        layers[node(i)] = table
    layers[node(0)]["grad_rms"][n // 3] = SPIKE_GRAD
    epoch = 1 + (step - 1) // (steps // EPOCHS)
    return {"step": step, "epoch": epoch, "loss": loss, "probe_step": probe_steps,
            "layers": layers}


def history(cols: dict, plain: bool = False) -> dict:
    """The history as the engine keeps it: compact columns (engine.run.history), or with
    `plain` as older versions did, lists of plain numbers and a dict per step."""
    epochs = [{"epoch": e, "train_loss": 0.3 + 1 / e, "train_acc": 0.9 - 0.5 / e,
               "val_loss": 0.35 + 1 / e, "val_acc": 0.88 - 0.5 / e, "lr": 0.001,
               "seconds": 1.0} for e in range(1, EPOCHS + 1)]
    step, epoch, probe_step = cols["step"], cols["epoch"], cols["probe_step"]
    if plain:
        steps = [{"step": s, "epoch": e, "loss": v} for s, e, v in
                 zip(step.tolist(), epoch.tolist(), cols["loss"].tolist())]
        probes = {"step": probe_step.tolist(), "layers": {
            n: {s: v.tolist() for s, v in t.items()} for n, t in cols["layers"].items()}}
    else:
        from engine.run.history import Column, StepRows
        steps = StepRows.wrap(step, epoch, cols["loss"].astype(np.float32))
        probes = {"step": Column.wrap(probe_step), "layers": {
            n: {s: Column.wrap(v.astype(np.float32)) for s, v in t.items()}
            for n, t in cols["layers"].items()}}
    return {"epochs": epochs, "steps": steps, "probes": probes, "stages": [], "runs": [],
            "status": "finished", "message": ""}


def ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def load(app, dash, hist) -> tuple[float, float, float, float]:
    """(ms to build the dashboard from the history and draw it, MB it keeps (tracemalloc),
    MB its peak, RSS growth MB)."""
    dash.reset(None)
    app.processEvents()
    rss = rss_mb()
    t0 = time.perf_counter()
    dash.reset(hist)
    app.processEvents()
    took = ms(t0)
    grew = rss_mb() - rss
    dash.reset(None)
    app.processEvents()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    dash.reset(hist)
    app.processEvents()
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return took, (kept - before) / 2 ** 20, (peak - before) / 2 ** 20, grew


def redraws(app, dash, repeats: int) -> dict[str, list[float]]:
    """ms of each plot's forced redraw (raised in its dock first), `repeats` times."""
    from gui.training.dashboard import UNITS
    out = {}
    for unit in SHOWN:
        dash.docks[UNITS[unit][0]].raise_()
        app.processEvents()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            dash._draw(unit, force=True)
            dash._views[unit].repaint()
            times.append(ms(t0))
        out[unit] = times
    return out


def full(app, dash, repeats: int) -> list[float]:
    for title in ("Loss", "Gradients", "Activations"):
        dash.docks[title].raise_()
    app.processEvents()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        dash.refresh(force=True)
        app.processEvents()
        times.append(ms(t0))
    return times


def live(app, dash, first_step: int, rounds: int) -> list[float]:
    """ms of each turn of the event loop that draws a dock in the sweep after 50 new steps
    and their probes (the first turn feeding the store too), as in training; every round
    draws every shown dock (no rate limit between rounds)."""
    step, times = first_step, []
    snapshot = {node(i): dict.fromkeys(WEIGHT if i % 2 == 0 else ACTIVATION, 0.1)
                for i in range(LAYERS)}
    for _ in range(rounds):
        events = []
        for _ in range(50):
            step += 1
            events.append(StepEvent(step, EPOCHS, 1, 100, 0.2, 0.001, 32))
            if step % PROBE_EVERY == 0:
                events.append(ProbeEvent(step, snapshot))
        t0 = time.perf_counter()
        dash.add(events)
        dash._timer.start(0)                      # now, whenever the last sweep was
        while True:
            closing = not dash._sweep and dash._sweep_began is not None
            app.processEvents()
            if closing:                           # the turn that times the sweep
                break
            times.append(ms(t0))
            t0 = time.perf_counter()
    return times


def side_by_side(app, cols: dict, size, repeats: int) -> dict:
    """The loss (two 1M-point curves) and a gradient plot (10 curves, log y) drawn at the
    Loss plot's size by a LivePlot (its envelopes) and by a bare pyqtgraph PlotWidget with
    pyqtgraph's own downsampling: {(plot, way): (redraw ms, spike drawn, newest point drawn,
    points handed to the painter)}."""
    out = {}
    for name, log_y, series, spike in (
            ("loss", False, [(cols["step"], cols["loss"])] * 2, SPIKE_LOSS),
            ("gradient", True, [(cols["probe_step"], t["grad_rms"]) for t in
                                cols["layers"].values() if "grad_rms" in t], SPIKE_GRAD)):
        ours, bare = LivePlot(name, "step", name, log_y=log_y), pg.PlotWidget()
        plot = bare.getPlotItem()
        plot.setLogMode(y=log_y)
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
        items = [plot.plot(pen="b", connect="finite") for _ in series]
        plot.setXRange(0, float(cols["step"][-1]), padding=0.02)
        for widget in (ours, bare):
            widget.resize(*size)
            widget.show()
        app.processEvents()
        for way, widget in (("dashboard", ours), ("bare pyqtgraph", bare)):
            times = []
            for _ in range(repeats + 1):           # the first makes the curves: not timed
                t0 = time.perf_counter()
                for i, (x, y) in enumerate(series):
                    if widget is ours:
                        ours.set_curve(str(i), x, y, "#2563eb")
                    else:
                        items[i].setData(x, y)
                if widget is ours:
                    ours.fit_view()
                widget.repaint()
                times.append(ms(t0))
            times = times[1:]
            x, y = (ours.curves["0"] if widget is ours else items[0]).getData()   # as painted
            top = math.log10(spike) if log_y else spike
            out[(name, way)] = (times, bool(np.nanmax(y) >= top * 0.999),
                                bool(x[-1] == series[0][0][-1]), len(x))
            widget.close()
    return out


def export(plot, path: Path) -> tuple[float, float, float]:
    """(s, tracemalloc peak MB, file MB) of `plot.export_csv(path)` (timed untraced)."""
    t0 = time.perf_counter()
    plot.export_csv(str(path))
    took = time.perf_counter() - t0
    tracemalloc.start()
    plot.export_csv(str(path))
    peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    return took, peak, path.stat().st_size / 2 ** 20


def row(name: str, value: str, target: str = "", ok: bool | None = None) -> str:
    mark = "" if ok is None else "ok" if ok else "MISSED"
    return f"{name:<60} {value:>16} {target:>9}  {mark}"


def timing(name: str, times: list[float], target: float | None = 30.0) -> list[str]:
    worst, median = max(times), statistics.median(times)
    return [row(f"{name} (ms, median of {len(times)})", f"{median:.1f}",
                f"<= {target:g}" if target else "", median <= target if target else None),
            row("  same, worst", f"{worst:.1f}", f"<= {target:g}" if target else "",
                worst <= target if target else None)]


def measure(app, dash, args) -> dict:
    """Every figure of the table."""
    t0 = time.perf_counter()
    cols = columns(args.steps)
    hist = history(cols)
    found = {"made": time.perf_counter() - t0, "cols": cols}
    plain = history(cols, plain=True)
    t0 = time.perf_counter()
    dash.reset(plain)
    app.processEvents()
    found["plain"] = ms(t0)
    del plain
    found["load"] = load(app, dash, hist)
    found["one"] = redraws(app, dash, args.repeats)
    found["every"] = full(app, dash, args.repeats)
    if args.shot:
        dash.window.grab().save(args.shot)
    found["live"] = live(app, dash, args.steps, 20)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    found["csv"] = {"Loss": export(dash.loss, out / "loss.csv"),
                    "Weight gradient": export(dash.weight_grad, out / "gradients.csv")}
    found["size"] = (dash.loss.widget.width(), dash.loss.widget.height())
    found["ab"] = side_by_side(app, cols, found["size"], args.repeats)
    dash.reset(history(columns(args.steps // 10)))
    app.processEvents()
    found["live_short"] = live(app, dash, args.steps // 10, 20)
    return found


def table(found: dict, steps: int) -> list[str]:
    cols, (took, kept, peak, grew) = found["cols"], found["load"]
    lines = [
        f"{steps:,} steps, {LAYERS} layers probed every {PROBE_EVERY} steps "
        f"({len(cols['probe_step']):,} probes, {sum(map(len, cols['layers'].values()))} "
        f"series), {QApplication.platformName()} platform, Loss plot {found['size'][0]}x"
        f"{found['size'][1]} px, {os.cpu_count()} CPUs; history made in {found['made']:.1f} s",
        f"{'measure':<60} {'value':>16} {'target':>9}",
        row("build the dashboard from the history and draw it (ms)", f"{took:.0f}"),
        row("  the same from a history of plain lists, as before (ms)",
            f"{found['plain']:.0f}"),
        row("memory the window keeps for the history (MB, tracemalloc)", f"{kept:.0f}",
            "<= 300", kept <= 300),
        row("  peak while building (MB, tracemalloc)", f"{peak:.0f}"),
        row("  RSS growth at the first build (MB)", f"{grew:.0f}")]
    for unit in SHOWN:
        lines += timing(f"redraw {unit}", found["one"][unit])
    lines += timing("redraw every shown dock at once, forced", found["every"], None)
    lines += timing("live: +50 steps and probes, each turn of the sweep", found["live"])
    lines += timing(f"  the same with {steps // 10:,} steps of history", found["live_short"])
    for (name, way), (times, spike, newest, points) in found["ab"].items():
        lines += timing(f"{name} curves drawn by the {way}", times, None)
        lines.append(row("  spike drawn / newest point drawn / points drawn",
                         f"{spike}/{newest}/{points}", "", spike and newest))
    for name, (took_s, peak_mb, size_mb) in found["csv"].items():
        lines.append(row(f"CSV export of {name}: s / peak MB / file MB",
                         f"{took_s:.1f} / {peak_mb:.0f} / {size_mb:.0f}"))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--shot", help="save a screenshot of the window (PNG) to this path")
    parser.add_argument("--out", default="/tmp/layerwise-bench", help="folder for the CSVs")
    args = parser.parse_args()
    app = make_app()
    window = MainWindow()
    window.resize(1600, 1100)
    window.show()
    dash = window.ensure_training().dashboard
    app.processEvents()
    names = [node(i) for i in range(LAYERS)]
    dash.set_nodes({n: n.replace("_", " ").capitalize() for n in names},
                   {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)})
    for title in ("Loss", "Gradients", "Activations"):
        dash.docks[title].raise_()
    print("\n".join(table(measure(app, dash, args), args.steps)))
    window.doc.results_unsaved = False
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
