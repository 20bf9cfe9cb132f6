"""`shards SOURCE OUT [--rows N]`: an image folder, NPZ or IDX file as sharded arrays."""
from __future__ import annotations

import argparse

from cli import settings
from cli.progress import printable


def register(sub) -> None:
    p = sub.add_parser("shards", help="write a data set as sharded arrays, which train from "
                                      "disk batch by batch",
                       description="Write a folder of images (one subfolder per class), an NPZ "
                                   "file (X, y) or an IDX image file as a folder of .npy shards "
                                   "with a shards.json manifest, the values as stored. Train on "
                                   "it by giving the folder as the data set: its rows are read "
                                   "from disk batch by batch when they would not fit in memory "
                                   "(or with the option stream=yes).")
    p.add_argument("source", metavar="SOURCE", help="an image folder, FILE.npz or an IDX file")
    p.add_argument("output", metavar="OUT", help="the folder to write (must not exist)")
    p.add_argument("--rows", type=settings.at_least_one("samples"), default=None, metavar="N",
                   help="samples per shard (default 8192)")
    p.add_argument("--size", type=_size, default=None, metavar="HxW",
                   help="images only: resize every picture to HxW pixels, as 28x28")
    p.add_argument("--color", choices=("auto", "gray", "rgb"), default="auto",
                   help="images only: gray (one channel) or rgb (three); auto: gray when "
                        "every picture is grey")
    p.set_defaults(run=run)


def _size(text: str) -> list[int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and 0 < int(p) <= 4096 for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 28x28")
    return [int(p) for p in parts]


def run(args) -> int:
    import engine
    rows = args.rows if args.rows is not None else engine.SHARD_ROWS
    done = engine.to_shards(args.source, args.output, rows=rows, size=args.size,
                                 color=args.color)
    print(f"Wrote {done['samples']:,} samples of {printable(args.source)} as {done['shards']} "
          f"shards ({done['bytes'] / 2 ** 20:.1f} MiB) to '{printable(args.output)}'")
    return 0
