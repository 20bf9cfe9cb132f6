"""How long analyze() takes on large networks (it runs on every edit in the GUI).

    .venv/bin/python bench/analyze_bench.py

Prints one table: median time per analysis for chains of 30, 100 and 300 layers and for a
300-layer residual network, against the target (well under 100 ms at 300 layers), and as a ratio
to a baseline measured in the same process (serialising the same spec to JSON), since these
machines are shared and noisy.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import engine  # noqa: E402

TARGET_MS = 100.0


def chain(n_layers: int) -> engine.NetworkSpec:
    layers = []
    while len(layers) < n_layers:
        layers += [("Linear", {"out_features": 64}), ("ReLU", {})]
    return engine.NetworkSpec.sequential((64,), layers[:n_layers])


def residual(n_layers: int) -> engine.NetworkSpec:
    spec = engine.NetworkSpec()
    prev = spec.add("Input", {"shape": [16, 8, 8]})
    while len(spec.nodes) < n_layers:
        conv = spec.add("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1})
        relu = spec.add("ReLU")
        add = spec.add("Add")
        spec.connect(prev, conv)
        spec.connect(conv, relu)
        spec.connect(relu, add)
        spec.connect(prev, add)
        prev = add
    return spec


def median_ms(fn, repeat: int = 30) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    rows = []
    for name, spec in [("chain 30", chain(30)), ("chain 100", chain(100)),
                       ("chain 300", chain(300)), ("residual 300", residual(300))]:
        assert engine.analyze(spec).ok
        analyse = median_ms(lambda: engine.analyze(spec))
        baseline = median_ms(lambda: json.dumps(spec.to_dict()))
        rows.append((name, len(spec.nodes), analyse, baseline))
    print(f"{'network':<14}{'nodes':>7}{'analyze ms':>12}{'to-JSON ms':>12}{'ratio':>8}"
          f"{'target ms':>11}{'ok':>5}")
    for name, nodes, analyse, baseline in rows:
        ok = "yes" if analyse < TARGET_MS else "NO"
        print(f"{name:<14}{nodes:>7}{analyse:>12.2f}{baseline:>12.2f}{analyse / baseline:>8.1f}"
              f"{TARGET_MS:>11.0f}{ok:>5}")


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    main()
