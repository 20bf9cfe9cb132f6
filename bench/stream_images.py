"""Streaming image folders (and sharded arrays) from disk against decoding them into memory.

    python bench/stream_images.py [--images 4000] [--sizes 1000,4000,16000] [--epochs 2]

Generates folders of small grey PNGs (32x32, 10 classes) under /tmp/layerwise-bench-stream32, then
prints one table: for each folder size, training throughput of a small CNN (samples per second,
stream=yes and stream=no interleaved in this process) on the folder of --images, and the peak
memory Python allocates to load each folder (tracemalloc: the decoded and normalised data of an
in-memory load, the file names and the sample's decoding when streamed). The same pictures are
also written as sharded arrays (`python main.py shards FOLDER OUT`, engine.data.shards) and
streamed from those: rows read at their offsets, no decoding.
"""
from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import engine  # noqa: E402
from engine.data import stream  # noqa: E402

ROOT = Path("/tmp/layerwise-bench-stream32")


def make_folder(n: int) -> Path:
    """A folder of n 32x32 grey PNGs in 10 classes (made once, kept)."""
    from PIL import Image
    folder = ROOT / f"images-{n}"
    if (folder / "done").exists():
        return folder
    rng = np.random.default_rng(n)
    for i in range(n):
        c = i % 10
        (folder / f"c{c}").mkdir(parents=True, exist_ok=True)
        a = (rng.random((32, 32)) * 100 + c * 15).astype(np.uint8)
        Image.fromarray(a).save(folder / f"c{c}" / f"{i:06}.png")
    (folder / "done").write_text("")
    return folder


def make_shards(folder: Path) -> Path:
    """The folder's pictures as sharded arrays beside it (written once, kept)."""
    out = folder.with_name(folder.name + "-shards")
    if not out.exists():
        engine.to_shards(folder, out, rows=1000)
    return out


def cnn():
    return engine.NetworkSpec.sequential((1, 32, 32), [
        ("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
        ("MaxPool2d", {"kernel_size": 2}), ("Flatten", {}), ("Linear", {"out_features": 10})])


def throughput(folder: Path, mode: str, epochs: int) -> float:
    if mode == "shards":
        folder, mode = make_shards(folder), "yes"
    data = engine.load_dataset(str(folder), stream=mode)
    cfg = engine.TrainConfig(epochs=epochs, batch_size=64, lr=0.05, seed=0, probe_every=0,
                             val_fraction=0.1)
    t = time.perf_counter()
    run = engine.train(cnn(), data, cfg)
    seconds = time.perf_counter() - t
    return epochs * round(len(data) * 0.9) / seconds if run.status == "finished" else 0.0


def peak_load(folder: Path, mode: str) -> int:
    if mode == "shards":
        folder, mode = make_shards(folder), "yes"
    tracemalloc.start()
    data = engine.load_dataset(str(folder), stream=mode)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del data
    return peak


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=4000)
    p.add_argument("--sizes", default="1000,4000,16000")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    folders = {n: make_folder(n) for n in sorted(set(sizes + [args.images]))}
    print(f"decoding workers: {stream.WORKERS}; images 32x32 grey PNG; small CNN, batch 64")
    modes = ("yes", "shards", "no")
    rates: dict[str, list] = {mode: [] for mode in modes}
    for _ in range(args.repeats):                        # interleaved
        for mode in modes:
            rates[mode].append(throughput(folders[args.images], mode, args.epochs))
    print(f"\ntraining on {args.images:,} images, samples/s (best of {args.repeats}):")
    print(f"{'streamed':>12} {'shards':>12} {'in memory':>12} {'ratios to memory':>18}")
    s, h, m = (max(rates[mode]) for mode in modes)
    print(f"{s:12,.0f} {h:12,.0f} {m:12,.0f} {s / m:8.2f} {h / m:9.2f}")
    print("\npeak memory allocated while loading (tracemalloc):")
    print(f"{'images':>8} {'streamed':>14} {'shards':>14} {'in memory':>14}")
    for n in sizes:
        print(f"{n:8,}" + "".join(f"{peak_load(folders[n], mode) / 2 ** 20:10.2f} MiB"
                                  for mode in modes))


if __name__ == "__main__":
    main()
