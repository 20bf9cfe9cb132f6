"""What the image augmentation of training batches costs (engine.run.augment).

    .venv/bin/python bench/augment_cost.py [--batch 32] [--pad 4] [--threads 1] [--device cpu]

Prints one table: the median time per batch (N x 3 x 32 x 32) of a random flip, a random crop
of the zero-padded images (a shift by up to --pad pixels), both (drawing the batch's choices,
as an epoch's draws do, and applying them), and, for comparison, the same
crop done image by image in a Python loop and one training step (forward, backward, SGD) of a
small convolutional network on the same batch; each as a share of that step. Nothing is
asserted: these machines are shared and noisy.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine.run.augment import Augment  # noqa: E402

SHAPE = (3, 32, 32)


def median_ms(fn, device: torch.device, repeat: int = 200) -> float:
    times = []
    for _ in range(repeat):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def crop_per_image(x: torch.Tensor, pad: int) -> torch.Tensor:
    """The same crop, one image at a time (what the batched one avoids)."""
    h, w = x.shape[2:]
    out = torch.empty_like(x)
    for i, image in enumerate(x):
        dy, dx = torch.randint(0, 2 * pad + 1, (2,)).tolist()
        out[i] = F.pad(image, (pad, pad, pad, pad))[:, dy:dy + h, dx:dx + w]
    return out


def training_step(batch: int, device: torch.device):
    """One SGD step of a small LeNet-like network on a fixed batch."""
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 6, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(), torch.nn.Linear(120, 10)).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    x = torch.randn(batch, *SHAPE, device=device)
    y = torch.randint(0, 10, (batch,), device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()
        opt.step()
    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--pad", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    x = torch.randn(args.batch, *SHAPE, device=device)
    flip, crop, both = Augment(flip=True), Augment(crop=args.pad), \
        Augment(flip=True, crop=args.pad)
    flips, crops = flip.draws(args.batch, 0).to(device), crop.draws(args.batch, 0).to(device)
    rows = [("random flip", lambda: flip.apply(x, flips)),
            (f"random crop (pad {args.pad})", lambda: crop.apply(x, crops)),
            ("flip + crop, drawn and applied",
             lambda: both.apply(x, both.draws(args.batch, 0).to(device))),
            ("crop, image by image (comparison)", lambda: crop_per_image(x, args.pad)),
            ("one training step (small CNN)", training_step(args.batch, device))]
    for _, fn in rows * 10:          # every one warmed up (and the thread pool) before timing
        fn()
    times = [(name, median_ms(fn, device)) for name, fn in rows]
    step_ms = times[-1][1]
    print(f"batch {args.batch}x{'x'.join(map(str, SHAPE))} on {device}, "
          f"{args.threads} thread(s), torch {torch.__version__}")
    print(f"{'operation':<36}{'ms per batch':>14}{'of a step':>12}")
    for name, ms in times:
        print(f"{name:<36}{ms:>14.3f}{ms / step_ms:>11.1%}")


if __name__ == "__main__":
    main()
