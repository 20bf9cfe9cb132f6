"""A long training history in memory and in a .lwnet file: a synthetic run of 1,000,000 steps
and 20 layers probed every 20 steps (10 Linear layers with grad_norm, grad_rms, grad_ratio,
delta_norm, delta_rms, weight_norm; 10 activation layers with sparsity, dead, mean_activation,
saturation: 100 probe columns of 50,000 values).

    .venv/bin/python bench/long_history.py [--steps 1000000] [--every 20] [--old-steps 200000]

Prints one table: the time to build the history through the loop's appends (one
history["steps"].append per step, one ProbeLog.add per probe), the memory the history holds
(tracemalloc, on a second build: tracing slows the appends), `engine.save` time, the .lwnet
file size, `engine.load` time and the memory the loaded history holds. The same figures follow for the history as it was before the columns
(plain lists of dicts and floats, saved the format-1 way with steps and probes inside
history.json, opened through the migration: loaded as columns), with --old-steps steps (0:
skip), since a million-step history.json takes about a minute each way. Targets for the full run:
file <= 40 MB, load <= 1 s, history in memory <= 300 MB.
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import engine  # noqa: E402
from engine.io.checks import dumps  # noqa: E402
from engine.run.history import ProbeLog, new_history  # noqa: E402

PARAM_STATS = ("grad_norm", "grad_rms", "grad_ratio", "delta_norm", "delta_rms", "weight_norm")
ACT_STATS = ("sparsity", "dead", "mean_activation", "saturation")
LAYERS = 10                 # Linear + activation pairs: 20 probed layers
STEPS_PER_EPOCH = 1000


def network() -> engine.NetworkSpec:
    layers = [("Linear", {"out_features": 32}), ("Tanh", {})] * LAYERS
    return engine.NetworkSpec.sequential((32,), layers, name="long history")


def probe_keys(spec: engine.NetworkSpec) -> tuple:
    keys = []
    for node in spec.nodes.values():
        if node.kind == "Linear":
            keys += [(node.id, s) for s in PARAM_STATS]
        elif node.kind == "Tanh":
            keys += [(node.id, s) for s in ACT_STATS]
    return tuple(keys)


def nest(keys, values):
    out: dict = {}
    for (node, stat), value in zip(keys, values):
        out.setdefault(node, {})[stat] = value
    return out


def build(steps: int, every: int, keys: tuple, plain: bool) -> tuple[dict, float]:
    """A history filled the way the loop fills it (`plain`: in lists, as before the columns);
    the seconds it took."""
    rng = np.random.default_rng(0)
    losses = (2.0 * np.exp(-np.arange(steps) / (steps / 5)) + 0.05 * rng.random(steps)).tolist()
    probes = rng.random((steps // every + 1, len(keys)), dtype=np.float32).tolist()
    history = new_history()
    if plain:
        history.update({"steps": [], "probes": {"step": [], "layers": {}}})
    log = ProbeLog(history, nest)
    rows = history["steps"]
    start = time.perf_counter()
    for step in range(1, steps + 1):
        rows.append({"step": step, "epoch": (step - 1) // STEPS_PER_EPOCH + 1,
                     "loss": losses[step - 1]})
        if (step - 1) % every == 0:
            log.add(step, keys, probes[(step - 1) // every])
    seconds = time.perf_counter() - start
    history["epochs"] = [{"epoch": e + 1, "train_loss": 0.1, "val_loss": 0.1, "seconds": 1.0}
                         for e in range(math.ceil(steps / STEPS_PER_EPOCH))]
    history["status"] = "finished"
    return history, seconds


def held(make):
    """(what make() returns, bytes it still holds afterwards, seconds)."""
    gc.collect()
    tracemalloc.start()
    start = time.perf_counter()
    value = make()
    seconds = time.perf_counter() - start
    gc.collect()
    current = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return value, current, seconds


def timed(fn) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def write_format_1(path: Path, spec: engine.NetworkSpec, history: dict) -> None:
    """The file as format 1 wrote it: the whole history, steps and probes, in history.json."""
    manifest = {"format": "layerwise-network", "format_version": 1, "app": "layerwise"}
    network = {"format": "layerwise-network", "format_version": 1, **spec.to_dict()}
    with zipfile.ZipFile(path, "w") as zf:
        for name, value in (("manifest.json", manifest), ("network.json", network),
                            ("history.json", history)):
            zf.writestr(name, dumps(value), compress_type=zipfile.ZIP_DEFLATED)


def measure(steps: int, every: int, old: bool, folder: Path) -> dict:
    spec = network()
    _, build_s = build(steps, every, probe_keys(spec), old)      # timed without tracemalloc
    (history, _), history_bytes, _ = held(lambda: build(steps, every, probe_keys(spec), old))
    path = folder / f"{'v1' if old else 'v2'}-{steps}.lwnet"
    if old:
        save_s = timed(lambda: write_format_1(path, spec, history))
    else:
        save_s = timed(lambda: engine.save(path, spec, history=history))
    del history
    saved, loaded_bytes, load_s = held(lambda: engine.load(path))
    probes = saved.history["probes"]
    assert len(saved.history["steps"]) == steps and len(probes["step"]) == -(-steps // every)
    return {"format": "1: lists, history.json" if old else "2: columns, .safetensors",
            "steps": steps,
            "probes": len(probes["step"]) * sum(map(len, probes["layers"].values())),
            "build_s": build_s, "history_mb": history_bytes / 2 ** 20, "save_s": save_s,
            "file_mb": path.stat().st_size / 2 ** 20, "load_s": load_s,
            "loaded_mb": loaded_bytes / 2 ** 20}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--every", type=int, default=20)
    ap.add_argument("--old-steps", type=int, default=200_000,
                    help="steps of the format-1 comparison (0: skip it)")
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(args.steps, args.every, False, Path(tmp))]
        if args.old_steps:
            rows.append(measure(args.old_steps, args.every, True, Path(tmp)))
    print(f"{'format':<28} {'steps':>10} {'probe values':>13} {'build s':>8} {'held MB':>8} "
          f"{'save s':>7} {'file MB':>8} {'load s':>7} {'loaded MB':>10}")
    for r in rows:
        print(f"{r['format']:<28} {r['steps']:>10,} {r['probes']:>13,} {r['build_s']:8.2f} "
              f"{r['history_mb']:8.1f} {r['save_s']:7.2f} {r['file_mb']:8.1f} "
              f"{r['load_s']:7.2f} {r['loaded_mb']:10.1f}")
    print("targets (format 2, 1,000,000 steps): file <= 40 MB, load <= 1 s, "
          "history in memory <= 300 MB")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
