"""What the engine's training loop costs over a bare PyTorch loop.

Same process, same model and initial weights, same data on the same device, same batch order,
same validation pass each epoch; runs interleaved (bare, bare with Adam's fused kernel, engine
with default probing, engine probing every step, in a rotating order) so that drift in machine
load hits all alike. Both sides are timed from the first batch to the end of the last
validation pass: building the model and placing the data, paid once per run, are left out of
both. Prints one table: median seconds, the median of the per-round ratios to the bare loop
with their interquartile range, the ratio of the fastest runs, and the median ratio to the
bare loop with the fused kernel.

The bare loop is the one a PyTorch user writes, with torch.optim.Adam's defaults (on a CPU, a
loop of ~10 small operations per weight tensor). The engine builds its optimizers with PyTorch's
fused kernels (engine.run.optim.make_optimizer), which makes its step cheaper than that loop's;
the ratio to the fused bare loop is what the engine itself costs, probes included.

    .venv/bin/python bench/train_overhead.py [--samples 5000] [--rounds 20] [--epochs 1]
                                             [--device cpu] [--threads N] [--split]

--split adds a run probing every step whose statistics are not computed (each probe gives
zeros laid out as the real ones): the cost of probing apart from the statistics' device work
(capturing the layer-output gradients, reading, recording) against that of the statistics.

Targets (issue 18, one thread): default probing at most 1.03x the bare loop; probing every step
at most 1.10x. The default trains on all of mnist-5k (4,500 training samples, 141 steps of 32),
as the issue measured; shared machines run in slow and fast spells of a fraction of a second to
seconds, and interleaving the runs makes each round's runs mostly share one. `--samples 1280`
gives shorter runs (36 steps), where a run's fixed costs weigh four times as much.
`--threads 1` keeps torch's own threads from fighting the machine's other load.
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import engine                                       # noqa: E402
from engine.run.setup import resolve_device       # noqa: E402
from engine.run.loop import epoch_order, epoch_seed  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"
CASES = [("LeNet-5", "lenet5.json"), ("deep MLP (5x100 ReLU)", "deep_relu_he.json")]


def bare_loop(spec, data, cfg: engine.TrainConfig, fused: bool = False) -> float:
    """The loop a PyTorch user would write, with the same batches and validation pass;
    `fused`: with Adam's fused kernel, as the engine builds it (engine.run.optim)."""
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    model = engine.build(spec).to(device)
    train_idx, val_idx = data.split(cfg.val_fraction, cfg.seed)
    x, y = data.x[train_idx].to(device), data.y[train_idx].to(device)
    vx, vy = data.x[val_idx].to(device), data.y[val_idx].to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate,
                           **({"fused": True} if fused else {}))
    t0 = time.perf_counter()
    for epoch in range(cfg.epochs):
        torch.manual_seed(epoch_seed(cfg.seed, epoch))
        order = epoch_order(len(x), cfg.seed, epoch, device)
        model.train()
        running = torch.zeros((), device=device)     # the loss is read once, at the end
        correct = torch.zeros((), device=device)
        for i in range(0, len(x), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            out = model(x[idx])
            loss = F.cross_entropy(out, y[idx])
            running = running + loss.detach() * len(idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            correct += (out.detach().argmax(1) == y[idx]).sum()
        model.eval()
        with torch.no_grad():
            vloss = vcorrect = torch.zeros((), device=device)
            for i in range(0, len(vx), 1024):
                out = model(vx[i:i + 1024])
                vloss = vloss + F.cross_entropy(out, vy[i:i + 1024]) * len(out)
                vcorrect = vcorrect + (out.argmax(1) == vy[i:i + 1024]).sum()
        torch.stack([running, correct.float(), vloss, vcorrect.float()]).tolist()
    return time.perf_counter() - t0


def engine_loop(spec, data, cfg: engine.TrainConfig) -> float:
    """engine.train's own measure of its loop: first batch to the last validation pass."""
    run = engine.train(spec, data, cfg)
    return run.history["runs"][-1]["seconds"]


def engine_loop_without_statistics(spec, data, cfg: engine.TrainConfig) -> float:
    """engine_loop with each probe's device work skipped: the first probe is computed (for its
    layout and size), the others give zeros laid out alike."""
    from unittest import mock
    from engine.run.probes import Watch
    real = Watch.gather

    def gather(self, grads=None, deltas=None, steps=None):
        if not hasattr(self, "bench_first"):
            layout, raw = real(self, grads, deltas, steps)
            self.bench_first = (layout, torch.zeros_like(raw))
            return layout, raw
        self._forget()
        return self.bench_first
    with mock.patch.object(Watch, "gather", gather):
        return engine_loop(spec, data, cfg)


def measure(spec, data, base: engine.TrainConfig, rounds: int,
            split: bool = False) -> dict[str, list[float]]:
    variants = {"bare": (bare_loop, base),
                "bare, fused": (functools.partial(bare_loop, fused=True), base),
                "engine": (engine_loop, base),
                "engine, probe every step": (engine_loop, base.replace(probe_every=1))}
    if split:
        variants["no statistics"] = (engine_loop_without_statistics,
                                     base.replace(probe_every=1))
    for fn, cfg in variants.values():            # warm up (imports, allocator, caches)
        fn(spec, data, cfg.replace(epochs=1))
    times: dict[str, list[float]] = {k: [] for k in variants}
    names = list(variants)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            fn, cfg = variants[name]
            times[name].append(fn(spec, data, cfg))
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=5000,
                   help="train on the first N samples of mnist-5k (5000: all)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads (default: torch's choice); 1 is steadier on a busy "
                        "machine")
    p.add_argument("--split", action="store_true",
                   help="also probe every step without computing the statistics")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    full = engine.load_dataset("mnist-5k")
    data = dataclasses.replace(full, x=full.x[:args.samples], y=full.y[:args.samples])
    base = engine.TrainConfig(epochs=args.epochs, device=args.device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, "
          f"mnist-5k ({len(data)} samples), {args.epochs} epoch(s) per run, batch "
          f"{base.batch_size}, adam, {args.rounds} interleaved rounds; default "
          f"probe_every={base.probe_every}")
    print("ratio: the median of the per-round ratios engine / bare (IQR: their interquartile "
          "range); best: fastest engine run / fastest bare run. bare: the loop a PyTorch user "
          "writes (torch.optim.Adam's defaults); fused: that loop with Adam's fused kernel, as "
          "the engine builds it, so that the ratio to it is the engine's own cost")
    print(f"{'network':24} {'':18} {'s':>7} {'ratio':>6} {'IQR':>11} {'best':>6} "
          f"{'to fused':>8}")
    for title, file in CASES:
        spec = engine.load(EXAMPLES / file).spec
        t = measure(spec, data, base, args.rounds, args.split)
        rows = [("bare", "bare loop"), ("bare, fused", "bare loop, fused"),
                ("engine", "engine, default"), ("engine, probe every step", "engine, every step")]
        if args.split:
            rows.append(("no statistics", "every step, no stats"))
        for key, label in rows:
            print(f"{title:24} {label:18} " + _cells(t, key))
            title = ""


def _cells(t: dict[str, list[float]], key: str) -> str:
    """Median seconds, then the median per-round ratio to the bare loop with its IQR, the
    ratio of the fastest runs, and the median per-round ratio to the fused bare loop."""
    ratios = [e / b for e, b in zip(t[key], t["bare"])]
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    fused = statistics.median(e / b for e, b in zip(t[key], t["bare, fused"]))
    return (f"{statistics.median(t[key]):7.3f} {statistics.median(ratios):6.3f} "
            f"{f'{q1:.3f}-{q3:.3f}':>11} {min(t[key]) / min(t['bare']):6.3f} {fused:8.3f}")


if __name__ == "__main__":
    main()
