"""An image folder larger than the memory the process may use trains, streamed from disk.

Makes (once, cached in /tmp) a folder of N random RGB pictures whose decoded float32 values
take more than the data limit given to a child process (RLIMIT_DATA, as a container or
`ulimit -d` would), then in that child loads the folder with the default options and trains a
small CNN on it for one epoch with probes. The memory budget follows the process's limit
(engine.data.limits.memory_budget), so the folder streams; without that it would be decoded
into memory and fail part way. Prints one table.

    .venv/bin/python bench/stream_memory_limit.py [--images 1500] [--size 256] [--limit-mib 1024]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
import torch, engine
from engine.data import limits
torch.set_num_threads(1)
t0 = time.perf_counter()
data = engine.load_dataset({folder!r})
loaded = time.perf_counter() - t0
spec = engine.NetworkSpec.sequential(tuple(data.input_shape), [
    ("Conv2d", {{"out_channels": 8, "kernel_size": 4, "stride": 4}}), ("ReLU", {{}}),
    ("AdaptiveAvgPool2d", {{"output_size": 4}}), ("Flatten", {{}}),
    ("Linear", {{"out_features": data.n_classes}})])
run = engine.train(spec, data, engine.TrainConfig(epochs=1, batch_size=32, probe_every=5))
print(json.dumps({{"streamed": data.streamed, "budget": limits.memory_budget(),
                   "status": run.status, "steps": len(run.history["steps"]),
                   "probes": len(run.history["probes"]["step"]), "load_s": loaded,
                   "train_s": run.history["runs"][-1]["seconds"],
                   "samples": len(data), "val_acc": run.history["epochs"][-1]["val_acc"],
                   "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def make_folder(folder: Path, images: int, size: int) -> None:
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    for c in range(2):
        (folder / f"class{c}").mkdir(parents=True, exist_ok=True)
    have = sum(1 for _ in folder.rglob("*.png"))
    for i in range(have, images):
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        pixels[..., i % 2] //= 2                  # the classes differ in one channel
        Image.fromarray(pixels).save(folder / f"class{i % 2}" / f"{i:06}.png", compress_level=1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=1500)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--limit-mib", type=int, default=1024)
    args = p.parse_args()
    folder = Path(f"/tmp/layerwise-bench-limit-{args.size}-{args.images}")
    make_folder(folder, args.images, args.size)
    decoded = args.images * 3 * args.size * args.size * 4
    limit = args.limit_mib * 1024 ** 2

    def limited():
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT),
                                                              folder=str(folder))],
                          capture_output=True, text=True, preexec_fn=limited,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - t0
    if proc.returncode:
        print(f"the child failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        sys.exit(1)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    rows = [("pictures", f"{args.images:,} of {args.size}x{args.size} RGB"),
            ("their decoded float32 values", f"{decoded / 1024 ** 2:,.0f} MiB"),
            ("the child's data limit (RLIMIT_DATA)", f"{args.limit_mib:,} MiB"),
            ("memory budget in the child", f"{r['budget'] / 1024 ** 2:,.0f} MiB"),
            ("streamed", str(r["streamed"])), ("run", r["status"]),
            ("steps / probes", f"{r['steps']} / {r['probes']}"),
            ("validation accuracy", f"{r['val_acc']:.3f}"),
            ("load / train seconds", f"{r['load_s']:.1f} / {r['train_s']:.1f}"),
            ("peak resident memory of the child", f"{r['peak_mib']:,.0f} MiB"),
            ("wall seconds (child)", f"{wall:.1f}")]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:{width}}  {v}")


if __name__ == "__main__":
    main()
