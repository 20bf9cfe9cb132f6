"""How document operations scale with the size of a network: building a chain with
`NetworkSpec.sequential`, parsing a network.json with many edges, and `analyze()`.

    .venv/bin/python bench/spec_scale.py [--sizes 1000 10000 100000]

Prints one table: seconds per operation at each size, and the ratio to the size ten times
smaller (about 10 for linear work, about 100 for quadratic), so the growth is read in the same
process whatever the machine's speed. The parse uses 10 edges per node (9 random skips plus the
chain), the shape of the hostile 3.5 MB file that took 122 s before the edges were indexed.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import engine  # noqa: E402


def many_edges(n: int, per_node: int = 10) -> dict:
    ids = ["input_1"] + [f"add_{i}" for i in range(1, n)]
    nodes = [{"id": ids[0], "kind": "Input", "params": {"shape": [4]}}] + \
        [{"id": i, "kind": "Add", "params": {}} for i in ids[1:]]
    edges = {(ids[i], ids[i + 1]) for i in range(n - 1)}
    rng = random.Random(0)
    while len(edges) < per_node * (n - 1):
        a, b = sorted(rng.sample(range(n), 2))
        edges.add((ids[a], ids[b]))
    return {"name": "many edges", "nodes": nodes, "edges": [list(e) for e in sorted(edges)]}


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    args = ap.parse_args()
    layers = [("Linear", {"out_features": 4}), ("ReLU", {})]
    rows, last = [], {}
    for n in args.sizes:
        chain = engine.NetworkSpec.sequential((4,), (layers * n)[:n])
        data = many_edges(min(n, 10_000))            # the file format's limit: 10,000 nodes
        times = {"sequential": timed(lambda: engine.NetworkSpec.sequential((4,), (layers * n)[:n])),
                 "parse": timed(lambda: engine.NetworkSpec.from_dict(data)),
                 "analyze": timed(lambda: engine.analyze(chain))}
        ratios = {k: (v / last[k] if last.get(k) else None) for k, v in times.items()}
        rows.append((n, times, ratios, len(data["edges"])))
        last = times
    print(f"{'nodes':>8} {'sequential s':>13} {'x':>6} {'parse s (edges)':>22} {'x':>6} "
          f"{'analyze s':>10} {'x':>6}")
    for n, t, r, edges in rows:
        x = lambda k: f"{r[k]:6.1f}" if r[k] else "     —"
        print(f"{n:>8,} {t['sequential']:13.3f} {x('sequential')} "
              f"{t['parse']:13.3f} ({edges:>7,}) {x('parse')} {t['analyze']:10.3f} {x('analyze')}")


if __name__ == "__main__":
    main()
