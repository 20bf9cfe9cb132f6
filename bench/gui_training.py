"""Live training in the window, measured: GUI event-loop stalls and training throughput while
LeNet-5 trains at full speed on MNIST-sized data (60,000 samples by default), and the
dashboard's refresh time with 100,000 steps of history and 10 layers.

    xvfb-run -a -s '-screen 0 1600x1200x24' .venv/bin/python bench/gui_training.py \
        [--samples 60000] [--epochs 1] [--rounds 2]
    .venv/bin/python bench/gui_training.py          # off-screen when DISPLAY is not set

Data: full MNIST when it is in the download cache (engine.datasets(): "mnist" available) and
--samples is 60,000; otherwise a stand-in of --samples samples of MNIST's shape, the bundled
mnist-5k tiled with a little pixel noise (each copy differs), written once as an .npz file
under LAYERWISE_HOME and opened as a user file, as a person would; --samples 5000 or fewer
trains on mnist-5k itself. The table's first line says which.
Each round trains three times, in an order that rotates from round to round: in the window
with a 5 ms heartbeat timer in the GUI thread (stalls: how late each beat comes), in the window
without it (throughput: the heartbeat wakes Python 200 times a second, taking the GIL from the
training thread each time, so it may slow what it watches; its run's throughput is shown too),
and headless
(`engine.run_recipe` with the same recipe, no callbacks). Throughput is training samples per
second of the epochs (the engine's own epoch timing); the medians of each, and the median of
the per-round ratios to headless with the lowest and highest. The table's first line gives the
machine's load average: other work on the machine slows the runs unevenly.
Refresh: the dashboard redrawing every visible plot (setData + paint), from a loaded history
of 100,000 steps with 10 probed layers probed at every step, and the live case (50 new steps
and their probes added, then a sweep: each visible dock redrawn in its own turn of the event
loop, as during training). Prints one table.
"""
from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import sys
import time
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LAYERWISE_HOME", "/tmp/layerwise-bench")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import engine  # noqa: E402
from engine.run.events import ProbeEvent, StepEvent  # noqa: E402
from gui import collector  # noqa: E402
from gui.app import make_app  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402

BEAT_MS = 5
STEPS, LAYERS = 100_000, 10
LENET = ROOT / "resources" / "examples" / "lenet5.json"
NOISE = 12                 # the stand-in's pixel noise: uniform in -NOISE..NOISE (of 255)


# ----------------------------------------------------------------------------- data

def stand_in(samples: int) -> Path:
    """An .npz of `samples` MNIST-shaped digits: mnist-5k tiled, each copy with its own noise."""
    folder = Path(os.environ["LAYERWISE_HOME"])
    path = folder / f"mnist-stand-in-{samples}.npz"
    if path.exists():
        return path
    with np.load(ROOT / "resources" / "data" / "mnist-5k.npz") as f:
        images, labels = f["images"], f["labels"]
    reps = math.ceil(samples / len(images))
    x = np.concatenate([images] * reps)[:samples].astype(np.int16)
    x += np.random.default_rng(0).integers(-NOISE, NOISE + 1, size=x.shape, dtype=np.int16)
    x = np.clip(x, 0, 255).astype(np.uint8).reshape(samples, 1, 28, 28)
    y = np.concatenate([labels] * reps)[:samples].astype(np.int64)
    folder.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.stem + ".part.npz")
    np.savez(part, X=x, y=y)
    part.replace(path)
    return path


def data_ref(samples: int) -> tuple[dict, str]:
    """({name, options} of the data to train on, what it is in words)."""
    if samples <= 5000:
        return ({"name": "mnist-5k", "options": {"samples": samples, "seed": 0}},
                f"mnist-5k ({samples:,} samples)")
    mnist = next(i for i in engine.datasets() if i.name == "mnist")
    if mnist.available and samples == 60_000:
        return {"name": "mnist", "options": {}}, "MNIST (60,000 samples)"
    why = "full MNIST is not downloaded here" if not mnist.available else \
        f"--samples {samples:,}"
    return ({"name": str(stand_in(samples)), "options": {}},
            f"a {samples:,}-sample stand-in for MNIST (mnist-5k tiled {math.ceil(samples / 5000)}x "
            f"with pixel noise; {why})")


def recipe(epochs: int, ref: dict, threads: int) -> engine.Recipe:
    from gui.training.panel import default_recipe
    flat = default_recipe((1, 28, 28)).flat()
    flat.update(epochs=epochs, batch_size=32, probe_every=20, device="cpu", seed=0,
                dataset=ref, threads=threads)
    return engine.Recipe.from_dict(flat)


# ----------------------------------------------------------------------------- training

class Heartbeat:
    """A timer every BEAT_MS in the GUI thread; also notes Python's garbage collections (they
    run in the GUI thread: gui.collector), to say whether one made the worst stall."""

    def __init__(self):
        self.times: list[float] = []
        self.collections: list[tuple[float, float, int]] = []   # (start, end, generation)
        self._began = 0.0
        self.timer = QTimer()
        self.timer.setInterval(BEAT_MS)
        self.timer.timeout.connect(lambda: self.times.append(time.perf_counter()))

    def _collected(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.collections.append((self._began, time.perf_counter(), info["generation"]))

    def start(self):
        self.times.clear()
        self.collections.clear()
        gc.callbacks.append(self._collected)
        self.timer.start()

    def stop(self) -> np.ndarray:
        self.timer.stop()
        gc.callbacks.remove(self._collected)
        if len(self.times) < 2:                   # over before a second beat
            return np.zeros(1)
        gaps = np.diff(np.array(self.times)) * 1000
        return np.clip(gaps - BEAT_MS, 0, None)

    def worst(self) -> str:
        """When the worst stall came, and the garbage collection within it, if any."""
        if len(self.times) < 2:
            return "no beats to compare"
        i = int(np.argmax(np.diff(np.array(self.times))))
        a, b = self.times[i], self.times[i + 1]
        gcs = [f"a generation-{g} garbage collection of {(e - s) * 1000:.0f} ms"
               for s, e, g in self.collections if s < b and e > a]
        return (f"{(b - a) * 1000 - BEAT_MS:.1f} ms, {a - self.times[0]:.1f} s after Train "
                f"({'; '.join(gcs) if gcs else 'no garbage collection in it'})")


def choose_data(window, plan: engine.Recipe, beat: Heartbeat, limit_s: float = 300):
    """Open LeNet-5 with the recipe and wait until the window has read its data set, as before
    a person's first Train: (stalls in ms, seconds until read)."""
    session = window.training
    loop, poll = QEventLoop(), QTimer()
    t0 = time.perf_counter()

    def check() -> None:
        if session.data.dataset_for(session.panel.dataset.reference()) is not None or \
                time.perf_counter() - t0 > limit_s:
            loop.quit()
    poll.timeout.connect(check)
    beat.start()
    window.doc.replace(engine.load(LENET).spec, None, "LeNet-5", recipe=plan)
    poll.start(20)
    loop.exec()
    poll.stop()
    stalls, seconds = beat.stop(), time.perf_counter() - t0
    if session.data.dataset_for(session.panel.dataset.reference()) is None:
        raise SystemExit(f"the window did not read {plan.data.name} within {limit_s:.0f} s")
    return stalls, seconds


def train_in_window(window, plan: engine.Recipe, beat: Heartbeat):
    """(history, wall seconds, stalls in ms) of one run in the window, from Train to its end."""
    spec = engine.load(LENET).spec
    window.doc.replace(spec, None, "LeNet-5", recipe=plan)
    loop = QEventLoop()
    window.training_finished.connect(loop.quit)
    beat.start()
    t0 = time.perf_counter()
    assert window.start_training()
    loop.exec()                                   # the real event loop, as in the app
    wall = time.perf_counter() - t0
    stalls = beat.stop()
    window.training_finished.disconnect(loop.quit)
    assert window.training.last_outcome.status == "finished", window.training.last_outcome
    return window.doc.history, wall, stalls


def headless(plan: engine.Recipe, data):
    spec = engine.load(LENET).spec
    t0 = time.perf_counter()
    run = engine.run_recipe(spec, plan, dataset=data)
    return run.history, time.perf_counter() - t0


def samples_per_s(history, n_train: int) -> float:
    epochs = history["epochs"]
    return n_train * len(epochs) / sum(e["seconds"] for e in epochs)


def big_history(probe_every: int = 20) -> dict:
    rng = np.random.default_rng(0)
    steps = list(range(1, STEPS + 1))
    probe_steps = steps[::probe_every]
    n = len(probe_steps)
    loss = (2.0 * np.exp(-np.arange(STEPS) / 20000) + 0.1 * rng.random(STEPS)).tolist()
    layers = {}
    for i in range(LAYERS):
        base = 10.0 ** (-i / 2)
        layers[f"linear_{i + 1}"] = {
            "grad_norm": (base * (1 + 0.2 * rng.random(n))).tolist(),
            "delta_norm": (base * 0.1 * (1 + 0.2 * rng.random(n))).tolist(),
            "sparsity": (0.5 + 0.1 * rng.random(n)).tolist(),
            "dead": (0.05 * rng.random(n)).tolist(),
            "saturation": (0.1 * rng.random(n)).tolist()}
    epochs = [{"epoch": e, "train_loss": 0.3, "train_acc": 0.9, "val_loss": 0.35,
               "val_acc": 0.88, "lr": 0.001, "seconds": 1.0} for e in range(1, 101)]
    return {"epochs": epochs, "steps": [{"step": s, "epoch": 1 + (s - 1) // 1000, "loss": v}
                                        for s, v in zip(steps, loss)],
            "probes": {"step": probe_steps, "layers": layers}, "stages": [], "runs": [],
            "status": "finished", "message": ""}


def refresh_times(app, window, probe_every: int) -> tuple[list, list, list, float]:
    """(one-dock redraws, whole-dashboard redraws, live: adding events and each turn of the
    sweep that follows) in ms, and the load time.
    A redraw is the setData calls and the paint that follows (processEvents)."""
    dash = window.training.dashboard
    t0 = time.perf_counter()
    dash.reset(big_history(probe_every))
    app.processEvents()
    load = (time.perf_counter() - t0) * 1000
    from gui.training.dashboard import UNITS
    shown = ["Loss", "Accuracy", "Weight gradient", "Back-propagated gradient", "Gradient map",
             "Activations"]
    one = []
    for _ in range(5):
        for unit in shown:
            dash.docks[UNITS[unit][0]].raise_()
            app.processEvents()
            t = time.perf_counter()
            dash._draw(unit, force=True)
            app.processEvents()
            one.append((time.perf_counter() - t) * 1000)
    for title in ("Loss", "Gradients", "Activations"):
        dash.docks[title].raise_()
    full = []
    for _ in range(5):
        t = time.perf_counter()
        dash.refresh(force=True)
        app.processEvents()
        full.append((time.perf_counter() - t) * 1000)
    live, step = [], STEPS
    layers = {f"linear_{i + 1}": {"grad_norm": 0.1, "delta_norm": 0.01, "sparsity": 0.5,
                                  "dead": 0.01, "saturation": 0.05} for i in range(LAYERS)}
    for _ in range(30):
        events = []
        for _ in range(50):
            step += 1
            events.append(StepEvent(step, 101, 1, 100, 0.2, 0.001, 32))
            if step % 20 == 0:
                events.append(ProbeEvent(step, layers))
        dash._next_sweep = 0.0                    # no rate limit: each add starts a sweep
        t = time.perf_counter()
        dash.add(events)
        app.processEvents()                       # the sweep's first dock
        live.append((time.perf_counter() - t) * 1000)
        while dash._sweep:                        # the other docks, one turn each
            t = time.perf_counter()
            app.processEvents()
            live.append((time.perf_counter() - t) * 1000)
    return one, full, live, load


def row(name: str, value: str, target: str, ok: bool) -> str:
    return f"{name:<52} {value:>14} {target:>12}  {'ok' if ok else 'MISSED'}"


def parse():
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=60_000,
                        help="samples of the data set (60,000: MNIST's size; <= 5,000: mnist-5k)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per measured run")
    parser.add_argument("--rounds", type=int, default=2, help="window/headless alternations")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (both runs)")
    parser.add_argument("--skip-refresh", action="store_true", help="training figures only")
    parser.add_argument("--probe-every", type=int, default=20,
                        help="probe interval of the 100,000-step history (20: the default)")
    parser.add_argument("--switch-ms", type=float, default=None, help="sys.setswitchinterval")
    parser.add_argument("--hide-dashboard", action="store_true",
                        help="close the dashboard docks (to see what they cost)")
    args = parser.parse_args()
    if args.samples < 100 or args.epochs < 1 or args.rounds < 1:
        parser.error("--samples must be at least 100, --epochs and --rounds at least 1")
    return args


def open_window(args):
    app = make_app()
    window = MainWindow()
    window.resize(1440, 1000)
    window.show()
    window.ensure_training().warm_up().join()     # as a few seconds after start-up
    collector.freeze()                            # as the app does then (gui.app)
    app.processEvents()
    if args.hide_dashboard:
        for dock in window.training.dashboard.docks.values():
            dock.hide()
    return app, window


class Quiet(Heartbeat):
    """No heartbeat: its 200 wake-ups a second take the GIL from the training thread."""

    def start(self):
        self.times.clear()

    def stop(self) -> np.ndarray:
        return np.zeros(0)


SIDES = ("window + heartbeat", "window", "headless")


def training_rounds(window, plan, data, n_train: int, rounds: int) -> dict:
    """Per round, in rotating order: the window with the heartbeat (stalls; its throughput is
    shown too), the window without it (throughput), and headless. Rates, ratios, stalls and
    the GUI thread's CPU share during the window runs."""
    rates = {side: [] for side in SIDES}
    stalls, busy, worst = [], [], (0.0, "")
    for r in range(rounds):
        for side in (SIDES[(r + k) % len(SIDES)] for k in range(len(SIDES))):
            if side == "headless":
                rates[side].append(samples_per_s(headless(plan, data)[0], n_train))
                gc.collect()      # its garbage, which the window's collector (gui.collector,
                continue          # on a timer in this thread) could not take meanwhile
            cpu = time.thread_time()
            beat = Heartbeat() if side != "window" else Quiet()
            history, wall, s = train_in_window(window, plan, beat)
            busy.append((time.thread_time() - cpu) / wall)
            rates[side].append(samples_per_s(history, n_train))
            if len(s):
                stalls.append(s)
                worst = max(worst, (s.max(), f"round {r + 1}: {beat.worst()}"))
        print(f"round {r + 1}: " + ", ".join(f"{side} {rates[side][-1]:,.0f}" for side in SIDES)
              + f" samples/s; worst stall {stalls[-1].max():.1f} ms", flush=True)
    ratios = {side: [a / b for a, b in zip(rates[side], rates["headless"])]
              for side in SIDES[:2]}
    return {"rates": rates, "ratios": ratios, "stalls": np.concatenate(stalls), "busy": busy,
            "worst": worst[1]}


def training_lines(t: dict) -> list[str]:
    stalls, rates, ratios = t["stalls"], t["rates"], t["ratios"]
    lines = [
        row("GUI stall, worst (ms)", f"{stalls.max():.1f}", "<= 100", stalls.max() <= 100),
        f"  the worst: {t['worst']}",
        row("GUI stall, 99th percentile (ms)", f"{np.percentile(stalls, 99):.1f}", "<= 20",
            np.percentile(stalls, 99) <= 20)]
    for side in SIDES:
        lines.append(row(f"{side} (samples/s, median)", f"{statistics.median(rates[side]):,.0f}",
                         "", True))
    for side, target in (("window", 0.9), ("window + heartbeat", None)):
        mid, got = statistics.median(ratios[side]), ratios[side]
        lines.append(row(f"{side} / headless (median of rounds)", f"{mid:.1%}",
                         ">= 90%" if target else "", mid >= target if target else True))
        lines.append(row("  same, lowest and highest round", f"{min(got):.0%}-{max(got):.0%}",
                         "", True))
    lines.append(row("GUI thread CPU while training in the window (median)",
                     f"{statistics.median(t['busy']):.0%}", "", True))
    return lines


def refresh_lines(one, full, live, load, probe_every: int) -> list[str]:
    return [
        f"history for the refresh: {STEPS:,} steps, {LAYERS} layers probed every "
        f"{probe_every} step(s)",
        row(f"refresh of one view, {STEPS:,} steps x {LAYERS} layers (ms, median)",
            f"{statistics.median(one):.1f}", "< 30", statistics.median(one) < 30),
        row("  same, worst (6 views x 5) (ms)", f"{max(one):.1f}", "", True),
        row("live: +50 steps and probes, one turn of a sweep (ms, median)",
            f"{statistics.median(live):.1f}", "< 30", statistics.median(live) < 30),
        row(f"  same, worst of {len(live)} (ms)", f"{max(live):.1f}", "", True),
        row("every dock at once, forced (ms, median of 5)", f"{statistics.median(full):.1f}",
            "", True),
        row("loading that history into the dashboard (ms, once)", f"{load:.0f}", "", True)]


def main() -> int:
    args = parse()
    import torch
    torch.set_num_threads(args.threads)
    if args.switch_ms:
        sys.setswitchinterval(args.switch_ms / 1000)
    ref, what = data_ref(args.samples)
    plan = recipe(args.epochs, ref, args.threads)
    data = engine.load_dataset(ref["name"], **ref["options"])
    n_train = len(data.split(plan.train.val_fraction, plan.train.seed)[0])
    app, window = open_window(args)
    read_stalls, read_s = choose_data(window, plan, Heartbeat())
    load = os.getloadavg()[0]
    t = training_rounds(window, plan, data, n_train, args.rounds)
    lines = [f"LeNet-5 on {what}: {n_train:,} to train, batch 32, probes every 20 steps, "
             f"{args.epochs} epoch(s) x {args.rounds} rounds, {QApplication.platformName()} "
             f"platform, torch threads {torch.get_num_threads()}, {os.cpu_count()} CPUs, load "
             f"average {load:.1f} before and {os.getloadavg()[0]:.1f} after"
             f"{', dashboard hidden' if args.hide_dashboard else ''}",
             f"{'measure':<52} {'value':>14} {'target':>12}",
             row("reading the data set once chosen: worst stall (ms)", f"{read_stalls.max():.1f}",
                 "", True),
             row("  same, seconds until read", f"{read_s:.1f}", "", True)] + training_lines(t)
    if not args.skip_refresh:
        lines += refresh_lines(*refresh_times(app, window, args.probe_every), args.probe_every)
    print("\n".join(lines))
    window.doc.results_unsaved = False
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
