"""Live training in the window, measured: GUI event-loop stalls and training throughput while
LeNet-5 trains on mnist-5k at full speed, and the dashboard's refresh time with 100,000 steps
of history and 10 layers.

    xvfb-run -a -s '-screen 0 1600x1200x24' .venv/bin/python bench/gui_training.py [--epochs N]
    .venv/bin/python bench/gui_training.py          # off-screen when DISPLAY is not set

Stalls: a 5 ms heartbeat timer in the GUI thread; a stall is how late each beat comes.
Throughput: training samples per second of the epochs (the engine's own epoch timing), in the
window against headless `engine.train` with the same settings, alternating, median of each.
Refresh: the dashboard redrawing every visible plot (setData + paint), from a loaded history
of 100,000 steps with 10 probed layers probed at every step, and the live case (50 new steps
and their probes added, then a sweep: each visible dock redrawn in its own turn of the event
loop, as during training). Prints one table.
"""
from __future__ import annotations

import argparse
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
from gui.app import make_app  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402

BEAT_MS = 5
STEPS, LAYERS = 100_000, 10


def settings(epochs: int) -> dict:
    from gui.training.panel import default_settings
    cfg = default_settings((1, 28, 28))
    cfg.update(epochs=epochs, batch_size=32, probe_every=20, device="cpu", seed=0)
    return cfg


class Heartbeat:
    def __init__(self):
        self.times: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(BEAT_MS)
        self.timer.timeout.connect(lambda: self.times.append(time.perf_counter()))

    def start(self):
        self.times.clear()
        self.timer.start()

    def stop(self) -> np.ndarray:
        self.timer.stop()
        gaps = np.diff(np.array(self.times)) * 1000
        return np.clip(gaps - BEAT_MS, 0, None)


def train_in_window(app, window, epochs: int, beat: Heartbeat):
    spec = engine.load(ROOT / "resources" / "examples" / "lenet5.json").spec
    window.doc.replace(spec, None, "LeNet-5", config=settings(epochs))
    loop = QEventLoop()
    window.training_finished.connect(loop.quit)
    beat.start()
    t0 = time.perf_counter()
    assert window.start_training()
    loop.exec()                                   # the real event loop, as in the app
    wall = time.perf_counter() - t0
    stalls = beat.stop()
    window.training_finished.disconnect(loop.quit)
    history = window.doc.history
    return history, wall, stalls


def headless(epochs: int):
    spec = engine.load(ROOT / "resources" / "examples" / "lenet5.json").spec
    data = engine.load_dataset("mnist-5k")
    cfg = engine.TrainConfig.from_dict(settings(epochs))
    t0 = time.perf_counter()
    run = engine.train(spec, data, cfg)
    return run.history, time.perf_counter() - t0


def samples_per_s(history) -> float:
    n = 4500                      # mnist-5k less 10% validation
    return n * len(history["epochs"]) / sum(e["seconds"] for e in history["epochs"])


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


def main() -> int:
    parser = argparse.ArgumentParser()
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
    import torch
    torch.set_num_threads(args.threads)
    if args.switch_ms:
        sys.setswitchinterval(args.switch_ms / 1000)
    app = make_app()
    window = MainWindow()
    window.resize(1440, 1000)
    window.show()
    window.ensure_training().warm_up().join()     # as a few seconds after start-up
    app.processEvents()
    if args.hide_dashboard:
        for dock in window.training.dashboard.docks.values():
            dock.hide()
    beat = Heartbeat()
    win_rates, head_rates, stalls = [], [], []
    for _ in range(args.rounds):
        history, _, s = train_in_window(app, window, args.epochs, beat)
        win_rates.append(samples_per_s(history))
        stalls.append(s)
        head_rates.append(samples_per_s(headless(args.epochs)[0]))
        print(f"round: window {win_rates[-1]:.0f} samples/s (worst stall {s.max():.1f} ms), "
              f"headless {head_rates[-1]:.0f} samples/s", flush=True)
    stalls = np.concatenate(stalls)
    one, full, live, load = refresh_times(app, window, args.probe_every) \
        if not args.skip_refresh \
        else ([0], [0], [0], 0)
    ratio = statistics.median(win_rates) / statistics.median(head_rates)
    best = max(win_rates) / max(head_rates)
    lines = [
        f"LeNet-5 on mnist-5k, batch 32, probes every 20 steps, {args.epochs} epoch(s) x "
        f"{args.rounds} rounds, {QApplication.platformName()} platform, "
        f"torch threads {__import__('torch').get_num_threads()}",
        f"{'measure':<52} {'value':>14} {'target':>12}",
        row("GUI stall, worst (ms)", f"{stalls.max():.1f}", "< 100", stalls.max() < 100),
        row("GUI stall, 99th percentile (ms)", f"{np.percentile(stalls, 99):.1f}", "< 20",
            np.percentile(stalls, 99) < 20),
        row("training in the window (samples/s, median)", f"{statistics.median(win_rates):.0f}",
            "", True),
        row("headless engine.train (samples/s, median)", f"{statistics.median(head_rates):.0f}",
            "", True),
        row("window / headless throughput (medians)", f"{ratio:.1%}", ">= 90%", ratio >= 0.9),
        row("window / headless throughput (best of each)", f"{best:.1%}", ">= 90%",
            best >= 0.9),
        f"history for the refresh: {STEPS:,} steps, {LAYERS} layers probed every "
        f"{args.probe_every} step(s)",
        row(f"refresh of one view, {STEPS:,} steps x {LAYERS} layers (ms, median)",
            f"{statistics.median(one):.1f}", "< 30", statistics.median(one) < 30),
        row("  same, worst (6 views x 5) (ms)", f"{max(one):.1f}", "", True),
        row("live: +50 steps and probes, one turn of a sweep (ms, median)",
            f"{statistics.median(live):.1f}", "< 30", statistics.median(live) < 30),
        row(f"  same, worst of {len(live)} (ms)", f"{max(live):.1f}", "", True),
        row("every dock at once, forced (ms, median of 5)", f"{statistics.median(full):.1f}",
            "", True),
        row("loading that history into the dashboard (ms, once)", f"{load:.0f}", "", True),
    ]
    print("\n".join(lines))
    window.doc.results_unsaved = False
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
